"""Outages: a database that cannot be reached, cannot be opened, or restarts.

R15: every error a caller of qleads sees belongs to its own family. With PostgreSQL down
(a closed port, a server that refuses while it restarts) or an SQLite file that cannot be
opened, every public call of the SQL adapters, the desk and the mail dispatcher raises
:class:`~qleads.errors.StorageError`, never the driver's ``OperationalError``. After a
restart, pooled connections are checked before use (``qleads.adapters.sql.liveness``), so
that only the calls in flight at the restart fail. The restart is played by a TCP proxy in
front of the real server (``tcp_proxy.TcpProxy``).
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from mail_support import document, free_port
from tcp_proxy import TcpProxy

import qleads.adapters.sql.territory_cache as territory_cache
from qleads.adapters.clock import FrozenClock
from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, liveness, make_engine
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.calendar import Calendar
from qleads.cli import main
from qleads.desk import LeadDesk
from qleads.errors import QleadsError, StorageError
from qleads.lifecycle import Status
from qleads.mail import (
    DigestSender,
    Dispatcher,
    OutboxMessage,
    RecordingMailer,
    RenderedMail,
    Renderer,
)
from qleads.model import (
    Admin,
    Deadline,
    DeadlineKind,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    LeadSource,
    Notification,
    NotificationKind,
    SalesRep,
    Territory,
)
from qleads.tabs import Scope, Tab, query_for
from qleads.testing.world import Cast

NOW = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)
SAXONY = Calendar("DE", "SN")
RITA = SalesRep("rep", "Rita Vertrieb", "rita@example.org")
ANNA = Installer("anna", "Anna Solar", "anna@example.org", "rep", calendar=SAXONY)
ROOT = Admin("root", "Root", "root@example.org")
CALCULATOR = LeadSource("calc", "Solarrechner")
LEIPZIG = Territory("leipzig", "Leipzig", "DE", frozenset({"04"}), "rep")
PEOPLE = Cast(
    reps=(RITA,), territories=(LEIPZIG,), installers=(ANNA,), admins=(ROOT,), sources=(CALCULATOR,)
)


@attrs.define
class Stack:
    """qleads on one engine, as a portal or a cron job puts it together."""

    engine: sa.Engine
    repository: SqlAlchemyLeadRepository
    directory: SqlAlchemyDirectory
    outbox: SqlAlchemyOutbox
    desk: LeadDesk
    dispatcher: Dispatcher
    digests: DigestSender
    clock: FrozenClock

    @classmethod
    def on(cls, engine: sa.Engine) -> Stack:
        clock = FrozenClock(NOW)
        repository = SqlAlchemyLeadRepository(engine)
        directory = SqlAlchemyDirectory(engine)
        outbox = SqlAlchemyOutbox(repository)
        mailer = RecordingMailer()
        renderer = Renderer("https://leads.example.com")
        return cls(
            engine=engine,
            repository=repository,
            directory=directory,
            outbox=outbox,
            desk=LeadDesk(repository, directory, clock),
            dispatcher=Dispatcher(outbox, mailer, renderer, directory, clock, leads=repository),
            digests=DigestSender(outbox, mailer, renderer, directory, repository, clock),
            clock=clock,
        )

    def seed(self) -> None:
        """The people and places the calls below refer to."""
        self.repository.upgrade_schema()
        PEOPLE.enrol(self.directory)


def _enter_unit(stack: Stack) -> None:
    with stack.repository.unit_of_work() as uow:
        uow.get(1)


def _lead(source_id: str) -> Lead:
    return Lead(
        id=0,
        document=document(source_id),
        received_at=NOW,
        territory_id="leipzig",
        status=Status.NEW,
        status_at=NOW,
    )


#: Every public call that touches the database, by the class it belongs to. A call on a
#: database that is not there must raise StorageError, whatever the call would have
#: answered otherwise.
CALLS: dict[str, Callable[[Stack], object]] = {
    # the desk (every use case goes through the repository and the directory)
    "LeadDesk.intake": lambda s: s.desk.intake(CALCULATOR, document("outage-1")),
    "LeadDesk.claim": lambda s: s.desk.claim(ANNA, 1),
    "LeadDesk.record": lambda s: s.desk.record(ANNA, 1, Status.FIRST_CONTACT),
    "LeadDesk.release": lambda s: s.desk.release(ANNA, 1),
    "LeadDesk.reopen": lambda s: s.desk.reopen(ROOT, 1),
    "LeadDesk.get": lambda s: s.desk.get(ROOT, 1),
    "LeadDesk.history": lambda s: s.desk.history(ROOT, 1),
    "LeadDesk.tab": lambda s: s.desk.tab(RITA, Tab.AVAILABLE),
    "LeadDesk.counts": lambda s: s.desk.counts(ANNA),
    "LeadDesk.sweep": lambda s: s.desk.sweep(),
    # the lead repository
    "SqlAlchemyLeadRepository.unit_of_work": _enter_unit,
    "SqlAlchemyLeadRepository.upgrade_schema": lambda s: s.repository.upgrade_schema(),
    "SqlAlchemyLeadRepository.recount": lambda s: s.repository.recount(),
    "SqlAlchemyLeadRepository.notifications": lambda s: s.repository.notifications(),
    # the directory
    "SqlAlchemyDirectory.installer": lambda s: s.directory.installer("anna"),
    "SqlAlchemyDirectory.rep": lambda s: s.directory.rep("rep"),
    "SqlAlchemyDirectory.admin": lambda s: s.directory.admin("root"),
    "SqlAlchemyDirectory.source": lambda s: s.directory.source("calc"),
    "SqlAlchemyDirectory.installers_of": lambda s: s.directory.installers_of("rep"),
    "SqlAlchemyDirectory.installers_among": lambda s: s.directory.installers_among({"inst"}),
    "SqlAlchemyDirectory.teams_of": lambda s: s.directory.teams_of({"rep"}),
    "SqlAlchemyDirectory.territory": lambda s: s.directory.territory("leipzig"),
    "SqlAlchemyDirectory.territories": lambda s: s.directory.territories(),
    "SqlAlchemyDirectory.territory_ids_of": lambda s: s.directory.territory_ids_of("rep"),
    "SqlAlchemyDirectory.source_by_token": lambda s: s.directory.source_by_token("secret"),
    "SqlAlchemyDirectory.installers": lambda s: s.directory.installers(),
    "SqlAlchemyDirectory.reps": lambda s: s.directory.reps(),
    "SqlAlchemyDirectory.admins": lambda s: s.directory.admins(),
    "SqlAlchemyDirectory.sources": lambda s: s.directory.sources(),
    "SqlAlchemyDirectory.add_installer": lambda s: s.directory.add_installer(
        attrs.evolve(ANNA, id="berta")
    ),
    "SqlAlchemyDirectory.update_installer": lambda s: s.directory.update_installer(ANNA),
    "SqlAlchemyDirectory.add_rep": lambda s: s.directory.add_rep(attrs.evolve(RITA, id="rex")),
    "SqlAlchemyDirectory.update_rep": lambda s: s.directory.update_rep(RITA),
    "SqlAlchemyDirectory.add_admin": lambda s: s.directory.add_admin(attrs.evolve(ROOT, id="r2")),
    "SqlAlchemyDirectory.update_admin": lambda s: s.directory.update_admin(ROOT),
    "SqlAlchemyDirectory.add_source": lambda s: s.directory.add_source(LeadSource("web", "Web")),
    "SqlAlchemyDirectory.update_source": lambda s: s.directory.update_source(CALCULATOR),
    "SqlAlchemyDirectory.set_source_token": lambda s: s.directory.set_source_token("calc", "t"),
    "SqlAlchemyDirectory.add_territory": lambda s: s.directory.add_territory(
        attrs.evolve(LEIPZIG, id="dresden", prefixes=frozenset({"01"}))
    ),
    "SqlAlchemyDirectory.update_territory": lambda s: s.directory.update_territory(LEIPZIG),
    # the outbox and the digest log
    "SqlAlchemyOutbox.enqueue_message": lambda s: s.outbox.enqueue_message(
        OutboxMessage("welcome:1", "anna@example.org", RenderedMail("Hallo", "Text"), NOW)
    ),
    "SqlAlchemyOutbox.lease": lambda s: s.outbox.lease(NOW, 10, "me", dt.timedelta(minutes=5)),
    "SqlAlchemyOutbox.mark_sent": lambda s: s.outbox.mark_sent("k", "<m@x>", NOW),
    "SqlAlchemyOutbox.release": lambda s: s.outbox.release(["k"], "me"),
    "SqlAlchemyOutbox.mark_retry": lambda s: s.outbox.mark_retry("k", "busy", NOW),
    "SqlAlchemyOutbox.mark_failed": lambda s: s.outbox.mark_failed("k", "gone"),
    "SqlAlchemyOutbox.failed": lambda s: s.outbox.failed(),
    "SqlAlchemyOutbox.retry": lambda s: s.outbox.retry("k"),
    "SqlAlchemyOutbox.pending_count": lambda s: s.outbox.pending_count(),
    "SqlAlchemyOutbox.entries": lambda s: s.outbox.entries(),
    "SqlAlchemyOutbox.reserve_digest": lambda s: s.outbox.reserve_digest(
        "anna", NOW.date(), NOW, NOW + dt.timedelta(minutes=10)
    ),
    "SqlAlchemyOutbox.digest_sent": lambda s: s.outbox.digest_sent(
        "anna", NOW.date(), message_id="<m@x>", lead_count=1, now=NOW
    ),
    "SqlAlchemyOutbox.digest_retry": lambda s: s.outbox.digest_retry("anna", NOW.date(), "x"),
    "SqlAlchemyOutbox.last_digest": lambda s: s.outbox.last_digest("anna"),
    # the mail dispatcher's storage calls
    "Dispatcher.dispatch_once": lambda s: s.dispatcher.dispatch_once(),
    "Dispatcher.dispatch_all": lambda s: s.dispatcher.dispatch_all(),
    "DigestSender.send_digests": lambda s: s.digests.send_digests(),
    "DigestSender.available_since": lambda s: s.digests.available_since(
        ANNA, NOW - dt.timedelta(days=1), NOW
    ),
}

#: Public methods that do not touch the database (or only build an engine).
NO_STORAGE = {"from_url", "close", "tab_statement", "counts_statement", "backoff"}


def _raw_escapes(stack: Stack) -> dict[str, str]:
    """Each call that did not raise StorageError, with what it did instead."""
    escaped: dict[str, str] = {}
    for name, call in CALLS.items():
        try:
            call(stack)
        except StorageError as e:
            if "\n" in e.message:
                escaped[name] = f"a StorageError of several lines: {e.message!r}"
        except Exception as e:  # the point: anything else is a leak
            escaped[name] = f"{type(e).__module__}.{type(e).__name__}: {e}"
        else:
            escaped[name] = "returned without an error"
    return escaped


class TestEveryCallIsCovered:
    @pytest.mark.parametrize(
        "cls",
        [SqlAlchemyLeadRepository, SqlAlchemyDirectory, SqlAlchemyOutbox, Dispatcher, DigestSender],
    )
    def test_the_outage_table_names_every_public_method(self, cls: type) -> None:
        """A storage method added later gets an outage case too (R15)."""
        public = {
            name
            for name, member in inspect.getmembers(cls)
            if not name.startswith("_") and callable(member) and name not in NO_STORAGE
        }
        covered = {name.split(".", 1)[1] for name in CALLS if name.startswith(cls.__name__ + ".")}
        assert public == covered


# --- nothing to connect to ------------------------------------------------------------


def _unopenable(kind: str, tmp_path: Path) -> str:
    if kind == "postgresql-closed-port":
        return f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    if kind == "sqlite-directory":
        return f"sqlite:///{tmp_path}"
    if kind == "sqlite-missing-directory":
        return f"sqlite:///{tmp_path / 'missing' / 'qleads.db'}"
    if kind == "sqlite-read-only-directory":
        if os.geteuid() == 0:  # root may write into any directory of a normal file system
            return "sqlite:////proc/qleads-outage.db"
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        return f"sqlite:///{locked / 'qleads.db'}"
    if kind == "sqlite-under-a-file":
        (tmp_path / "plain-file").write_text("not a directory")
        return f"sqlite:///{tmp_path / 'plain-file' / 'qleads.db'}"
    assert kind == "sqlite-not-a-database"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database, only text\n" * 200)
    return f"sqlite:///{garbage}"


UNOPENABLE = [
    "postgresql-closed-port",
    "sqlite-directory",
    "sqlite-missing-directory",
    "sqlite-read-only-directory",
    "sqlite-under-a-file",
    "sqlite-not-a-database",
]


class TestNothingToConnectTo:
    @pytest.mark.parametrize("kind", UNOPENABLE)
    def test_every_public_call_raises_storage_error(self, kind: str, tmp_path: Path) -> None:
        """R15: a server nobody listens for, or an SQLite file that cannot be opened,
        is a StorageError from every call, never the driver's OperationalError."""
        engine = make_engine(_unopenable(kind, tmp_path))
        try:
            assert _raw_escapes(Stack.on(engine)) == {}
        finally:
            engine.dispose()

    @pytest.mark.parametrize("kind", UNOPENABLE)
    def test_the_error_names_the_driver_error_and_keeps_it_as_cause(
        self, kind: str, tmp_path: Path
    ) -> None:
        engine = make_engine(_unopenable(kind, tmp_path))
        try:
            with pytest.raises(StorageError, match=r"^database error \(\w+Error\): ") as raised:
                Stack.on(engine).directory.territories()
            assert isinstance(raised.value.__cause__, sa.exc.DBAPIError)
        finally:
            engine.dispose()


