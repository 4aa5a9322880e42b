"""The SQL of the partner scorecard (``qleads.scorecard``): an installer's events of a
period grouped and counted, his claims and assignments each paired with his first record
after it, and the leads his territories received — three statements for any number of
installers, each reading only their rows (``ix_qleads_event_holder_kind_recorded``,
the lead-version key, ``ix_qleads_lead_territory_received_*``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, Protocol

from qleads.adapters.sql.codec import RowCodec
from qleads.adapters.sql.driver import DriverConnection
from qleads.lifecycle import Status
from qleads.model import EventKind, ReleaseReason
from qleads.scorecard import COUNTED_KINDS, EventCount, Holding

__all__ = ["ScorecardUnitOfWork", "scorecard_statements"]

_KINDS: Final = {k.value: k for k in EventKind}
_STATUSES: Final = {s.value: s for s in Status}
_REASONS: Final = {r.value: r for r in ReleaseReason}
#: The kinds a scorecard counts, as SQL literals: with them the index is read by
#: (installer, kind, period) ranges, never through an installer's whole history.
_COUNTED: Final = ", ".join(f"'{kind.value}'" for kind in sorted(COUNTED_KINDS, key=str))


def scorecard_statements(postgres: bool, installers: int) -> tuple[str, str]:
    """The counting and the holdings statement for ``installers`` installer ids
    (parameters: the ids, then start and end)."""
    p = "%s" if postgres else "?"
    ids = ", ".join([p] * installers)
    counts = (
        "SELECT holder_id, kind, to_status, reason, count(*) FROM qleads_event "  # noqa: S608
        f"WHERE holder_id IN ({ids}) AND kind IN ({_COUNTED}) "
        f"AND recorded_at >= {p} AND recorded_at < {p} "
        "GROUP BY holder_id, kind, to_status, reason"
    )
    holdings = (
        "SELECT s.holder_id, s.lead_id, s.kind, s.recorded_at, "  # noqa: S608
        "(SELECT min(r.effective_at) FROM qleads_event r WHERE r.lead_id = s.lead_id "
        "AND r.version > s.version AND r.kind = 'recorded' AND r.holder_id = s.holder_id) "
        f"FROM qleads_event s WHERE s.holder_id IN ({ids}) "
        "AND s.kind IN ('claimed', 'assigned', 'reassigned') "
        f"AND s.recorded_at >= {p} AND s.recorded_at < {p}"
    )
    return counts, holdings


def received_statement(postgres: bool, territories: int) -> str:
    p = "%s" if postgres else "?"
    ids = ", ".join([p] * territories)
    return (
        "SELECT count(*) FROM qleads_lead "  # noqa: S608
        f"WHERE territory_id IN ({ids}) AND received_at >= {p} AND received_at < {p}"
    )


class _Unit(Protocol):
    _codec: RowCodec
    _sqlite: bool

    def _for_reading(self) -> DriverConnection: ...


class ScorecardUnitOfWork:
    """The scorecard's :class:`~qleads.ports.UnitOfWork` methods, for
    :class:`~qleads.adapters.sql.unit_of_work.SqlAlchemyUnitOfWork`."""

    def scorecard_counts(
        self: _Unit, installer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[EventCount]:
        if not installer_ids:
            return []
        statement, _ = scorecard_statements(not self._sqlite, len(installer_ids))
        t = self._codec.instant_in
        rows = self._for_reading().run(statement, [*installer_ids, t(start), t(end)]).fetchall()
        return [
            EventCount(
                str(row[0]),
                _KINDS[row[1]],
                _STATUSES[row[2]],
                _REASONS[row[3]] if row[3] is not None else None,
                int(row[4]),
            )
            for row in rows
        ]

    def holdings(
        self: _Unit, installer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[Holding]:
        if not installer_ids:
            return []
        _, statement = scorecard_statements(not self._sqlite, len(installer_ids))
        t = self._codec.instant_in
        out = self._codec.instant_out
        rows = self._for_reading().run(statement, [*installer_ids, t(start), t(end)]).fetchall()
        found: list[Holding] = []
        for row in rows:
            started = out(row[3])
            assert started is not None
            found.append(Holding(str(row[0]), int(row[1]), _KINDS[row[2]], started, out(row[4])))
        return found

    def received_count(
        self: _Unit, territory_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> int:
        if not territory_ids:
            return 0
        statement = received_statement(not self._sqlite, len(territory_ids))
        t = self._codec.instant_in
        row = self._for_reading().run(statement, [*territory_ids, t(start), t(end)]).fetchone()
        return int(row[0])
