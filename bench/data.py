"""Benchmark data: a German installer network and its leads, loaded in bulk.

The shape follows a real portal a few years in: 200 sales reps, 5,000 installers (25 per
rep), territories cut from the 2-digit postal regions (each region split by its third
digit into three territories, spread over the reps), leads weighted towards the big
cities, and statuses mixed like a live system — most leads closed, some in progress, a
pool of new ones (R2, R8).

Rows go straight into the adapter's own tables (created by its migrations), by
``executemany`` on SQLite and ``COPY`` on PostgreSQL, so that a million leads load in
minutes. Everything is seeded: the same arguments build the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from qleads.adapters.sql import SqlAlchemyLeadRepository
from qleads.adapters.sql.schema import RECOUNT_SQL
from qleads.testing.documents import FIRST_NAMES, SURNAMES

#: The benchmark's "now": a Tuesday morning. Every generated instant lies relative to it.
NOW = dt.datetime(2026, 6, 16, 8, 0, tzinfo=dt.UTC)

#: The main city of each 2-digit German postal region (05, 11, 43, 62 are unused).
REGIONS: dict[str, str] = {
    "01": "Dresden", "02": "Görlitz", "03": "Cottbus", "04": "Leipzig", "06": "Halle (Saale)",
    "07": "Gera", "08": "Zwickau", "09": "Chemnitz", "10": "Berlin", "12": "Berlin",
    "13": "Berlin", "14": "Potsdam", "15": "Frankfurt (Oder)", "16": "Oranienburg",
    "17": "Neubrandenburg", "18": "Rostock", "19": "Schwerin", "20": "Hamburg",
    "21": "Lüneburg", "22": "Hamburg", "23": "Lübeck", "24": "Kiel", "25": "Elmshorn",
    "26": "Oldenburg", "27": "Bremerhaven", "28": "Bremen", "29": "Celle", "30": "Hannover",
    "31": "Hildesheim", "32": "Herford", "33": "Bielefeld", "34": "Kassel", "35": "Gießen",
    "36": "Fulda", "37": "Göttingen", "38": "Braunschweig", "39": "Magdeburg",
    "40": "Düsseldorf", "41": "Mönchengladbach", "42": "Wuppertal", "44": "Dortmund",
    "45": "Essen", "46": "Oberhausen", "47": "Duisburg", "48": "Münster", "49": "Osnabrück",
    "50": "Köln", "51": "Köln", "52": "Aachen", "53": "Bonn", "54": "Trier", "55": "Mainz",
    "56": "Koblenz", "57": "Siegen", "58": "Hagen", "59": "Hamm", "60": "Frankfurt am Main",
    "61": "Bad Homburg", "63": "Offenbach", "64": "Darmstadt", "65": "Wiesbaden",
    "66": "Saarbrücken", "67": "Ludwigshafen", "68": "Mannheim", "69": "Heidelberg",
    "70": "Stuttgart", "71": "Böblingen", "72": "Tübingen", "73": "Esslingen",
    "74": "Heilbronn", "75": "Pforzheim", "76": "Karlsruhe", "77": "Offenburg",
    "78": "Konstanz", "79": "Freiburg im Breisgau", "80": "München", "81": "München",
    "82": "Starnberg", "83": "Rosenheim", "84": "Landshut", "85": "Ingolstadt",
    "86": "Augsburg", "87": "Kempten", "88": "Ravensburg", "89": "Ulm", "90": "Nürnberg",
    "91": "Erlangen", "92": "Amberg", "93": "Regensburg", "94": "Passau", "95": "Hof",
    "96": "Bamberg", "97": "Würzburg", "98": "Suhl", "99": "Erfurt",
}  # fmt: skip
#: Regions of the big cities get more requests.
_BIG = {"10", "12", "13", "20", "22", "80", "81", "50", "51", "60", "70", "04", "01", "90"}
#: Each region is cut into three territories by the third digit of the postal code.
_THIRDS = (("0", "1", "2"), ("3", "4", "5"), ("6", "7", "8", "9"))

#: The status mix of a portal a few years in (fractions; the rest is ``unsuccessful``).
STATUS_MIX: tuple[tuple[str, float], ...] = (
    ("new", 0.04),
    ("claimed", 0.015),
    ("assigned", 0.01),
    ("contact_attempted", 0.03),
    ("first_contact", 0.03),
    ("offer_sent", 0.04),
    ("follow_up", 0.035),
    ("order_placed", 0.25),
    ("unsuccessful", 0.55),
)
OPEN_STATUSES = ("claimed", "assigned", "contact_attempted", "first_contact", "offer_sent")

_STREETS = [
    "Hauptstraße",
    "Schulstraße",
    "Gartenstraße",
    "Bahnhofstraße",
    "Dorfstraße",
    "Bergstraße",
    "Lindenstraße",
    "Kirchstraße",
    "Waldstraße",
    "Ringstraße",
    "Am Markt",
    "Rosenweg",
]
_MODULES = ("Q.PEAK DUO BLK-G5", "Q.PEAK DUO-G5", "Q.PEAK DUO ML-G10", "Q.TRON BLK M-G2+")
_USAGE = ("Wochentags", "Wochenende", "abends", "ganztags")


@attrs.frozen
class Network:
    """The people and territories of one data set."""

    reps: tuple[str, ...]
    installers_of: dict[str, tuple[str, ...]]
    rep_of_installer: dict[str, str]
    #: territory id -> (rep id, region, prefixes)
    territories: dict[str, tuple[str, str, tuple[str, ...]]]
    #: rep id -> its territory ids
    territories_of: dict[str, tuple[str, ...]]

    def territory_of(self, postal_code: str) -> str:
        """Longest prefix routing (R1); every generated code routes."""
        region, third = postal_code[:2], postal_code[2]
        for n, digits in enumerate(_THIRDS):
            if third in digits:
                return f"{region}-{n}"
        raise AssertionError(postal_code)


def network(reps: int, installers: int) -> Network:
    rep_ids = tuple(f"rep-{n:03d}" for n in range(1, reps + 1))
    per_rep = max(1, installers // reps)
    installers_of = {
        rep: tuple(f"inst-{r * per_rep + k + 1:05d}" for k in range(per_rep))
        for r, rep in enumerate(rep_ids)
    }
    rep_of = {i: rep for rep, inst in installers_of.items() for i in inst}
    territories: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    owned: dict[str, list[str]] = {rep: [] for rep in rep_ids}
    n = 0
    for region in REGIONS:
        for part, digits in enumerate(_THIRDS):
            rep = rep_ids[n % len(rep_ids)]
            tid = f"{region}-{part}"
            territories[tid] = (rep, region, tuple(region + d for d in digits))
            owned[rep].append(tid)
            n += 1
    return Network(
        reps=rep_ids,
        installers_of=installers_of,
        rep_of_installer=rep_of,
        territories=territories,
        territories_of={rep: tuple(t) for rep, t in owned.items()},
    )


def _iso(instant: dt.datetime) -> str:
    return instant.isoformat()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def document(
    rng: random.Random, source_id: str, postal_code: str, received: dt.datetime
) -> dict[str, Any]:
    """A lead document in the stored (``unstructure_document``) shape."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    per_month_with = rng.randint(500, 4000)
    per_month_without = per_month_with + rng.randint(2000, 12000)
    with_20 = per_month_with * 12 * 20 + rng.randint(0, 50000)
    without_20 = per_month_without * 12 * 20 + rng.randint(0, 80000)
    return {
        "source_id": source_id,
        "received_at": _iso(received),
        "contact": {
            "name": f"{first} {last}",
            "street": f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
            "postal_code": postal_code,
            "city": REGIONS[postal_code[:2]],
            "country": "DE",
            "email": f"kunde.{source_id}@example.de",
            "phone": f"0{rng.randint(30, 9999)} {rng.randint(100000, 9999999)}",
            "reachability": rng.choice(("immer", "vormittags", "nachmittags", "abends")),
            "comment": "",
        },
        "consumption": {
            "persons": rng.randint(1, 6),
            "annual_kwh": rng.randint(1500, 9000),
            "price_ct_per_kwh": _money(rng.randint(2500, 4200)),
            "main_usage": rng.choice(_USAGE),
        },
        "roof": {
            "area_m2": _money(rng.randint(2000, 15000)),
            "tilt_deg": rng.randint(0, 50),
            "azimuth_deg": rng.randint(90, 270),
            "modules": rng.choice(_MODULES),
            "module_count": rng.randint(6, 40),
            "storage_interest": rng.random() < 0.4,
        },
        "costs": {
            "per_month": _cost(per_month_with, per_month_without),
            "per_year": _cost(per_month_with * 12, per_month_without * 12),
            "after_20_years": _cost(with_20, without_20),
        },
        "eco_balance": {
            "co2_saving_kg": rng.randint(5000, 40000),
            "trees_planted": rng.randint(50, 600),
        },
    }


