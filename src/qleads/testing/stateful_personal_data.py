"""R14's rules for the state machine: erasure, retention and the access log, at any step.

:class:`PersonalDataMachine` is :class:`~qleads.testing.stateful.LeadDeskMachine` with
these rules added, and what :func:`~qleads.testing.stateful.make_machine` builds: an
erasure at any step keeps every invariant of the desk (statuses, holders, deadlines,
counts, a history that replays), and nothing erased ever reappears — not in the
document, not in the notes written before the erasure, not under the old e-mail.
Retention takes exactly the leads the pure rule names; the access log grows by one
record per read that showed the contact, and each reader sees his scope's records only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from qleads.adapters.clock import FrozenClock
from qleads.desk import LeadDesk
from qleads.documents import document_fingerprint
from qleads.errors import IntakeConflict, LeadNotFound, NotPermitted, QleadsError
from qleads.model import Actor, Admin, Installer, Lead, Policy, SalesRep
from qleads.personal_data import (
    ERASED_CONTACT_FIELDS,
    POSTCODE_AREA_DIGITS,
    AccessQuery,
    AccessRecord,
    anonymised,
    retention_cutoffs,
    retention_due,
)
from qleads.personal_data_ports import KeepsPersonalData
from qleads.ports import LeadRepository
from qleads.testing.lead_model import ExpectedLead
from qleads.testing.world import ADMIN, ANNA, CAST, REP_EAST, SOURCE

__all__ = ["PersonalDataRules"]

#: The people the rules read as; their ids and territories are the machine's.
INSTALLERS = CAST.installers
REPS = CAST.reps
#: The readers a read rule draws: every role, so that R16's hidden contact is met too.
_READERS: tuple[Actor, ...] = (ADMIN, REP_EAST, *INSTALLERS)


class _Machine(Protocol):
    """What the rules use of :class:`~qleads.testing.stateful.LeadDeskMachine`."""

    repository: LeadRepository
    desk: LeadDesk
    clock: FrozenClock
    policy: Policy
    expected: dict[int, ExpectedLead]
    closed: dict[int, Lead]
    erased: dict[int, int]

    @property
    def now(self) -> dt.datetime: ...

    def _lead(self, lead_id: int) -> Lead: ...

    def _keeper(self: _Machine) -> KeepsPersonalData: ...

    def _mark_erased(self: _Machine, lead_id: int, before: Lead) -> None: ...

    def _log(self: _Machine, reader: Installer | SalesRep | Admin) -> list[AccessRecord]: ...

    def _draw_lead(
        self, data: st.DataObject, prefer: Callable[[ExpectedLead], bool]
    ) -> ExpectedLead: ...

    def _expect_error(
        self, error: type[QleadsError], action: Callable[[], object], what: str
    ) -> None: ...


class PersonalDataRules:
    """R14's rules and invariants; mixed in before
    :class:`~qleads.testing.stateful.LeadDeskMachine` (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: Erased lead id → the last history version written before its erasure.
        self.erased: dict[int, int] = {}
        super().__init__(*args, **kwargs)

    def _lead(self: _Machine, lead_id: int) -> Lead:
        # The invariants read every lead after every step: straight from storage, so
        # that they do not fill the access log the rules below check.
        with self.repository.unit_of_work() as uow:
            return uow.get(lead_id)

    def _erased(self: _Machine, lead_id: int) -> bool:
        return lead_id in self.erased

    def _keeper(self: _Machine) -> KeepsPersonalData:
        assert isinstance(self.repository, KeepsPersonalData)
        return self.repository

    def _mark_erased(self: _Machine, lead_id: int, before: Lead) -> None:
        expected = self.expected[lead_id]
        expected.fingerprint = document_fingerprint(anonymised(before.document))
        self.erased[lead_id] = self._lead(lead_id).version
        if lead_id in self.closed:
            self.closed[lead_id] = self._lead(lead_id)

    # --- rules ----------------------------------------------------------------------------

    @precondition(lambda self: self.expected)
    @rule(data=st.data())
    def intake_again(self: _Machine, data: st.DataObject) -> None:
        """R1: the same document twice is the same lead; an erased lead's original
        document is not its document any more (R14), so it is a conflict."""
        expected = self._draw_lead(data, lambda e: True)
        before = self._lead(expected.lead_id)
        note(f"intake {expected.source_id!r} again")
        if expected.lead_id in self.erased:
            self._expect_error(
                IntakeConflict,
                lambda: self.desk.intake(SOURCE, expected.raw),
                "intake of an erased lead's document",
            )
        else:
            result = self.desk.intake(SOURCE, expected.raw)
            assert not result.created
            assert result.lead.id == expected.lead_id
        assert self._lead(expected.lead_id) == before

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), by_email=st.booleans(), actor=st.sampled_from((ADMIN, ADMIN, REP_EAST)))
    def erase(self: _Machine, data: st.DataObject, by_email: bool, actor: Actor) -> None:
        """R14: an admin erases a lead, or every lead of an e-mail address, at any step."""
        expected = self._draw_lead(data, lambda e: e.lead_id not in self.erased)
        lead_id = expected.lead_id
        email = str(expected.raw["contact"]["email"])
        note(
            f"erase lead {lead_id}"
            + (f" by e-mail {email!r}" if by_email else "")
            + f" as {actor.id}"
        )
        if not isinstance(actor, Admin):
            self._expect_error(
                NotPermitted,
                lambda: self.desk.erase_personal_data(actor, lead_id=lead_id, reason="asked"),
                "an erasure by a rep",
            )
            return
        if by_email and lead_id not in self.erased:
            wanted = email.strip().lower()
            targets = {
                i: self._lead(i)
                for i, e in self.expected.items()
                if i not in self.erased and str(e.raw["contact"]["email"]).lower() == wanted
            }
            result = self.desk.erase_personal_data(actor, email=email, reason="Art. 17")
            assert set(result.erased) == set(targets), (result, sorted(targets))
        else:
            targets = {} if lead_id in self.erased else {lead_id: self._lead(lead_id)}
            result = self.desk.erase_personal_data(actor, lead_id=lead_id, reason="Art. 17")
            assert result.erased == tuple(targets)
            assert result.already_erased == (() if targets else (lead_id,))
        for erased_id, before in targets.items():
            self._mark_erased(erased_id, before)

    @precondition(lambda self: self.expected)
    @rule(months=st.integers(min_value=0, max_value=30), dry_run=st.booleans())
    def retention(self: _Machine, months: int, dry_run: bool) -> None:
        """R14: at an instant ``months`` ahead, retention takes exactly the leads the
        pure rule names (the storage query and the rule agree)."""
        at = self.now + dt.timedelta(days=31 * months)
        policy = self.policy
        cutoffs = retention_cutoffs(
            at,
            policy.retention_closed_months,
            policy.retention_unclaimed_months,
            policy.retention_access_log_months,
        )
        due = {
            i: lead
            for i in self.expected
            if i not in self.erased and retention_due(lead := self._lead(i), cutoffs)
        }
        note(f"retention at {at.isoformat()} (dry run: {dry_run}): {sorted(due)}")
        report = self.desk.apply_retention(at, dry_run=dry_run)
        assert report.anonymised == len(due), (report, sorted(due))
        if not dry_run:
            for lead_id, before in due.items():
                self._mark_erased(lead_id, before)
            assert self.desk.apply_retention(at).anonymised == 0

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), reader=st.sampled_from(_READERS))
    def read(self: _Machine, data: st.DataObject, reader: Actor) -> None:
        """R14: a read that shows the contact writes one access record; one that shows
        nothing (not found) or hides the contact (R16) writes none."""
        expected = self._draw_lead(data, lambda e: True)
        log = self._keeper().access_log
        query = AccessQuery(lead_id=expected.lead_id, user_id=reader.id, limit=100_000)
        before = len(log.records(query))
        try:
            shown = self.desk.get(reader, expected.lead_id)
        except LeadNotFound:
            logged = 0
        else:
            logged = 0 if shown.contact_hidden else 1
        note(f"read lead {expected.lead_id} as {reader.id}: {logged} record(s)")
        assert len(log.records(query)) == before + logged

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def nothing_erased_reappears(self: _Machine) -> None:
        for lead_id, version in self.erased.items():
            contact = self._lead(lead_id).document.contact
            for field in ERASED_CONTACT_FIELDS:
                assert getattr(contact, field) == "", (lead_id, field)
            raw_code = str(self.expected[lead_id].raw["contact"]["postal_code"]).strip()
            assert contact.postal_code == raw_code[:POSTCODE_AREA_DIGITS], contact
            with self.repository.unit_of_work() as uow:
                events = uow.history(lead_id)
            assert all(e.note == "" for e in events if e.version <= version), lead_id
        store = self._keeper().personal_data
        for lead_id in self.erased:
            email = str(self.expected[lead_id].raw["contact"]["email"])
            assert lead_id not in {lead.id for lead in store.leads_with_email(email)}

    @rule()
    def each_reader_sees_his_scope_of_the_access_log(self: _Machine) -> None:
        """R12, R14: a rep reads his territories' records, an installer his leads'."""
        for installer in INSTALLERS:
            assert all(r.holder_id == installer.id for r in self._log(installer)), installer.id
        for rep in REPS:
            mine = CAST.territory_ids_of(rep.id)
            assert all(r.territory_id in mine for r in self._log(rep)), rep.id
        assert len(self._log(ADMIN)) >= len(self._log(ANNA))

    def _log(self: _Machine, reader: Installer | SalesRep | Admin) -> list[AccessRecord]:
        return self.desk.access_log(reader, limit=100_000)
