"""The package's layout keeps its promises: one service object made of its use-case
modules, the wire codec in one module, and the import paths of 0.1 that moved still
working — with a ``DeprecationWarning`` — until 0.3."""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys

import attrs
import pytest

import qleads
import qleads.cli
import qleads.intake
from qleads.desk import SYSTEM_ACTOR, IntakeResult, LeadDesk, SweepReport, TabPage
from qleads.desk.base import DeskBase
from qleads.model import Lead, LeadSummary

USE_CASES = {
    "qleads.desk.intake": {"intake"},
    "qleads.desk.work": {"claim", "record", "release"},
    "qleads.desk.staff": {"assign", "reopen"},
    "qleads.desk.reading": {"get", "history", "tab", "counts"},
    "qleads.desk.search": {"search"},
    "qleads.desk.sweep": {"sweep"},
    "qleads.desk.limits": {
        "claim_allowance",
        "claim_refusal",
        "claim_pause_of",
        "lift_claim_pause",
    },
    "qleads.desk.explain": {"explain_routing"},
    "qleads.desk.scorecards": {"scorecards"},
    "qleads.desk.policies": {
        "policy_for",
        "territory_policy",
        "territory_policies_of",
        "set_territory_policy",
        "reload_territory_policies",
    },
    "qleads.desk.decline": {
        "confirm_spam",
        "decline_reasons",
        "decline_summary",
        "duplicate_of",
        "queue",
        "repetitions",
        "return_to_pool",
        "unlink_duplicate",
    },
    "qleads.desk.personal_data": {
        "access_log",
        "apply_retention",
        "erase_personal_data",
        "export_personal_data",
        "record_access",
    },
}


class TestLeadDesk:
    def test_the_desk_offers_its_use_cases_and_nothing_else(self) -> None:
        """What a portal can call on ``LeadDesk`` is the use cases (R12 is checked in
        each); the shared steps are functions of ``qleads.desk.base``, not methods."""
        public = {name for name, _ in inspect.getmembers(LeadDesk) if not name.startswith("_")}
        assert public == set().union(*USE_CASES.values())

    @pytest.mark.parametrize("module", list(USE_CASES))
    def test_each_use_case_lives_in_the_module_of_its_concern(self, module: str) -> None:
        for name in USE_CASES[module]:
            assert getattr(LeadDesk, name).__module__ == module

    def test_every_use_case_class_stands_on_the_typed_base(self) -> None:
        for base in LeadDesk.__bases__:
            assert issubclass(base, DeskBase)

    def test_the_front_door_names_the_same_objects(self) -> None:
        assert qleads.LeadDesk is LeadDesk
        assert (qleads.SYSTEM_ACTOR, qleads.IntakeResult) == (SYSTEM_ACTOR, IntakeResult)
        assert (qleads.SweepReport, qleads.TabPage) == (SweepReport, TabPage)


class TestLeadSummary:
    def test_a_row_has_its_leads_fields_in_order_with_name_and_place_for_the_document(
        self,
    ) -> None:
        """R8: a tab row is its lead's whole state, and only the customer's name and place
        of the document; adapters build rows positionally in this order."""
        lead = [a.name for a in attrs.fields(Lead)]
        row = [a.name for a in attrs.fields(LeadSummary)]
        at = lead.index("document")
        assert row == [*lead[:at], "name", "postal_code", "city", *lead[at + 1 :]]

    def test_a_row_and_its_lead_agree_on_every_default(self) -> None:
        defaults = {a.name: a.default for a in attrs.fields(Lead)}
        for field in attrs.fields(LeadSummary):
            if field.name in defaults:
                assert field.default == defaults[field.name], field.name


MOVED_FROM_INTAKE = {
    "MAX_JSON_DEPTH": "qleads.documents",
    "decode_json": "qleads.documents",
    "document_fingerprint": "qleads.documents",
    "structure_stored_document": "qleads.documents",
    "unstructure_document": "qleads.documents",
    "route": "qleads.routing",
}


class TestOldPaths:
    @pytest.mark.parametrize("name", list(MOVED_FROM_INTAKE))
    def test_a_name_that_left_intake_still_works_and_warns(self, name: str) -> None:
        home = MOVED_FROM_INTAKE[name]
        with pytest.warns(DeprecationWarning, match=f"import it from {home}"):
            value = getattr(qleads.intake, name)
        assert value is getattr(importlib.import_module(home), name)

    def test_intake_keeps_validation_only(self) -> None:
        assert not set(MOVED_FROM_INTAKE) & set(qleads.intake.__all__)
        with pytest.raises(AttributeError):
            _ = qleads.intake.no_such_name  # type: ignore[attr-defined]

    def test_the_mail_commands_old_module_still_runs_them_and_warns(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delitem(sys.modules, "qleads.mail.cli", raising=False)
        with pytest.warns(DeprecationWarning, match="qleads.cli"):
            old = importlib.import_module("qleads.mail.cli")
        assert old.main is qleads.cli.main
        parser = argparse.ArgumentParser(prog="qleads")
        commands = parser.add_subparsers(dest="command")
        old.register(commands)
        assert set(commands.choices) == {"sweep", "mail"}