def _cost(with_pv: int, without_pv: int) -> dict[str, str]:
    return {
        "with_pv": _money(with_pv),
        "without_pv": _money(without_pv),
        "savings": _money(without_pv - with_pv),
    }


def fingerprint(doc: dict[str, Any]) -> str:
    """``qleads.documents.document_fingerprint`` of a document in the stored shape."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def postal_code(rng: random.Random, regions: Sequence[str], weights: Sequence[float]) -> str:
    region = rng.choices(regions, weights)[0]
    return f"{region}{rng.randint(0, 999):03d}"


def region_weights() -> tuple[list[str], list[float]]:
    regions = list(REGIONS)
    return regions, [4.0 if r in _BIG else 1.0 for r in regions]


@attrs.frozen
class LeadRow:
    """One generated lead, as the columns of ``qleads_lead``."""

    id: int
    source_id: str
    fingerprint: str
    received_at: dt.datetime
    territory_id: str
    status: str
    status_at: dt.datetime
    holder_id: str | None
    hold_until: dt.datetime | None
    due_at: dt.datetime | None
    deadline_kind: str | None
    deadline_at: dt.datetime | None
    previous_holders: tuple[str, ...]
    version: int
    document: str
    name: str
    postal_code: str
    city: str


def leads(net: Network, count: int, seed: int = 7) -> Iterator[LeadRow]:
    """``count`` leads, ids 1..count, oldest first."""
    rng = random.Random(seed)
    regions, weights = region_weights()
    statuses = [s for s, _ in STATUS_MIX]
    fractions = [f for _, f in STATUS_MIX]
    span = 5 * 365 * 86400
    offsets = sorted((rng.random() * span for _ in range(count)), reverse=True)
    for n, offset in enumerate(offsets, 1):
        status = rng.choices(statuses, fractions)[0]
        if status in OPEN_STATUSES or status == "follow_up":
            offset = rng.random() * 30 * 86400  # open work is recent
        elif status == "new":
            offset = rng.random() * 60 * 86400
        received = NOW - dt.timedelta(seconds=offset + 60)
        code = postal_code(rng, regions, weights)
        territory = net.territory_of(code)
        rep = net.territories[territory][0]
        installers = net.installers_of[rep]
        holder: str | None = None
        hold_until = due_at = deadline_at = None
        deadline_kind: str | None = None
        previous: tuple[str, ...] = ()
        status_at = received + (NOW - received) * rng.random() * 0.5
        if status == "new":
            if rng.random() < 0.1:
                previous = (rng.choice(installers),)
        else:
            holder = rng.choice(installers)
        if status == "claimed":
            hold_until = deadline_at = NOW + dt.timedelta(hours=rng.randint(2, 46))
            deadline_kind = "claim_expiry"
        elif status == "assigned":
            deadline_at = NOW + dt.timedelta(hours=rng.randint(2, 46))
            deadline_kind = "assignment_reminder"
        elif status == "follow_up":
            due_at = NOW + dt.timedelta(hours=rng.randint(-240, 720))
            if due_at > NOW:
                deadline_at, deadline_kind = due_at, "follow_up_due"
        source_id = f"sr-{n}"
        doc = document(rng, source_id, code, received)
        yield LeadRow(
            id=n,
            source_id=source_id,
            fingerprint=fingerprint(doc),
            received_at=received,
            territory_id=territory,
            status=status,
            status_at=status_at,
            holder_id=holder,
            hold_until=hold_until,
            due_at=due_at,
            deadline_kind=deadline_kind,
            deadline_at=deadline_at,
            previous_holders=previous,
            version=1 if status == "new" else 2,
            document=json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
            name=doc["contact"]["name"],
            postal_code=code,
            city=doc["contact"]["city"],
        )


LEAD_COLUMNS = (
    "id", "source_id", "fingerprint", "received_at", "territory_id", "status", "status_at",
    "holder_id", "hold_until", "due_at", "deadline_kind", "deadline_at", "previous_holders",
    "version", "document", "name", "postal_code", "city",
)  # fmt: skip
EVENT_COLUMNS = (
    "lead_id", "version", "kind", "actor_id", "from_status", "to_status", "effective_at",
    "recorded_at", "holder_id", "note",
)  # fmt: skip


def sqlite_time(instant: dt.datetime | None) -> str | None:
    """The adapter's SQLite instant format: fixed-width naive UTC text."""
    if instant is None:
        return None
    return instant.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _holders_text(holders: Sequence[str]) -> str:
    return json.dumps(sorted(holders), separators=(",", ":")) if holders else "[]"


