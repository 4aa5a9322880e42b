"""The SQL of duplicate detection and decline reasons (``qleads.duplicates``,
``qleads.decline``): match keys, duplicate links, and the tally of release reasons.

Match keys are read by the index of (key, arrival) (``ix_qleads_match_key_key_received``,
migration 0011): one range per key of the submission, so finding the leads of the same
person costs the same at a thousand leads as at a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["DuplicateStatements"]

_RELEASED: Final = "released"


class DuplicateStatements:
    """The statements for one dialect (``%s`` or ``?`` placeholders)."""

    def __init__(self, *, postgres: bool) -> None:
        p = "%s" if postgres else "?"
        self.p = p
        self.postgres = postgres
        self.add_key = (
            "INSERT INTO qleads_match_key (lead_id, key, received_at) "  # noqa: S608
            f"VALUES ({p}, {p}, {p}) "
            "ON CONFLICT (lead_id, key) DO NOTHING"
        )
        self.clear_keys = f"DELETE FROM qleads_match_key WHERE lead_id = {p}"  # noqa: S608
        self.link = (
            f"INSERT INTO qleads_duplicate (lead_id, original_id) VALUES ({p}, {p}) "  # noqa: S608
            "ON CONFLICT (lead_id) DO UPDATE SET original_id = excluded.original_id"
        )
        self.unlink = f"DELETE FROM qleads_duplicate WHERE lead_id = {p}"  # noqa: S608
        self.original = f"SELECT original_id FROM qleads_duplicate WHERE lead_id = {p}"  # noqa: S608
        self.copies = (
            f"SELECT lead_id FROM qleads_duplicate WHERE original_id = {p} "  # noqa: S608
            "ORDER BY lead_id"
        )

    def matching(self, count: int) -> str:
        """The leads with one of ``count`` keys, received at or after a time."""
        keys = ", ".join(self.p for _ in range(count))
        return (
            "SELECT DISTINCT lead_id FROM qleads_match_key "  # noqa: S608
            f"WHERE key IN ({keys}) AND received_at >= {self.p} ORDER BY lead_id"
        )

    def reason_counts(self, territories: Sequence[str] | None, since: bool) -> str:
        """Release reasons by installers, counted, for leads of ``territories``."""
        where = [f"e.kind = '{_RELEASED}'", "e.holder_id IS NOT NULL"]
        if territories is not None:
            if territories:
                where.append(f"l.territory_id IN ({', '.join(self.p for _ in territories)})")
            else:
                where.append("1 = 0")
        if since:
            where.append(f"e.recorded_at >= {self.p}")
        return (
            "SELECT e.reason, count(*) FROM qleads_event e "  # noqa: S608
            "JOIN qleads_lead l ON l.id = e.lead_id "
            f"WHERE {' AND '.join(where)} GROUP BY e.reason"
        )
