"""The test support an adapter author builds on (qleads.testing): the world builder, the
Hypothesis profiles, and the names that moved out of the contract module."""

from __future__ import annotations

import datetime as dt
import importlib

import attrs
import pytest
from hypothesis import settings
from hypothesis.errors import InvalidArgument

from qleads.errors import InvalidInput
from qleads.model import Installer, NotificationKind, Policy
from qleads.testing import profiles, strategies, world
from qleads.testing.world import ANNA, BEN, CARL, CAST, MUNICH, T0, World


class TestWorld:
    def test_the_cast_is_enrolled_and_the_desk_runs_on_it(self) -> None:
        """R1, R2, R10: a lead from Leipzig reaches the rep of the East's two installers,
        not Carl of the South, on the world's clock."""
        built = World()
        lead_id = built.intake("w-1")
        assert built.desk.get(built.admin, lead_id).lead.territory_id == "t-leipzig"
        assert sorted(r for _, _, r in built.notices(NotificationKind.NEW_LEAD)) == [
            "i-anna",
            "i-ben",
        ]
        assert built.clock.now() == T0
        assert built.advance(hours=2) == T0 + dt.timedelta(hours=2)
        assert (built.anna, built.ben, built.carl) == (ANNA, BEN, CARL)
        assert built.directory.territory_ids_of("r-south") == frozenset({"t-munich"})

    def test_a_second_world_on_the_same_directory_is_refused_unless_told(self) -> None:
        """The directory refuses people it knows (R15); a world over a directory that
        holds its cast already says so with enrol=False."""
        first = World()
        with pytest.raises(InvalidInput, match="exists already"):
            World(first.repository, directory=first.directory)
        again = World(first.repository, directory=first.directory, enrol=False)
        assert again.desk.get(again.admin, first.intake("w-2")).lead.id >= 1

    def test_stored_leads_skip_the_desk(self) -> None:
        built = World(policy=Policy(escalation_days=1))
        [lead] = built.store(world.make_lead("stored", territory_id=None))
        assert lead.id >= 1
        assert built.desk.get(built.admin, lead.id).lead == lead
        assert built.notices() == []

    def test_replacing_changes_one_person_and_keeps_the_order(self) -> None:
        saturday_ben = attrs.evolve(
            BEN, calendar=attrs.evolve(BEN.calendar, workdays=frozenset(range(6)))
        )
        cast = CAST.replacing(saturday_ben, attrs.evolve(MUNICH, prefixes=frozenset({"8"})))
        assert cast.installers == (ANNA, saturday_ben, CARL)
        assert cast.territory("t-munich").prefixes == frozenset({"8"})
        assert CAST.installer("i-ben") == BEN
        with pytest.raises(KeyError, match="no installer 'i-nobody'"):
            CAST.replacing(Installer("i-nobody", "N", "n@example.org", "r-east"))


class TestProfiles:
    def test_the_three_profiles_scale_the_shares(self) -> None:
        """What CI runs is the default; dev is a tenth, thorough ten times."""
        assert profiles.DEFAULT_PROFILE == "ci"
        current = settings.get_current_profile_name()
        try:
            for name, count in profiles.PROFILES.items():
                assert profiles.load_profile(name) == name
                assert settings().max_examples == count
                assert profiles.examples(3) == 3 * count
                assert profiles.examples(0.001) == 1
        finally:
            settings.load_profile(current)

    def test_a_share_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            profiles.examples(0)

    def test_an_unknown_profile_is_refused(self) -> None:
        with pytest.raises(InvalidArgument):
            profiles.load_profile("nightly")


class TestMovedNames:
    @pytest.mark.parametrize(
        ("name", "home"),
        [
            ("make_document", world),
            ("make_lead", world),
            ("T0", world),
            ("stored_leads", strategies),
        ],
    )
    def test_the_old_names_still_work_and_say_where_they_went(
        self, name: str, home: object
    ) -> None:
        contract = importlib.import_module("qleads.testing.contract")
        with pytest.warns(DeprecationWarning, match=f"moved to {home.__name__}.{name}"):  # type: ignore[attr-defined]
            moved = getattr(contract, name)
        assert moved is getattr(home, name)

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        contract = importlib.import_module("qleads.testing.contract")
        with pytest.raises(AttributeError):
            contract.NoSuchContract  # noqa: B018