def _lead_tuple(row: LeadRow, time_of: Any) -> tuple[Any, ...]:
    return (
        row.id, row.source_id, row.fingerprint, time_of(row.received_at), row.territory_id,
        row.status, time_of(row.status_at), row.holder_id, time_of(row.hold_until),
        time_of(row.due_at), row.deadline_kind, time_of(row.deadline_at),
        _holders_text(row.previous_holders), row.version, row.document, row.name,
        row.postal_code, row.city,
    )  # fmt: skip


def _event_tuples(row: LeadRow, time_of: Any) -> list[tuple[Any, ...]]:
    received = time_of(row.received_at)
    events = [(row.id, 1, "received", "solarrechner", None, "new", received, received, None, "")]
    if row.version == 2:
        at = time_of(row.status_at)
        kind = "assigned" if row.status == "assigned" else "claimed"
        if row.status not in ("claimed", "assigned"):
            kind = "recorded"
        events.append(
            (row.id, 2, kind, row.holder_id, "new", row.status, at, at, row.holder_id, "")
        )
    return events


def _directory_rows(net: Network) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "qleads_rep": [(r, f"Vertrieb {r}", f"{r}@example.de") for r in net.reps],
        "qleads_installer": [
            (i, f"Solar {i} GmbH", f"{i}@example.de", rep)
            for rep, inst in net.installers_of.items()
            for i in inst
        ],
        "qleads_territory": [
            (tid, f"PLZ {region}x ({REGIONS[region]})", "DE", rep)
            for tid, (rep, region, _) in net.territories.items()
        ],
        "qleads_territory_prefix": [
            (tid, p) for tid, (_, _, prefixes) in net.territories.items() for p in prefixes
        ],
        "qleads_source": [("solarrechner", "Solarrechner", None)],
        "qleads_admin": [("admin", "Admin", "admin@example.de", "de")],
    }


