"""The clock's use case (R4, R5, R6, R11): fire every deadline that has passed.

What each deadline does to its lead is :mod:`qleads.desk.deadlines`; this module reads
the due leads in batches and writes what firing them changes, race-safe against people's
changes and against other sweeps in other processes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import attrs

from qleads.desk.base import DeskBase, current_time
from qleads.desk.changes import Change
from qleads.desk.deadlines import DirectoryMemo, fire
from qleads.desk.limits import pause_after_expiries
from qleads.desk.personal_data import retain
from qleads.desk.policies import effective_policy
from qleads.errors import StaleUpdate
from qleads.instants import require_utc
from qleads.model import DeadlineKind, HistoryEvent, Notification

__all__ = ["SweepDesk", "SweepReport"]

log = logging.getLogger(__name__)

#: How often one batch is read again after a change raced it, before the sweep gives up.
_SWEEP_RETRIES = 5


@attrs.frozen
class SweepReport:
    """What one sweep fired (R11)."""

    expired: int = 0
    reminded: int = 0
    escalated: int = 0
    follow_ups_due: int = 0
    #: Steps of an escalation ladder beyond the defaults (:mod:`qleads.ladder`).
    withdrawn: int = 0
    returned_to_rep: int = 0
    unserviceable: int = 0
    #: R14: leads the retention periods anonymised, access records past their period.
    anonymised: int = 0
    access_records_purged: int = 0

    @property
    def total(self) -> int:
        return (
            self.expired
            + self.reminded
            + self.escalated
            + self.follow_ups_due
            + self.withdrawn
            + self.returned_to_rep
            + self.unserviceable
        )


class SweepDesk(DeskBase):
    """:meth:`sweep`, run by cron (``qleads sweep``) or by the embedding application."""

    def sweep(
        self,
        now: dt.datetime | None = None,
        *,
        batch_size: int = 500,
        progress: Callable[[SweepReport], None] | None = None,
    ) -> SweepReport:
        """Fire every deadline that has passed by ``now``: claim expiry, assignment
        reminders, escalations, follow-up reminders.

        With a repository that keeps personal data, the retention periods run too
        (R14, :meth:`~qleads.desk.LeadDesk.apply_retention`).

        Idempotent: a fired deadline is cleared (or replaced by the next one) in the same
        conditional update that writes its event and notices, so a second run, or a
        parallel one in another process, finds nothing left to fire. Work is read in
        batches of due leads only, so the cost follows the number of due deadlines, and
        the memory a batch: what a committed batch fired is kept as counts alone.

        ``progress``, if given, is called after each committed batch with the totals so
        far (``qleads sweep`` and ``qleads worker`` show them on a terminal).
        """
        at = current_time(self.clock) if now is None else require_utc("now", now)
        totals = dict.fromkeys(DeadlineKind, 0)
        people = DirectoryMemo(self.directory)
        retries = 0
        while True:
            try:
                with self.repository.unit_of_work(writing=True) as uow:
                    due = uow.due(at, batch_size)
                    people.prefetch(due)
                    fired: list[DeadlineKind] = []
                    events: list[HistoryEvent] = []
                    notices: list[Notification] = []
                    changes: list[Change] = []
                    for lead in due:
                        assert lead.deadline is not None
                        policy = effective_policy(self, lead.territory_id, uow)
                        change = fire(lead, at, policy, people)
                        uow.update(change.lead, expected_version=lead.version)
                        events.append(change.event)
                        notices.extend(change.notifications)
                        changes.append(change)
                        fired.append(lead.deadline.kind)
                    # One insert each per batch: the cost stays with the due leads (R11).
                    if events:
                        uow.append(events)
                        notices.extend(
                            pause_after_expiries(
                                uow,
                                changes,
                                at,
                                lambda territory_id: effective_policy(self, territory_id, uow),
                                self.directory,
                            )
                        )
                    if notices:
                        uow.enqueue(notices)
                    uow.commit()
            except StaleUpdate:
                # A record or another sweep changed a due lead under us: nothing of this
                # batch was written; read the batch again.
                retries += 1
                log.info("sweep batch raced by another change; reading it again (%d)", retries)
                if retries > _SWEEP_RETRIES:
                    raise
                continue
            for kind in fired:
                totals[kind] += 1
            if not due:
                break
            del due, fired, events, notices, changes  # the batch's objects, before the next
            if progress is not None:
                progress(_report(totals))
        retention = retain(self, at)  # R14: the retention periods, with the deadlines
        return _report(
            totals,
            anonymised=0 if retention is None else retention.anonymised,
            access_records_purged=0 if retention is None else retention.access_records_purged,
        )


def _report(
    totals: dict[DeadlineKind, int], *, anonymised: int = 0, access_records_purged: int = 0
) -> SweepReport:
    return SweepReport(
        anonymised=anonymised,
        access_records_purged=access_records_purged,
        expired=totals[DeadlineKind.CLAIM_EXPIRY],
        reminded=totals[DeadlineKind.ASSIGNMENT_REMINDER] + totals[DeadlineKind.HOLDER_REMINDER],
        escalated=totals[DeadlineKind.ESCALATION],
        follow_ups_due=totals[DeadlineKind.FOLLOW_UP_DUE],
        withdrawn=totals[DeadlineKind.WITHDRAWAL],
        returned_to_rep=totals[DeadlineKind.RETURN_TO_REP],
        unserviceable=totals[DeadlineKind.UNSERVICEABLE],
    )
