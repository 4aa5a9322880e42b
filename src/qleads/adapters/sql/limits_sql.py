"""The SQL of claim limits and per-territory policy overrides (``qleads.limits``,
``qleads.policies``): an installer's standing in one statement, his pause, the
territories' overrides — as text for one dialect, and the unit of work's methods that
run them (:class:`LimitsUnitOfWork`, a mixin of the SQL unit of work).

The standing is four scalar subqueries in one round trip: his open claims through
``ix_qleads_lead_holder_status_received``, his claims and expiries through
``ix_qleads_event_holder_kind_recorded`` (migration 0012). On PostgreSQL the unit first
takes a transaction-scoped advisory lock on the installer, so that two claims of one
installer in parallel check his limits one after the other (each sees the other's claim
once it committed); SQLite's write lock does the same for the whole database.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol

from qleads.adapters.sql.codec import RowCodec
from qleads.adapters.sql.driver import DriverConnection
from qleads.limits import ClaimPause, ClaimStanding

__all__ = ["LimitsSql", "LimitsUnitOfWork"]


class LimitsSql:
    """The statements, built once for one dialect."""

    def __init__(self, *, postgres: bool) -> None:
        self.postgres = postgres
        p = "%s" if postgres else "?"
        mine = f"holder_id = {p} AND status = 'claimed'"
        self.standing = (
            f"SELECT (SELECT count(*) FROM qleads_lead WHERE {mine}), "  # noqa: S608
            f"(SELECT min(hold_until) FROM qleads_lead WHERE {mine}), "
            "(SELECT count(*) FROM qleads_event "
            f"WHERE holder_id = {p} AND kind = 'claimed' AND recorded_at >= {p}), "
            "(SELECT count(*) FROM qleads_event "
            f"WHERE holder_id = {p} AND kind = 'expired' AND recorded_at > {p})"
        )
        self.lock = f"SELECT pg_advisory_xact_lock(hashtext({p}))"
        self.pause = (
            "SELECT installer_id, since, until, lifted_at, lifted_by "  # noqa: S608
            f"FROM qleads_claim_pause WHERE installer_id = {p}"
        )
        self.save_pause = (
            "INSERT INTO qleads_claim_pause "  # noqa: S608
            "(installer_id, since, until, lifted_at, lifted_by) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (installer_id) DO UPDATE SET "
            "since = excluded.since, until = excluded.until, "
            "lifted_at = excluded.lifted_at, lifted_by = excluded.lifted_by"
        )
        self.policies = "SELECT territory_id, settings FROM qleads_territory_policy"
        self.save_policy = (
            "INSERT INTO qleads_territory_policy (territory_id, settings) "  # noqa: S608
            f"VALUES ({p}, {p}) "
            "ON CONFLICT (territory_id) DO UPDATE SET settings = excluded.settings"
        )
        self.drop_policy = f"DELETE FROM qleads_territory_policy WHERE territory_id = {p}"  # noqa: S608


class _Unit(Protocol):
    """What the mixin needs of the SQL unit of work."""

    _codec: RowCodec
    _limits: LimitsSql
    _held: list[Any]

    def _for_reading(self) -> DriverConnection: ...

    def _for_writing(self, *, holding: bool = False) -> DriverConnection: ...

    def _send_held(self) -> None: ...


class LimitsUnitOfWork:
    """The :class:`~qleads.ports.UnitOfWork` methods of claim limits and territory
    policies, for :class:`~qleads.adapters.sql.unit_of_work.SqlAlchemyUnitOfWork`."""

    def claim_standing(
        self: _Unit, installer_id: str, *, claims_since: dt.datetime, expiries_since: dt.datetime
    ) -> ClaimStanding:
        if self._held:
            self._send_held()  # this unit's own events count (a sweep's expiries)
        sql = self._limits
        if sql.postgres:
            db = self._for_writing()
            db.run(sql.lock, (installer_id,))
        else:
            db = self._for_reading()
        t = self._codec.instant_in
        row = db.run(
            sql.standing,
            (
                installer_id,
                installer_id,
                installer_id,
                t(claims_since),
                installer_id,
                t(expiries_since),
            ),
        ).fetchone()
        return ClaimStanding(
            open_claims=int(row[0]),
            earliest_hold=self._codec.instant_out(row[1]),
            claims_today=int(row[2]),
            expiries=int(row[3]),
        )

    def claim_pause(self: _Unit, installer_id: str) -> ClaimPause | None:
        db = self._for_reading()
        row = db.run(self._limits.pause, (installer_id,)).fetchone()
        if row is None:
            return None
        out = self._codec.instant_out
        since, until = out(row[1]), out(row[2])
        assert since is not None
        assert until is not None
        return ClaimPause(
            installer_id=row[0], since=since, until=until, lifted_at=out(row[3]), lifted_by=row[4]
        )

    def save_claim_pause(self: _Unit, pause: ClaimPause) -> None:
        db = self._for_writing()
        t = self._codec.instant_in
        db.run(
            self._limits.save_pause,
            (
                pause.installer_id,
                t(pause.since),
                t(pause.until),
                t(pause.lifted_at),
                pause.lifted_by,
            ),
        )

    def territory_policies(self: _Unit) -> dict[str, dict[str, object]]:
        db = self._for_reading()
        rows = db.run(self._limits.policies, ()).fetchall()
        return {str(row[0]): dict(json.loads(row[1])) for row in rows}

    def save_territory_policy(
        self: _Unit, territory_id: str, settings: dict[str, object] | None
    ) -> None:
        db = self._for_writing()
        if settings is None:
            db.run(self._limits.drop_policy, (territory_id,))
        else:
            text = json.dumps(settings, sort_keys=True)
            db.run(self._limits.save_policy, (territory_id, text))