_DIRECTORY_COLUMNS = {
    "qleads_rep": ("id", "name", "email"),
    "qleads_installer": ("id", "name", "email", "rep_id"),
    "qleads_territory": ("id", "name", "country", "rep_id"),
    "qleads_territory_prefix": ("territory_id", "prefix"),
    "qleads_source": ("id", "name", "token_hash"),
    "qleads_admin": ("id", "name", "email", "language"),
}


def create_schema(engine: sa.Engine) -> None:
    """The adapter's tables by its own migrations (``qleads db upgrade``), with their
    indexes and, on SQLite, the counter triggers."""
    SqlAlchemyLeadRepository(engine).upgrade_schema()


@attrs.frozen
class LoadReport:
    leads: int
    events: int
    seconds: float


def load_sqlite(
    path: str, engine: sa.Engine, net: Network, count: int, seed: int = 7
) -> LoadReport:
    started = time.perf_counter()
    create_schema(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    conn.execute("BEGIN")
    for table, rows in _directory_rows(net).items():
        cols = _DIRECTORY_COLUMNS[table]
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            rows,
        )
    lead_sql = (
        f"INSERT INTO qleads_lead ({', '.join(LEAD_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(LEAD_COLUMNS))})"
    )
    event_sql = (
        f"INSERT INTO qleads_event ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
    )
    handled_sql = "INSERT INTO qleads_lead_handled (lead_id, installer_id) VALUES (?, ?)"
    events = 0
    for chunk in _chunks(leads(net, count, seed), 20000):
        conn.executemany(lead_sql, [_lead_tuple(r, sqlite_time) for r in chunk])
        ev = [e for r in chunk for e in _event_tuples(r, sqlite_time)]
        conn.executemany(event_sql, ev)
        events += len(ev)
        conn.executemany(handled_sql, [(r.id, h) for r in chunk for h in r.previous_holders])
    # The tab counters (R8) were kept by the triggers of migration 0004 as the rows came in.
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return LoadReport(count, events, time.perf_counter() - started)


def load_postgres(engine: sa.Engine, net: Network, count: int, seed: int = 7) -> LoadReport:
    started = time.perf_counter()
    create_schema(engine)
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            for table, rows in _directory_rows(net).items():
                with cur.copy(
                    f"COPY {table} ({', '.join(_DIRECTORY_COLUMNS[table])}) FROM STDIN"
                ) as cp:
                    for r in rows:
                        cp.write_row(r)
            events = 0
            lead_copy = f"COPY qleads_lead ({', '.join(LEAD_COLUMNS)}) FROM STDIN"
            event_copy = f"COPY qleads_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
            handled_copy = "COPY qleads_lead_handled (lead_id, installer_id) FROM STDIN"
            for chunk in _chunks(leads(net, count, seed), 50000):
                with cur.copy(lead_copy) as cp:
                    for r in chunk:
                        cp.write_row(_lead_tuple(r, _same))
                with cur.copy(event_copy) as cp:
                    for r in chunk:
                        for e in _event_tuples(r, _same):
                            cp.write_row(e)
                            events += 1
                with cur.copy(handled_copy) as cp:
                    for r in chunk:
                        for h in r.previous_holders:
                            cp.write_row((r.id, h))
            # The leads came in around the unit of work: fill the tab counters (R8).
            cur.execute("DELETE FROM qleads_lead_count")
            cur.execute(RECOUNT_SQL)
            for table in ("qleads_lead", "qleads_event", "qleads_outbox"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
        pg.autocommit = False
    finally:
        raw.close()
    return LoadReport(count, events, time.perf_counter() - started)


def _same(value: Any) -> Any:
    return value


def _chunks(rows: Iterator[LeadRow], size: int) -> Iterator[list[LeadRow]]:
    chunk: list[LeadRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
