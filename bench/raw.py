"""The same work as qleads, in hand-written SQL through the same DB-API driver.

This is the yardstick of the benchmark's targets: what a developer would write by hand for a
claim (R3), a tab page and its counts (R8), a sweep (R4, R5, R6, R11) and an intake (R1),
on ``sqlite3`` and on ``psycopg``, against the adapter's own tables. Domain decisions the
library makes in Python (validation, the claim hold's business days) are made with the
same qleads functions here, so that the comparison measures storage access only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from data import sqlite_time

from qleads.calendar import Calendar
from qleads.documents import unstructure_document
from qleads.intake import parse_document

_HOLD_CALENDAR = Calendar()
_COLUMNS = (
    "id, document, received_at, territory_id, status, status_at, holder_id, hold_until, "
    "due_at, deadline_kind, deadline_at, previous_holders, version"
)
#: A tab row: what ``LeadDesk.tab`` returns (``LeadSummary``), the document's name and
#: place from their own columns, not the document.
_ROW_COLUMNS = (
    "id, name, postal_code, city, received_at, territory_id, status, status_at, holder_id, "
    "hold_until, due_at, deadline_kind, deadline_at, previous_holders, version"
)
_TAB_STATUSES = {
    "new": ("assigned", "claimed"),
    "in_progress": ("contact_attempted", "first_contact", "offer_sent"),
    "follow_up": ("follow_up",),
    "closed": ("order_placed", "unsuccessful"),
}
TABS = ("all", "available", "mine", "new", "follow_up", "in_progress", "closed")


_NAMES = tuple(c.strip() for c in _COLUMNS.split(","))
_ROW_NAMES = tuple(c.strip() for c in _ROW_COLUMNS.split(","))


def _decoded(row: Sequence[Any]) -> dict[str, Any]:
    """A lead row of ``_COLUMNS`` as a dict, its JSON columns decoded."""
    lead = dict(zip(_NAMES, row, strict=True))
    lead["document"] = json.loads(lead["document"])
    lead["previous_holders"] = json.loads(lead["previous_holders"])
    return lead


def _row(row: Sequence[Any]) -> dict[str, Any]:
    """A tab row of ``_ROW_COLUMNS`` as a dict, its holders decoded."""
    lead = dict(zip(_ROW_NAMES, row, strict=True))
    lead["previous_holders"] = json.loads(lead["previous_holders"])
    return lead


class NotAvailable(Exception):
    """The raw claim lost (or the lead was not in the pool)."""


class RawSql:
    """Hand-written statements for one dialect; ``conn`` is a plain DB-API connection."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.p = "%s" if self.pg else "?"
        document = "document::text" if self.pg else "document"
        self._claim_columns = ", ".join(
            f"l.{document}" if name == "document" else f"l.{name}" for name in _NAMES
        )

    # --- plumbing ---------------------------------------------------------------------

    def t(self, instant: dt.datetime | None) -> Any:
        return instant if self.pg else sqlite_time(instant)

    def begin_write(self, conn: Any) -> None:
        if not self.pg:
            conn.execute("BEGIN IMMEDIATE")

    def begin_read(self, conn: Any) -> None:
        if not self.pg:
            conn.execute("BEGIN")

    def sql(self, text: str) -> str:
        return text.replace("%s", self.p)

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        if self.pg:
            return f"{column} = ANY(%s)", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    # --- R3 claim ----------------------------------------------------------------------

    def claim(
        self, conn: Any, installer_id: str, rep_id: str, lead_id: int, now: dt.datetime
    ) -> dict[str, Any]:
        """Claim the lead and return it as claimed, its document decoded: what
        ``LeadDesk.claim`` hands back (the portal shows the lead it just claimed), with
        the access record R14 requires for it."""
        p = self.p
        hold = _HOLD_CALENDAR.add_business_days(now, 2)
        try:
            self.begin_write(conn)
            row = conn.execute(
                f"SELECT {self._claim_columns}, t.rep_id FROM qleads_lead l "
                f"LEFT JOIN qleads_territory t ON t.id = l.territory_id WHERE l.id = {p}",
                (lead_id,),
            ).fetchone()
            if row is None or row[4] != "new" or row[-1] != rep_id:
                raise NotAvailable(lead_id)
            version = row[12]
            cur = conn.execute(
                f"UPDATE qleads_lead SET status = 'claimed', status_at = {p}, holder_id = {p}, "
                f"hold_until = {p}, due_at = NULL, deadline_kind = 'claim_expiry', "
                f"deadline_at = {p}, version = version + 1 WHERE id = {p} AND version = {p}",
                (self.t(now), installer_id, self.t(hold), self.t(hold), lead_id, version),
            )
            if cur.rowcount != 1:
                raise NotAvailable(lead_id)
            conn.execute(
                f"INSERT INTO qleads_event (lead_id, version, kind, actor_id, from_status, "
                f"to_status, effective_at, recorded_at, holder_id, note) "
                f"VALUES ({p}, {p}, 'claimed', {p}, 'new', 'claimed', {p}, {p}, {p}, '')",
                (lead_id, version + 1, installer_id, self.t(now), self.t(now), installer_id),
            )
            # R14: the lead goes back to him with the customer's contact: its access
            # record, in the claim's transaction.
            conn.execute(
                f"INSERT INTO qleads_access_log (at, user_id, role, lead_id, kind, "
                f"territory_id, holder_id, client) "
                f"VALUES ({p}, {p}, 'installer', {p}, 'view', {p}, {p}, '')",
                (self.t(now), installer_id, lead_id, row[3], installer_id),
            )
            conn.commit() if self.pg else conn.execute("COMMIT")
        except BaseException:
            conn.rollback() if self.pg else conn.execute("ROLLBACK")
            raise
        lead = _decoded(row[:-1])
        lead.update(
            status="claimed", status_at=self.t(now), holder_id=installer_id,
            hold_until=self.t(hold), due_at=None, deadline_kind="claim_expiry",
            deadline_at=self.t(hold), version=version + 1,
        )  # fmt: skip
        return lead

    # --- R8 tabs -----------------------------------------------------------------------

    def _condition(
        self, tab: str, territories: Sequence[str], installer_id: str | None
    ) -> tuple[str, list[Any]]:
        p = self.p
        terr, tparams = self.in_list("territory_id", territories)
        pool = f"(status = 'new' AND {terr})"
        if installer_id is not None:
            if tab == "available":
                return pool, tparams
            if tab == "mine":
                return f"holder_id = {p}", [installer_id]
            if tab == "all":
                return f"({pool} OR holder_id = {p})", [*tparams, installer_id]
            statuses, sparams = self.in_list("status", _TAB_STATUSES[tab])
            return f"(holder_id = {p} AND {statuses})", [installer_id, *sparams]
        if tab == "available":
            return pool, tparams
        if tab == "mine":
            return f"({terr} AND holder_id IS NOT NULL)", tparams
        if tab == "all":
            return terr, tparams
        statuses, sparams = self.in_list("status", _TAB_STATUSES[tab])
        return f"({terr} AND {statuses})", [*tparams, *sparams]

    def territories(self, conn: Any, rep_id: str) -> list[str]:
        rows = conn.execute(
            f"SELECT id FROM qleads_territory WHERE rep_id = {self.p} ORDER BY id", (rep_id,)
        ).fetchall()
        return [r[0] for r in rows]

    def counts(self, conn: Any, rep_id: str, installer_id: str | None) -> dict[str, int]:
        """Every tab's count in one statement (R8's tab bar)."""
        self.begin_read(conn)
        try:
            territories = self.territories(conn, rep_id)
            return self._counts(conn, territories, installer_id)
        finally:
            conn.rollback() if self.pg else conn.execute("COMMIT")

    def _counts(
        self, conn: Any, territories: Sequence[str], installer_id: str | None
    ) -> dict[str, int]:
        parts: list[str] = []
        params: list[Any] = []
        for tab in TABS:
            cond, cparams = self._condition(tab, territories, installer_id)
            parts.append(f"(SELECT count(*) FROM qleads_lead WHERE {cond})")
            params.extend(cparams)
        row = conn.execute(f"SELECT {', '.join(parts)}", params).fetchone()
        return dict(zip(TABS, (int(v) for v in row), strict=True))

    def tab_page(
        self,
        conn: Any,
        rep_id: str,
        installer_id: str | None,
        tab: str,
        limit: int = 50,
        now: dt.datetime | None = None,
    ) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
        """Page 1 of ``tab`` (the rows a list shows, as ``LeadDesk.tab``), plus every
        tab's count, and the access records of the names it shows (R14)."""
        self.begin_read(conn)
        try:
            territories = self.territories(conn, rep_id)
            cond, params = self._condition(tab, territories, installer_id)
            order = (
                "due_at ASC NULLS LAST, id ASC"
                if tab == "follow_up"
                else "received_at DESC, id DESC"
            )
            rows = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM qleads_lead "
                f"WHERE {cond} ORDER BY {order} LIMIT {self.p} OFFSET 0",
                [*params, limit],
            ).fetchall()
            counts = self._counts(conn, territories, installer_id)
        finally:
            conn.rollback() if self.pg else conn.execute("COMMIT")
        self.log_access(conn, rep_id, installer_id, rows, now or dt.datetime.now(dt.UTC))
        return [_row(r) for r in rows], counts[tab], counts

    def log_access(
        self,
        conn: Any,
        rep_id: str,
        installer_id: str | None,
        rows: Sequence[Sequence[Any]],
        now: dt.datetime,
    ) -> None:
        """R14, as any portal must: one access record per row that shows the customer's
        name (a rep sees every name; an installer the names of his own leads), in one
        multi-row ``INSERT`` that commits on its own, before the page goes out."""
        if installer_id is None:
            user, role, named = rep_id, "rep", rows
        else:
            user, role = installer_id, "installer"
            named = [r for r in rows if r[8] == installer_id]  # holder_id
        if not named:
            return
        at = self.t(now)
        p = self.p
        values = ", ".join(f"({p}, {p}, {p}, {p}, 'list', {p}, {p}, '')" for _ in named)
        params: list[Any] = []
        for r in named:
            params += (at, user, role, r[0], r[5], r[8])  # id, territory_id, holder_id
        if self.pg:
            conn.autocommit = True
        try:
            conn.execute(
                "INSERT INTO qleads_access_log (at, user_id, role, lead_id, kind, "
                f"territory_id, holder_id, client) VALUES {values}",
                params,
            )
        finally:
            if self.pg:
                conn.autocommit = False

    # --- R11 sweep ---------------------------------------------------------------------

    def sweep(self, conn: Any, now: dt.datetime, batch_size: int = 500) -> int:
        """Select due leads (SKIP LOCKED on PostgreSQL), update each conditionally, write
        its history event and its outbox notices; batch by batch. Returns what fired."""
        p = self.p
        lock = " FOR UPDATE SKIP LOCKED" if self.pg else ""
        fired = 0
        t_now = self.t(now)
        while True:
            self.begin_write(conn)
            try:
                due = conn.execute(
                    f"SELECT id, status, version, holder_id, territory_id, deadline_kind, "
                    f"deadline_at, previous_holders, due_at FROM qleads_lead "
                    f"WHERE deadline_at IS NOT NULL AND deadline_at <= {p} "
                    f"ORDER BY deadline_at, id LIMIT {p}{lock}",
                    (t_now, batch_size),
                ).fetchall()
                expiring = sorted({r[4] for r in due if r[5] == "claim_expiry" and r[4]})
                recipients: dict[str, list[str]] = {}
                if expiring:
                    cond, params = self.in_list("t.id", expiring)
                    for tid, iid in conn.execute(
                        f"SELECT t.id, i.id FROM qleads_territory t JOIN qleads_installer i "
                        f"ON i.rep_id = t.rep_id WHERE i.active AND {cond} ORDER BY i.id",
                        params,
                    ):
                        recipients.setdefault(tid, []).append(iid)
                events: list[tuple[Any, ...]] = []
                notices: list[tuple[Any, ...]] = []
                handled: list[tuple[Any, ...]] = []
                for lead_id, status, version, holder, territory, kind, at, holders, due_at in due:
                    new_version = version + 1
                    if kind == "claim_expiry":
                        previous = sorted({*json.loads(holders), *([holder] if holder else [])})
                        cur = conn.execute(
                            f"UPDATE qleads_lead SET status = 'new', status_at = {p}, "
                            f"holder_id = NULL, hold_until = NULL, due_at = NULL, "
                            f"deadline_kind = NULL, deadline_at = NULL, previous_holders = {p}, "
                            f"version = {p} WHERE id = {p} AND version = {p}",
                            (
                                at,
                                json.dumps(previous, separators=(",", ":")),
                                new_version,
                                lead_id,
                                version,
                            ),
                        )
                        to_status = "new"
                        event_kind = "expired"
                        if holder:
                            handled.append((lead_id, holder))
                            notices.append(
                                self._notice(
                                    lead_id, new_version, "claim_expired", holder, t_now, None
                                )
                            )
                        for iid in recipients.get(territory, ()):
                            if iid != holder:
                                notices.append(
                                    self._notice(lead_id, new_version, "new_lead", iid, t_now, None)
                                )
                    else:
                        cur = conn.execute(
                            f"UPDATE qleads_lead SET deadline_kind = NULL, deadline_at = NULL, "
                            f"version = {p} WHERE id = {p} AND version = {p}",
                            (new_version, lead_id, version),
                        )
                        to_status = status
                        if kind == "assignment_reminder":
                            event_kind, notice_kind, deadline = (
                                "reminded",
                                "assignment_reminder",
                                None,
                            )
                        else:
                            event_kind, notice_kind, deadline = (
                                "follow_up_due",
                                "follow_up_due",
                                due_at,
                            )
                        if holder:
                            notices.append(
                                self._notice(
                                    lead_id, new_version, notice_kind, holder, t_now, deadline
                                )
                            )
                    if cur.rowcount != 1:
                        raise RuntimeError(f"lead {lead_id} changed under the sweep")
                    events.append(
                        (
                            lead_id,
                            new_version,
                            event_kind,
                            "system",
                            status,
                            to_status,
                            at,
                            t_now,
                            holder,
                        )
                    )
                if handled:
                    conn.cursor().executemany(
                        self.sql(
                            "INSERT INTO qleads_lead_handled (lead_id, installer_id) "
                            "VALUES (%s, %s) ON CONFLICT DO NOTHING"
                        ),
                        handled,
                    )
                if events:
                    conn.cursor().executemany(
                        self.sql(
                            "INSERT INTO qleads_event (lead_id, version, kind, actor_id, "
                            "from_status, to_status, effective_at, recorded_at, holder_id, note) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '')"
                        ),
                        events,
                    )
                if notices:
                    conn.cursor().executemany(
                        self.sql(
                            "INSERT INTO qleads_outbox (key, kind, lead_id, recipient_id, "
                            "created_at, deadline_at, next_attempt_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
                        ),
                        notices,
                    )
                conn.commit() if self.pg else conn.execute("COMMIT")
            except BaseException:
                conn.rollback() if self.pg else conn.execute("ROLLBACK")
                raise
            fired += len(due)
            if len(due) < batch_size:
                return fired

    @staticmethod
    def _notice(
        lead_id: int, version: int, kind: str, recipient: str, now: Any, deadline: Any
    ) -> tuple[Any, ...]:
        return (
            f"{lead_id}:{version}:{kind}:{recipient}",
            kind,
            lead_id,
            recipient,
            now,
            deadline,
            now,
        )

    # --- R1 intake ---------------------------------------------------------------------

    def intake(self, conn: Any, raw: Mapping[str, Any], source: str, now: dt.datetime) -> int:
        """Validate (with qleads' validator), route by SQL, insert idempotently, write the
        received event and a new-lead notice to every installer of the territory."""
        p = self.p
        doc = parse_document(raw)
        stored = unstructure_document(doc)
        canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), allow_nan=False)
        fingerprint = hashlib.sha256(canonical.encode("ascii")).hexdigest()
        contact = doc.contact
        received = doc.received_at or now
        code = contact.postal_code.replace(" ", "")
        try:
            self.begin_write(conn)
            row = conn.execute(
                f"SELECT t.id FROM qleads_territory_prefix x JOIN qleads_territory t "
                f"ON t.id = x.territory_id WHERE t.country = {p} "
                f"AND substr({p}, 1, length(x.prefix)) = x.prefix "
                f"ORDER BY length(x.prefix) DESC, t.id LIMIT 1",
                (contact.country, code),
            ).fetchone()
            territory = row[0] if row else None
            inserted = conn.execute(
                f"INSERT INTO qleads_lead (source_id, fingerprint, received_at, territory_id, "
                f"status, status_at, previous_holders, version, document, name, postal_code, city) "
                f"VALUES ({p}, {p}, {p}, {p}, 'new', {p}, '[]', 1, {p}, {p}, {p}, {p}) "
                f"ON CONFLICT (source_id) DO NOTHING RETURNING id",
                (
                    doc.source_id, fingerprint, self.t(received), territory, self.t(received),
                    json.dumps(stored, ensure_ascii=False, separators=(",", ":")),
                    contact.name, contact.postal_code, contact.city,
                ),
            ).fetchone()  # fmt: skip
            if inserted is None:
                raise RuntimeError(f"{doc.source_id} exists")
            lead_id = inserted[0]
            t_now = self.t(now)
            conn.execute(
                f"INSERT INTO qleads_event (lead_id, version, kind, actor_id, from_status, "
                f"to_status, effective_at, recorded_at, note) "
                f"VALUES ({p}, 1, 'received', {p}, NULL, 'new', {p}, {p}, '')",
                (lead_id, source, self.t(received), t_now),
            )
            if territory is not None:
                installers = conn.execute(
                    f"SELECT i.id FROM qleads_installer i JOIN qleads_territory t "
                    f"ON t.rep_id = i.rep_id WHERE t.id = {p} AND i.active ORDER BY i.id",
                    (territory,),
                ).fetchall()
                conn.cursor().executemany(
                    self.sql(
                        "INSERT INTO qleads_outbox (key, kind, lead_id, recipient_id, created_at, "
                        "deadline_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (key) DO NOTHING"
                    ),
                    [self._notice(lead_id, 1, "new_lead", i[0], t_now, None) for i in installers],
                )
            conn.commit() if self.pg else conn.execute("COMMIT")
        except BaseException:
            conn.rollback() if self.pg else conn.execute("ROLLBACK")
            raise
        return int(lead_id)


def connect_sqlite(path: str) -> sqlite3.Connection:
    """Like the adapter's connections: autocommit mode (explicit BEGIN), WAL, FKs on."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def connect_postgres(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