class TestExhaustedPool:
    def test_waiting_in_vain_for_a_pooled_connection_is_a_storage_error(
        self, tmp_path: Path
    ) -> None:
        """R15: every connection is lent out and none comes back within
        ``pool_timeout``: the unit of work, the directory's reads (the territory table
        included) and the outbox raise StorageError, not SQLAlchemy's TimeoutError."""
        url = f"sqlite:///{tmp_path / 'busy.db'}"
        engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.05)
        stack = Stack.on(engine)
        stack.seed()
        calls: list[Callable[[], object]] = [
            lambda: _enter_unit(stack),
            stack.directory.territories,
            lambda: stack.directory.installer("anna"),
            stack.outbox.pending_count,
        ]
        try:
            with stack.repository.unit_of_work() as holding:
                holding.get_by_source("nothing")
                for call in calls:
                    with pytest.raises(StorageError, match="TimeoutError"):
                        call()
        finally:
            engine.dispose()


class TestCommandLine:
    @pytest.mark.parametrize(
        "argv",
        [
            ["sweep", "{url}"],
            ["db", "upgrade", "{url}"],
            ["mail", "failed", "{url}"],
            ["mail", "retry", "{url}", "some-key"],
            [
                "mail",
                "dispatch",
                "{url}",
                "--smtp",
                "127.0.0.1:1",
                "--base-url",
                "https://x.example",
            ],
            [
                "worker",
                "{url}",
                "--smtp",
                "127.0.0.1:1",
                "--base-url",
                "https://x.example",
                "--once",
            ],
        ],
        ids=["sweep", "db upgrade", "mail failed", "mail retry", "mail dispatch", "worker"],
    )
    def test_an_unreachable_database_is_one_line_and_exit_1(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
        assert main([arg.format(url=url) for arg in argv]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith("qleads: ")
        assert err.count("\n") == 1, err
        assert "Connection refused" in err

    def test_qleads_sweep_prints_no_traceback(self, tmp_path: Path) -> None:
        """The cron job's mail shows one line, not a Python traceback."""
        done = subprocess.run(
            [sys.executable, "-m", "qleads.cli", "sweep", f"sqlite:///{tmp_path}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert done.stdout == ""
        assert done.stderr.startswith("qleads: database error")
        assert "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1


# --- a server that restarts -------------------------------------------------------------


@pytest.fixture
def seeded_url(postgres_url: str) -> str:
    engine = make_engine(postgres_url)
    Stack.on(engine).seed()
    engine.dispose()
    return postgres_url


@pytest.fixture
def proxy(seeded_url: str) -> Iterator[TcpProxy]:
    with TcpProxy.in_front_of(seeded_url) as running:
        yield running


@pytest.fixture
def stack(seeded_url: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """qleads through the proxy, its territory table read afresh on every call (so that
    a call that reads it meets the outage rather than the cached copy)."""
    monkeypatch.setattr(territory_cache, "TERRITORY_CACHE_SECONDS", 0.0)
    engine = make_engine(proxy.url(seeded_url), pool_size=4, max_overflow=4)
    yield Stack.on(engine)
    engine.dispose()


def _fill_the_pool(stack: Stack, connections: int = 3) -> None:
    """Check out ``connections`` connections at once and use each, so that the pool
    holds that many when they come back."""
    units = [stack.repository.unit_of_work() for _ in range(connections)]
    for unit in units:
        unit.__enter__()
        unit.counts([query_for(Scope(None), Tab.AVAILABLE)])
    for unit in units:
        unit.__exit__(None, None, None)


def _storage_calls_work(stack: Stack, source_id: str) -> None:
    lead = stack.desk.intake(CALCULATOR, document(source_id)).lead
    stack.desk.claim(ANNA, lead.id)
    assert stack.desk.counts(ANNA)[Tab.MINE] >= 1
    stack.desk.sweep()
    assert [t.id for t in stack.directory.territories()] == ["leipzig"]
    assert stack.outbox.pending_count() >= 1
    stack.dispatcher.dispatch_once()
    with stack.repository.unit_of_work() as uow:
        assert uow.get(lead.id).holder_id == "anna"


@pytest.mark.postgres
class TestServerRestart:
    def test_after_a_restart_the_next_calls_succeed(self, stack: Stack, proxy: TcpProxy) -> None:
        """Pooled connections the restart killed are replaced before use: no call after
        the restart fails, though the pool held three dead connections."""
        _fill_the_pool(stack)
        _storage_calls_work(stack, "before")
        accepted = proxy.accepted
        assert proxy.drop() >= 3
        _storage_calls_work(stack, "after")
        assert proxy.accepted > accepted  # new connections, not the dead ones

    def test_a_pooled_connection_closed_underneath_is_replaced(self, seeded_url: str) -> None:
        """A connection closed on the client's side while it rested in the pool (by a
        fork's cleanup, a test, a bug) is not lent out either."""
        engine = make_engine(seeded_url, pool_size=1, max_overflow=0)
        repository = SqlAlchemyLeadRepository(engine)
        with repository.unit_of_work() as uow:
            uow.get_by_source("nothing")
        pooled = engine.raw_connection()
        resting = pooled.driver_connection
        pooled.close()
        resting.close()
        with repository.unit_of_work() as uow:
            assert uow.get_by_source("nothing") is None
        engine.dispose()

    def test_sqlite_engines_are_not_checked(self, tmp_path: Path) -> None:
        """An SQLite connection has no server that could close it."""
        engine = make_engine(f"sqlite:///{tmp_path / 'local.db'}")
        SqlAlchemyLeadRepository(engine)
        liveness.check_connections(engine)
        assert not sa.event.contains(engine, "checkout", liveness.check_before_use)
        engine.dispose()

    def test_the_check_costs_no_round_trip(self, seeded_url: str) -> None:
        """Unlike ``pool_pre_ping``'s ``SELECT 1``, checking a pooled connection sends
        nothing: a claim, checkout included, stays at its two round trips (R3)."""
        setup = make_engine(seeded_url)
        lead = Stack.on(setup).desk.intake(CALCULATOR, document("round-trips")).lead
        setup.dispose()
        engine = make_engine(seeded_url, pool_size=1, max_overflow=0)
        stack = Stack.on(engine)
        pooled = engine.raw_connection()  # the pool's only connection, lent before
        with _libpq_trace(pooled.driver_connection) as sent:
            pooled.close()
            with stack.repository.unit_of_work(writing=True) as uow:
                seen = uow.get(lead.id)
                _unit_step(uow, "update+commit", seen)
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        engine.dispose()
        assert sum(1 for m in sent if m == "Sync" or m.startswith("Query")) == 2, sent

    @pytest.mark.parametrize(
        "step",
        [
            "get",
            "get_by_source",
            "find",
            "counts",
            "due",
            "history",
            "add",
            "update+commit",
            "append+commit",
            "enqueue+commit",
        ],
    )
    def test_a_unit_of_work_in_flight_fails_with_storage_error(
        self, stack: Stack, proxy: TcpProxy, step: str
    ) -> None:
        """R15: the restart breaks the unit that holds a connection; whatever it does
        next raises StorageError, nothing of it is stored, and the next unit works."""
        lead = stack.desk.intake(CALCULATOR, document("in-flight")).lead
        with stack.repository.unit_of_work() as uow:
            seen = uow.get(lead.id)
            proxy.drop()
            with pytest.raises(StorageError):
                _unit_step(uow, step, seen)
        with stack.repository.unit_of_work() as uow:
            assert uow.get(lead.id) == seen
            assert [e.kind for e in uow.history(lead.id)] == [EventKind.RECEIVED]

    def test_while_the_server_is_down_every_call_raises_storage_error(
        self, stack: Stack, proxy: TcpProxy
    ) -> None:
        """R15: a server that refuses connections (restarting) is a StorageError from
        every call, whether the pool held connections or not; when it is back, the
        calls work again."""
        _fill_the_pool(stack)
        proxy.refuse()
        assert _raw_escapes(stack) == {}
        proxy.restore()
        _storage_calls_work(stack, "back")


@contextmanager
def _libpq_trace(driver: Any) -> Iterator[list[str]]:
    """The messages a psycopg connection sends inside the block (libpq's trace), filled
    in when the block ends."""
    from psycopg import pq

    sent: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        fd = os.dup(trace.fileno())
        driver.pgconn.trace(fd)
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            driver.pgconn.untrace()
            os.close(fd)
        trace.seek(0)
        for line in trace:
            direction, _length, message, *rest = line.rstrip("\n").split("\t")
            if direction == "F":
                sent.append(" ".join([message, *rest]).strip())


def _unit_step(uow: Any, step: str, seen: Lead) -> None:
    if step == "get":
        uow.get(seen.id)
    elif step == "get_by_source":
        uow.get_by_source(seen.source_id)
    elif step == "find":
        uow.find(query_for(Scope(None), Tab.AVAILABLE))
    elif step == "counts":
        uow.counts([query_for(Scope(None), Tab.AVAILABLE)])
    elif step == "due":
        uow.due(NOW, 10)
    elif step == "history":
        uow.history(seen.id)
    elif step == "add":
        uow.add(_lead("in-flight-2"))
    elif step == "update+commit":
        later = attrs.evolve(
            seen,
            status=Status.CLAIMED,
            holder_id="anna",
            deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, NOW + dt.timedelta(days=2)),
            version=seen.version + 1,
        )
        uow.update(later, expected_version=seen.version)
        uow.commit()
    elif step == "append+commit":
        uow.append(
            [
                HistoryEvent(
                    lead_id=seen.id,
                    version=seen.version + 1,
                    kind=EventKind.CLAIMED,
                    actor_id="anna",
                    from_status=Status.NEW,
                    to_status=Status.CLAIMED,
                    effective_at=NOW,
                    recorded_at=NOW,
                )
            ]
        )
        uow.commit()
    else:
        assert step == "enqueue+commit"
        uow.enqueue(
            [
                Notification(
                    key=f"outage:{seen.id}",
                    kind=NotificationKind.NEW_LEAD,
                    lead_id=seen.id,
                    recipient_id="anna",
                    created_at=NOW,
                )
            ]
        )
        uow.commit()


@pytest.mark.postgres
@pytest.mark.slow
class TestRestartUnderLoad:
    def test_only_the_calls_in_flight_fail_and_nothing_raw_escapes(
        self, stack: Stack, proxy: TcpProxy
    ) -> None:
        """Four workers take leads in, claim them and count their tabs while the server
        restarts twice and then refuses connections for a while. Every failure is a
        StorageError, and every failed call was in flight during a restart or the
        refusal: no call that began after the server was back failed."""
        workers = 4
        stop = threading.Event()
        faults: list[tuple[float, float]] = []
        failures: list[tuple[float, float, BaseException]] = []
        lock = threading.Lock()
        calls = [0] * workers

        def work(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                for step in ("intake", "claim", "counts"):
                    began = time.monotonic()
                    try:
                        if step == "intake":
                            lead = stack.desk.intake(CALCULATOR, document(f"w{n}-{i}")).lead
                        elif step == "claim":
                            stack.desk.claim(ANNA, lead.id)
                        else:
                            stack.desk.counts(ANNA)
                        calls[n] += 1
                    except BaseException as e:  # every failure is examined below
                        with lock:
                            failures.append((began, time.monotonic(), e))
                        break

        def fault(start: Callable[[], object], end: Callable[[], object] = lambda: None) -> None:
            began = time.monotonic()
            start()
            time.sleep(0.4)
            end()
            faults.append((began, time.monotonic()))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.3)
            fault(proxy.drop)
            fault(proxy.drop)
            fault(proxy.refuse, proxy.restore)
            before = list(calls)
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert [repr(e) for _, _, e in failures if not isinstance(e, StorageError)] == []
        assert all(isinstance(e, QleadsError) for _, _, e in failures)
        outside = [
            (round(began, 3), round(failed, 3), str(e))
            for began, failed, e in failures
            if not any(began <= end and failed >= start for start, end in faults)
        ]
        assert outside == [], faults
        assert failures, "the outage went unnoticed"
        assert all(calls[n] > before[n] for n in range(workers))  # the workers went on
