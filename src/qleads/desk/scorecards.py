"""The partner scorecard on the desk (:mod:`qleads.scorecard`): an installer sees his
own, a sales rep his installers' side by side, an admin everyone's (R12). Storage counts
(three statements for all the installers asked for); the desk adds the calendar's part,
business hours (R9)."""

from __future__ import annotations

import datetime as dt

from qleads.desk.base import DeskBase
from qleads.errors import InvalidInput, NotPermitted
from qleads.instants import require_utc
from qleads.model import Actor, Admin, Installer, SalesRep
from qleads.scorecard import Scorecard, scorecard

__all__ = ["ScorecardDesk"]


class ScorecardDesk(DeskBase):
    """:meth:`scorecards`."""

    def scorecards(
        self,
        actor: Actor,
        start: dt.datetime,
        end: dt.datetime,
        *,
        rep_id: str | None = None,
    ) -> list[Scorecard]:
        """The scorecards of ``[start, end)`` that ``actor`` may see, by installer id:
        an installer his own, a rep his installers', an admin every installer's (or one
        rep's team with ``rep_id``). A period that is not aware UTC or does not end
        after it starts raises :class:`~qleads.errors.InvalidInput`."""
        start = require_utc("start", start)
        end = require_utc("end", end)
        if end <= start:
            raise InvalidInput("end", "must lie after start")
        team = self._team(actor, rep_id)
        if not team:
            return []
        ids = [installer.id for installer in team]
        territories = {
            rep: sorted(self.directory.territory_ids_of(rep)) for rep in {i.rep_id for i in team}
        }
        with self.repository.unit_of_work() as uow:
            counts = uow.scorecard_counts(ids, start, end)
            holdings = uow.holdings(ids, start, end)
            received = {
                rep: uow.received_count(ids_of_rep, start, end)
                for rep, ids_of_rep in territories.items()
            }
        return [
            scorecard(
                installer.id,
                installer.name,
                installer.calendar,
                self.policy,
                start,
                end,
                received=received[installer.rep_id],
                counts=counts,
                holdings=holdings,
            )
            for installer in team
        ]

    def _team(self, actor: Actor, rep_id: str | None) -> list[Installer]:
        if isinstance(actor, Installer):
            return [actor]
        if isinstance(actor, SalesRep):
            if rep_id is not None and rep_id != actor.id:
                raise NotPermitted(actor.id, f"read the scorecards of {rep_id}'s installers")
            return sorted(self.directory.installers_of(actor.id), key=lambda i: i.id)
        if isinstance(actor, Admin):
            if rep_id is not None:
                reps = [rep_id]
            else:
                reps = sorted({t.rep_id for t in self.directory.territories()})
            team = [i for rep in reps for i in self.directory.installers_of(rep)]
            return sorted(team, key=lambda i: i.id)
        raise NotPermitted(actor.id, "read scorecards")
