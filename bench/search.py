"""Searched and filtered pages (``LeadDesk.search``) against hand-written SQL.

Two kinds of page of a rep's "all" tab, 50 rows with their total and every tab's count,
as the portal's list renders them:

* ``filter_page``: the open work (four statuses) received in the last 365 days, sorted by
  the running deadline — conditions and a sort no tab index has;
* ``search_page``: a customer's surname (five letters, any case) in name, city or postal
  code, newest status first — a text search, which reads every lead of the rep's
  territories on both sides.

The raw side writes what a developer would: one ``SELECT`` of the page and one
``count(*)`` with the same conditions, and the tab counts as ``bench/raw.py`` does
(``lower(...) LIKE`` for the search). Both sides run in alternating blocks, like the full
tab pages (``run._measure_pages_in_blocks``).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from data import NOW
from raw import _ROW_COLUMNS, TABS, RawSql

from qleads.desk import LeadDesk
from qleads.filters import LeadFilter, SortKey
from qleads.lifecycle import Status
from qleads.model import SalesRep
from qleads.tabs import Tab
from qleads.testing.documents import SURNAMES

__all__ = ["CASES", "measure"]

CASES = ("filter_page", "search_page")
_OPEN = ("contact_attempted", "first_contact", "follow_up", "offer_sent")
_SINCE = (NOW - dt.timedelta(days=365)).date()


def _filter(case: str, text: str) -> LeadFilter:
    if case == "filter_page":
        return LeadFilter(
            statuses=frozenset(Status(s) for s in _OPEN),
            received_from=_SINCE,
            sort=SortKey.DEADLINE,
        )
    return LeadFilter(text=text, sort=SortKey.STATUS_AT, descending=True)


def raw_page(
    raw: RawSql, conn: Any, rep_id: str, case: str, text: str, limit: int = 50
) -> tuple[list[Any], int, dict[str, int]]:
    """The same page in hand-written SQL: rows, total, every tab's count."""
    p = raw.p
    raw.begin_read(conn)
    try:
        territories = raw.territories(conn, rep_id)
        terr, params = raw.in_list("territory_id", territories)
        if case == "filter_page":
            status, sparams = raw.in_list("status", _OPEN)
            # The first instant of the day in Berlin, as the desk reads a day.
            since = dt.datetime.combine(_SINCE, dt.time(), tzinfo=ZoneInfo("Europe/Berlin"))
            where = f"{terr} AND {status} AND received_at >= {p}"
            params = [*params, *sparams, raw.t(since.astimezone(dt.UTC))]
            order = "COALESCE(hold_until, due_at) ASC NULLS LAST, id ASC"
        else:
            like = f"%{text.lower()}%"
            where = (
                f"{terr} AND (lower(name) LIKE {p} OR lower(city) LIKE {p} OR postal_code LIKE {p})"
            )
            params = [*params, like, like, like]
            order = "status_at DESC, id DESC"
        rows = conn.execute(
            f"SELECT {_ROW_COLUMNS} FROM qleads_lead WHERE {where} ORDER BY {order} LIMIT {p}",
            [*params, limit],
        ).fetchall()
        (total,) = conn.execute(
            f"SELECT count(*) FROM qleads_lead WHERE {where}",
            params,
        ).fetchone()
        counts = raw._counts(conn, territories, None)
    finally:
        conn.rollback() if raw.pg else conn.execute("COMMIT")
    assert set(counts) == set(TABS)
    raw.log_access(conn, rep_id, None, rows, NOW)  # R14: a rep sees every name
    return list(rows), int(total), counts


def measure(
    desk: LeadDesk,
    raw: RawSql,
    conn: Any,
    reps: Sequence[str],
    samples: int,
    rng: random.Random,
    rep_of: Callable[[str], SalesRep],
) -> dict[tuple[str, str], list[float]]:
    """Latencies in ms keyed (case, impl), qleads and raw in alternating blocks of
    ``samples`` pages each, twice over; the first ten of each block warm up. Each
    qleads page is checked against the raw one (same ids, same total)."""
    chosen = [
        (case, rng.choice(list(reps)), rng.choice(SURNAMES)[:5].upper())
        for case in CASES
        for _ in range(samples + 10)
    ]
    lat: dict[tuple[str, str], list[float]] = {}
    for case, rep_id, text in chosen[:: max(1, len(chosen) // 8)]:
        mine = desk.search(rep_of(rep_id), Tab.ALL, _filter(case, text))
        rows, total, _counts = raw_page(raw, conn, rep_id, case, text)
        assert [row.lead.id for row in mine.items] == [r[0] for r in rows], (case, rep_id)
        assert mine.total == total, (case, rep_id, text)
    for _round in range(2):
        for impl in ("qleads", "raw"):
            for case in CASES:
                block = [c for c in chosen if c[0] == case]
                for n, (_case, rep_id, text) in enumerate(block):
                    started = time.perf_counter()
                    if impl == "qleads":
                        desk.search(rep_of(rep_id), Tab.ALL, _filter(case, text))
                    else:
                        raw_page(raw, conn, rep_id, case, text)
                    elapsed = time.perf_counter() - started
                    if n >= 10:
                        lat.setdefault((case, impl), []).append(elapsed * 1000)
    return lat
