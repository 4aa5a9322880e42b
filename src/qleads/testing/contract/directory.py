"""The directory contract: what every :class:`~qleads.ports.Directory` must do, and the
writes of an :class:`~qleads.testing.world.EditableDirectory`.

The desk reads people and territories through the port on every use case: who an actor
is, whom a new lead is announced to (R10), which territories scope a rep's and his
installers' reads (R2), where a postal code routes (R1). A portal's admin screens write
them: ``add_*`` and ``update_*``, refused with :class:`~qleads.errors.InvalidInput` —
never a driver's error — for a known id, an unknown one, or a reference to a sales rep
that does not exist (R15), so that the in-memory directory and the SQL one behave alike.

Subclass :class:`DirectoryContract` and provide a ``directory`` fixture that returns a
fresh, empty directory::

    class TestMyDirectory(DirectoryContract):
        @pytest.fixture
        def directory(self) -> EditableDirectory:
            return MyDirectory(...)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pytest

from qleads.calendar import Calendar
from qleads.errors import InvalidInput
from qleads.model import Admin, Installer, LeadSource, SalesRep, Territory
from qleads.ports import DirectoryBatchReads
from qleads.testing.world import Cast, EditableDirectory

__all__ = ["PEOPLE", "DirectoryContract"]

_WERKTAGE = Calendar("DE", "SN", workdays=frozenset(range(6)))

#: Who the suite stores: one rep with two territories (one without prefixes yet) and
#: two installers, one of them on his own calendar with a digest hour, in English; a
#: second rep with nobody; an admin with an address; the calculator.
PEOPLE = Cast(
    reps=(
        SalesRep("r-ost", "Rita Ost", "rita@example.org"),
        SalesRep("r-sued", "Sepp Süd", "sepp@example.org", calendar=Calendar("DE", "BY")),
    ),
    territories=(
        Territory("t-leipzig", "Leipzig", "DE", frozenset({"04", "041"}), "r-ost"),
        Territory("t-empty", "Nowhere", "DE", frozenset(), "r-ost"),
    ),
    installers=(
        Installer(
            "i-anna",
            "Anna",
            "anna@example.org",
            "r-ost",
            language="en",
            calendar=_WERKTAGE,
            digest_hour=7,
        ),
        Installer("i-ben", "Ben", "ben@example.org", "r-ost"),
    ),
    admins=(Admin("a-root", "Root", "root@example.org", language="en"),),
    sources=(LeadSource("solarrechner", "Solarrechner"),),
)


class DirectoryContract:
    """Abstract: subclass it and override the ``directory`` fixture."""

    @pytest.fixture
    def directory(self) -> EditableDirectory:
        pytest.fail(
            "subclass DirectoryContract and provide a 'directory' fixture returning a "
            "fresh, empty directory with the add_*/update_* writes"
        )

    @pytest.fixture
    def people(self, directory: EditableDirectory) -> EditableDirectory:
        PEOPLE.enrol(directory)
        return directory

    class TestReads:
        def test_people_round_trip(self, people: EditableDirectory) -> None:
            """R9/R10/R12: calendars, languages and digest hours come back as stored."""
            assert people.installer("i-anna") == PEOPLE.installer("i-anna")
            assert people.installer("i-ben") == PEOPLE.installer("i-ben")
            assert people.rep("r-sued") == PEOPLE.rep("r-sued")
            assert people.admin("a-root") == Admin("a-root", "Root", "root@example.org", "en")
            assert people.source("solarrechner") == LeadSource("solarrechner", "Solarrechner")

        def test_an_unknown_id_is_nobody(self, people: EditableDirectory) -> None:
            """R2/R12: an id the directory does not know is ``None``, not an error: the
            desk turns it into "not found" or "not permitted"."""
            assert people.installer("nobody") is None
            assert people.rep("nobody") is None
            assert people.admin("nobody") is None
            assert people.source("nobody") is None
            assert people.territory("nowhere") is None
            assert people.installers_of("nobody") == []
            assert people.territory_ids_of("nobody") == frozenset()

        def test_an_empty_directory_knows_nobody(self, directory: EditableDirectory) -> None:
            assert list(directory.territories()) == []
            assert list(directory.installers()) == []
            assert list(directory.reps()) == []
            assert list(directory.admins()) == []
            assert list(directory.sources()) == []

        def test_territories_with_their_prefixes(self, people: EditableDirectory) -> None:
            """R1: routing reads every territory with its prefixes, in the order of
            their ids; a territory without prefixes is kept with none."""
            assert people.territory("t-leipzig") == PEOPLE.territory("t-leipzig")
            assert people.territory("t-empty") == Territory(
                "t-empty", "Nowhere", "DE", frozenset(), "r-ost"
            )
            assert [t.id for t in people.territories()] == ["t-empty", "t-leipzig"]
            assert list(people.territories()) == [
                PEOPLE.territory("t-empty"),
                PEOPLE.territory("t-leipzig"),
            ]

        def test_territory_ids_of_a_rep(self, people: EditableDirectory) -> None:
            """R2: a rep's territories scope what he and his installers see."""
            assert people.territory_ids_of("r-ost") == frozenset({"t-leipzig", "t-empty"})
            assert people.territory_ids_of("r-sued") == frozenset()

        def test_installers_of_a_rep(self, people: EditableDirectory) -> None:
            """R10: a new lead is announced to the installers of the territory's rep,
            listed in the order of their ids."""
            assert [i.id for i in people.installers_of("r-ost")] == ["i-anna", "i-ben"]
            assert people.installers_of("r-sued") == []

        def test_batch_reads_answer_as_one_by_one(self, people: EditableDirectory) -> None:
            """R11: a sweep batch reads its holders and teams at once; what it gets is
            what the one-by-one reads give, unknown ids left out or empty."""
            assert isinstance(people, DirectoryBatchReads)
            found = people.installers_among({"i-anna", "i-ben", "nobody"})
            assert dict(found) == {
                "i-anna": people.installer("i-anna"),
                "i-ben": people.installer("i-ben"),
            }
            assert people.installers_among(set()) == {}
            teams = people.teams_of({"r-ost", "r-sued", "nobody"})
            assert {rep: list(team) for rep, team in teams.items()} == {
                "r-ost": list(people.installers_of("r-ost")),
                "r-sued": [],
                "nobody": [],
            }
            assert people.teams_of(set()) == {}

        def test_an_inactive_installer_stays_in_the_directory(
            self, people: EditableDirectory
        ) -> None:
            """R10/R13: a deactivated installer is kept — leads and their history name
            him — and still listed under his rep; the desk skips him (``active``)."""
            ben = people.installer("i-ben")
            assert ben is not None
            people.update_installer(attrs.evolve(ben, active=False))
            assert people.installer("i-ben") == attrs.evolve(ben, active=False)
            assert [i.id for i in people.installers_of("r-ost")] == ["i-anna", "i-ben"]

        def test_lists_for_the_portal_come_in_the_order_of_their_ids(
            self, people: EditableDirectory
        ) -> None:
            people.add_installer(Installer("i-aaron", "Aaron", "aaron@example.org", "r-sued"))
            people.add_rep(SalesRep("r-alpha", "Alpha", "alpha@example.org"))
            assert [i.id for i in people.installers()] == ["i-aaron", "i-anna", "i-ben"]
            assert [r.id for r in people.reps()] == ["r-alpha", "r-ost", "r-sued"]
            assert [a.id for a in people.admins()] == ["a-root"]
            assert [s.id for s in people.sources()] == ["solarrechner"]

    class TestWrites:
        def test_updates_replace_records(self, people: EditableDirectory) -> None:
            """R12: an admin changes people and territories; the directory answers with
            the new record at once."""
            ben = people.installer("i-ben")
            assert ben is not None
            people.update_installer(attrs.evolve(ben, active=False, rep_id="r-sued"))
            assert people.installer("i-ben") == attrs.evolve(ben, active=False, rep_id="r-sued")
            assert [i.id for i in people.installers_of("r-sued")] == ["i-ben"]
            people.update_territory(
                Territory("t-leipzig", "Leipzig-Land", "DE", frozenset({"041", "042"}), "r-sued")
            )
            assert people.territory("t-leipzig") == Territory(
                "t-leipzig", "Leipzig-Land", "DE", frozenset({"041", "042"}), "r-sued"
            )
            people.update_rep(SalesRep("r-ost", "Rita Ost-West", "rita@example.org"))
            assert people.rep("r-ost") == SalesRep("r-ost", "Rita Ost-West", "rita@example.org")
            people.update_admin(Admin("a-root", "Root", "root@example.org"))
            assert [a.language for a in people.admins()] == ["de"]
            people.update_source(LeadSource("solarrechner", "Solarrechner 2"))
            assert [s.name for s in people.sources()] == ["Solarrechner 2"]
            assert [r.id for r in people.reps()] == ["r-ost", "r-sued"]
            assert [i.id for i in people.installers()] == ["i-anna", "i-ben"]

        def test_an_installer_id_may_not_read_as_a_rep_queue(
            self, people: EditableDirectory
        ) -> None:
            """``qleads.rep_queue``: a lead held by ``@r-ost`` waits in a queue, so no
            installer may be called that; nothing is stored."""
            with pytest.raises(InvalidInput, match="id"):
                people.add_installer(Installer("@r-ost", "Falsch", "x@example.org", "r-ost"))
            assert people.installer("@r-ost") is None

        def test_working_hours_are_part_of_the_stored_calendar(
            self, people: EditableDirectory
        ) -> None:
            """The escalation ladder counts business hours in a person's working hours
            (``qleads.ladder``): they are stored with his calendar."""
            early = Calendar("DE", "SN", work_start=dt.time(7, 30), work_end=dt.time(16))
            ben = people.installer("i-ben")
            assert ben is not None
            people.update_installer(attrs.evolve(ben, calendar=early))
            assert people.installer("i-ben") == attrs.evolve(ben, calendar=early)
            people.update_rep(SalesRep("r-ost", "Rita Ost", "rita@example.org", calendar=early))
            rep = people.rep("r-ost")
            assert rep is not None
            assert (rep.calendar.work_start, rep.calendar.work_end) == (dt.time(7, 30), dt.time(16))

        def test_a_territory_moved_to_another_rep_scopes_at_once(
            self, people: EditableDirectory
        ) -> None:
            """R1/R2: routing and scopes read the territory as it is now: a prefix
            taken away routes no more, and the territory's new rep sees it."""
            people.update_territory(
                Territory("t-leipzig", "Leipzig", "DE", frozenset({"04"}), "r-sued")
            )
            assert people.territory_ids_of("r-ost") == frozenset({"t-empty"})
            assert people.territory_ids_of("r-sued") == frozenset({"t-leipzig"})
            [leipzig] = [t for t in people.territories() if t.id == "t-leipzig"]
            assert leipzig.prefixes == frozenset({"04"})

        def test_a_known_id_is_refused_and_the_first_record_kept(
            self, people: EditableDirectory
        ) -> None:
            """R15: adding an id the directory knows is a form error, InvalidInput
            naming the field ``id``, and never overwrites the record."""
            again: list[Callable[[], object]] = [
                lambda: people.add_rep(SalesRep("r-ost", "Again", "x@example.org")),
                lambda: people.add_installer(Installer("i-ben", "Again", "x@example.org", "r-ost")),
                lambda: people.add_admin(Admin("a-root", "Again")),
                lambda: people.add_source(LeadSource("solarrechner", "Again")),
                lambda: people.add_territory(
                    Territory("t-leipzig", "Again", "DE", frozenset({"99"}), "r-ost")
                ),
            ]
            for add in again:
                with pytest.raises(InvalidInput, match="exists already") as refused:
                    add()
                assert refused.value.field == "id"
                assert refused.value.code == "invalid_input"
            assert people.rep("r-ost") == PEOPLE.rep("r-ost")
            assert people.installer("i-ben") == PEOPLE.installer("i-ben")
            assert people.admin("a-root") == PEOPLE.admins[0]
            assert people.source("solarrechner") == PEOPLE.sources[0]
            assert people.territory("t-leipzig") == PEOPLE.territory("t-leipzig")

        def test_an_unknown_sales_rep_is_refused(self, people: EditableDirectory) -> None:
            """R15: an installer or territory must belong to a rep the directory knows
            (an installer has exactly one rep); nothing is stored or changed."""
            ben = people.installer("i-ben")
            assert ben is not None
            refused: list[Callable[[], object]] = [
                lambda: people.add_installer(Installer("i-x", "X", "x@example.org", "r-nobody")),
                lambda: people.add_territory(
                    Territory("t-x", "X", "DE", frozenset({"99"}), "r-nobody")
                ),
                lambda: people.update_installer(attrs.evolve(ben, rep_id="r-nobody")),
                lambda: people.update_territory(
                    Territory("t-leipzig", "Leipzig", "DE", frozenset({"04"}), "r-nobody")
                ),
            ]
            for write in refused:
                with pytest.raises(InvalidInput, match="unknown sales rep") as raised:
                    write()
                assert raised.value.field == "rep_id"
            assert people.installer("i-x") is None
            assert people.territory("t-x") is None
            assert people.installer("i-ben") == ben
            assert people.territory("t-leipzig") == PEOPLE.territory("t-leipzig")

        def test_updating_an_unknown_id_is_refused(self, people: EditableDirectory) -> None:
            """R15: an update names someone the directory knows; nobody is created."""
            updates: list[Callable[[], object]] = [
                lambda: people.update_installer(Installer("i-x", "X", "x@example.org", "r-ost")),
                lambda: people.update_rep(SalesRep("r-x", "X", "x@example.org")),
                lambda: people.update_admin(Admin("a-x", "X")),
                lambda: people.update_source(LeadSource("s-x", "X")),
                lambda: people.update_territory(
                    Territory("t-x", "X", "DE", frozenset({"99"}), "r-ost")
                ),
            ]
            for update in updates:
                with pytest.raises(InvalidInput, match="no ") as refused:
                    update()
                assert refused.value.field == "id"
            assert people.installer("i-x") is None
            assert people.rep("r-x") is None
            assert people.admin("a-x") is None
            assert people.source("s-x") is None
            assert people.territory("t-x") is None

        def test_a_territory_needs_an_id(self, people: EditableDirectory) -> None:
            """R1: unrouted leads are filed under no territory; a territory without an
            id would be mistaken for them."""
            with pytest.raises(InvalidInput) as refused:
                people.add_territory(Territory("", "Nirgendwo", "DE", frozenset({"99"}), "r-ost"))
            assert refused.value.field == "id"
            assert [t.id for t in people.territories()] == ["t-empty", "t-leipzig"]
