"""The cron commands ``qleads sweep`` and ``qleads mail dispatch``: one summary line,
and exit codes that tell success (0), partial failure (1) and bad configuration (2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from mail_support import SmtpServer, World, document, free_port

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
from qleads.adapters.sql.migrations import upgrade
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.cli import main
from qleads.mail import OutboxMessage, RenderedMail


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer()
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.fixture
def url(tmp_path) -> Iterator[str]:
    """A migrated SQLite database with one territory, two installers and two leads,
    one of them assigned long ago (its reminder is due)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    world = World.build(
        SqlAlchemyLeadRepository(engine),
        dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
        directory=SqlAlchemyDirectory(engine),
    )
    lead = world.desk.intake(world.source, document("s-1")).lead
    world.desk.intake(world.source, document("s-2"))
    world.desk.assign(world.rep, lead.id, world.anna)
    engine.dispose()
    return url


def dispatch(url: str, port: int, *extra: str) -> int:
    return main(
        ["mail", "dispatch", url, "--smtp", f"127.0.0.1:{port}",
         "--base-url", "https://leads.example.com", "--sender", "leads@example.com", *extra]
    )  # fmt: skip


class TestSweepCommand:
    def test_sweep_prints_one_line_and_is_idempotent(self, url: str, capsys) -> None:
        """R11: the due reminder fires once; the second run finds nothing."""
        assert main(["sweep", url]) == 0
        assert capsys.readouterr().out == (
            "qleads sweep: 0 expired, 1 reminded, 0 escalated, 0 follow-ups due\n"
        )
        assert main(["sweep", url]) == 0
        assert "0 reminded" in capsys.readouterr().out

    def test_bad_url_is_a_configuration_error(self, capsys) -> None:
        assert main(["sweep", "mysql://x/y"]) == 2
        assert "unsupported database" in capsys.readouterr().err


class TestDispatchCommand:
    def test_sends_everything_and_exits_0(self, url: str, server: SmtpServer, capsys) -> None:
        """R10: the new lead to both installers, the assignment and its reminder; the
        assigned lead's new-lead notices are dropped (nobody else can take it, R2)."""
        assert main(["sweep", url]) == 0
        capsys.readouterr()
        assert dispatch(url, server.port) == 0
        out = capsys.readouterr().out
        assert out.startswith(
            "qleads mail dispatch: 4 sent, 0 retried, 0 failed, 0 digested, 2 skipped"
        )
        assert out.rstrip().endswith("0 pending")
        envelopes = server.wait_for(4)
        assert len(envelopes) == 4
        assert all(e.message["Message-ID"].endswith("@example.com>") for e in envelopes)
        assert dispatch(url, server.port) == 0
        assert len(server.envelopes) == 4

    def test_server_down_is_a_partial_failure(self, url: str, capsys) -> None:
        """R10: nothing sent, everything kept for later: exit 1."""
        assert dispatch(url, free_port(), "--timeout", "2") == 1
        assert "0 sent, 3 retried" in capsys.readouterr().out

    def test_a_refused_mailbox_is_a_partial_failure(
        self, url: str, server: SmtpServer, capsys
    ) -> None:
        """R10: the 550 row fails, the rest go out, the exit code says so."""
        server.handler.reject.add("bob@example.org")
        assert dispatch(url, server.port) == 1
        assert "2 sent, 0 retried, 1 failed" in capsys.readouterr().out
        assert main(["mail", "failed", url]) == 0
        listed = capsys.readouterr().out.strip().splitlines()
        assert len(listed) == 1
        assert all("\tbob\t" in line and "550" in line for line in listed)
        server.handler.reject.clear()
        key = listed[0].split("\t")[0]
        assert main(["mail", "retry", url, key]) == 0
        assert dispatch(url, server.port) == 0
        engine = make_engine(url)
        assert SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine)).failed() == []
        engine.dispose()

    def test_an_embedders_message_is_dispatched_listed_and_not_retried(
        self, url: str, server: SmtpServer, capsys
    ) -> None:
        """R10: the command sends an embedder's message like a notification; a refused
        one is listed with its address, and its retry is refused in one line (its
        content was wiped when it failed)."""
        engine = make_engine(url)
        outbox = SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine))
        at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
        for key, address in (("welcome:anna", "anna@example.org"), ("welcome:x", "x@example.org")):
            outbox.enqueue_message(
                OutboxMessage(key, address, RenderedMail("Willkommen", "Guten Tag"), at)
            )
        server.handler.reject.add("x@example.org")
        assert dispatch(url, server.port) == 1
        # the three notifications and one message sent, the other message refused
        assert "4 sent, 0 retried, 1 failed" in capsys.readouterr().out
        [welcome] = [
            m for m in server.messages_to("anna@example.org") if m["Subject"] == "Willkommen"
        ]
        assert welcome["From"] == "leads@example.com"
        assert main(["mail", "failed", url]) == 0
        listed = capsys.readouterr().out.strip().splitlines()
        assert [line.split("\t")[:3] for line in listed] == [
            ["welcome:x", "message", "x@example.org"]
        ]
        assert main(["mail", "retry", url, "welcome:x"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "compose" in err
        engine.dispose()

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--base-url", "https://x"], "--smtp HOST:PORT is required"),
            (["--smtp", "localhost", "--base-url", "https://x"], "needs HOST:PORT"),
            (["--smtp", "h:25"], "--base-url"),
            (["--smtp", "h:25", "--base-url", "https://x", "--user", "u"], "go together"),
            (
                ["--smtp", "h:25", "--base-url", "https://x", "--user", "u",
                 "--password-env", "QLEADS_TEST_UNSET_PASSWORD"],
                "is not set",
            ),
            (["--smtp", "h:25", "--base-url", "https://x", "--sender", "nobody"], "sender"),
            (["--smtp", "h:25", "--base-url", "https://x", "--lease", "5"], "--lease must be"),
            (["--smtp", "h:25", "--base-url", "https://x", "--lease", "0", "--timeout", "0"],
             "--lease must be"),
        ],
    )  # fmt: skip
    def test_bad_configuration_exits_2(self, url: str, argv, message, capsys, monkeypatch):
        monkeypatch.delenv("QLEADS_BASE_URL", raising=False)
        monkeypatch.delenv("QLEADS_TEST_UNSET_PASSWORD", raising=False)
        assert main(["mail", "dispatch", url, *argv]) == 2
        assert message in capsys.readouterr().err

    def test_unknown_option_exits_2(self, url: str) -> None:
        assert main(["mail", "dispatch", url, "--smtp", "h:1", "--bogus"]) == 2
