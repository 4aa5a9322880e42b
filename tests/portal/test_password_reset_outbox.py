""" "Passwort vergessen" through the mail outbox (R10), on a real SMTP server (aiosmtpd):
the link's mail is stored with the link, so a portal that stops before delivering it
loses nothing, a mail server that is down gets it later, and a mail that could not go
out while its link worked is not sent at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from portal_support import copy_database, log_in, portal_config, post_form

from examples.admin_app import create_app
from examples.admin_app.background import run_once
from examples.admin_app.security.password_reset import KEY_PREFIX
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.mail import DeliveryState, OutboxEntry, message_id_for
from tests.integration.mail_support import SmtpServer, body, free_port

LINK = re.compile(r"http://portal\.test/password/reset/([A-Za-z0-9_-]+)")
ADDRESS = "installer1@example.com"


@pytest.fixture
def database(demo_database: Path, tmp_path: Path) -> Path:
    path = tmp_path / "portal.sqlite"
    copy_database(demo_database, path)
    return path


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def portal(database: Path, clock: FrozenClock, port: int) -> Flask:
    """A portal process that mails over SMTP to ``port`` on 127.0.0.1."""
    return create_app(
        portal_config(
            database,
            clock,
            QLEADS_MAILER="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_TIMEOUT=5.0,
        )
    )


def services_of(app: Flask) -> Services:
    found = app.extensions["qleads"]
    assert isinstance(found, Services)
    return found


def ask_for_link(app: Flask, username: str) -> None:
    client = app.test_client()
    response = post_form(
        client, "/password/forgot", data={"username": username}, form="/password/forgot"
    )
    assert response.status_code == 302
    # the link is stored on the after-answer thread: wait for it
    services_of(app).after_answer.submit(lambda: None).result(timeout=30)


def reset_mail(services: Services) -> OutboxEntry:
    [entry] = [e for e in services.outbox.entries() if e.key.startswith(f"{KEY_PREFIX}:")]
    return entry


def token_from(server: SmtpServer) -> str:
    [message] = server.messages_to(ADDRESS)
    found = LINK.search(body(message, "plain"))
    assert found is not None
    return found.group(1)


def set_password(app: Flask, token: str, password: str) -> Any:
    client = app.test_client()
    url = f"/password/reset/{token}"
    return post_form(client, url, data={"new": password, "repeat": password}, form=url)


class TestResetMailInTheOutbox:
    def test_a_reset_mail_survives_a_restart(
        self, database: Path, clock: FrozenClock, smtp: SmtpServer
    ) -> None:
        """R10: asked for, then the portal stops before its worker delivered anything;
        the next process finds the mail in the outbox, sends it once, and its link works."""
        first = portal(database, clock, smtp.port)
        ask_for_link(first, "installer1")
        services_of(first).close()
        assert smtp.envelopes == []

        second = portal(database, clock, smtp.port)
        services = services_of(second)
        try:
            assert run_once(services).dispatched.sent >= 1
            run_once(services)  # a second round sends nothing again
            entry = reset_mail(services)
            assert entry.state is DeliveryState.SENT
            [message] = smtp.messages_to(ADDRESS)
            assert message["Message-ID"] == message_id_for(entry.key, "qleads-portal")
            assert message["Subject"] == "Lead Management: Passwort zurücksetzen"
            assert set_password(second, token_from(smtp), "nach-dem-neustart").status_code == 302
            assert (
                log_in(second.test_client(), "installer1", "nach-dem-neustart").status_code == 302
            )
        finally:
            services.close()

    def test_a_mail_server_that_is_down_leaves_the_mail_pending_for_a_retry(
        self, database: Path, clock: FrozenClock
    ) -> None:
        """R10: nothing listens on the mail port; the round retries later instead of
        losing the mail, which keeps its content until the server is back."""
        port = free_port()
        app = portal(database, clock, port)
        services = services_of(app)
        try:
            ask_for_link(app, "installer1")
            assert run_once(services).dispatched.retried >= 1
            entry = reset_mail(services)
            assert entry.state is DeliveryState.PENDING
            assert entry.attempts == 1
            assert entry.last_error
            assert entry.next_attempt_at is not None
            assert entry.next_attempt_at > clock.now()
            assert entry.message is not None
            assert entry.message.content is not None

            server = SmtpServer()
            server.port = port
            server.start()
            try:
                assert run_once(services).dispatched.sent == 0  # its next attempt is not due
                clock.advance(dt.timedelta(minutes=1))
                run_once(services)
                assert reset_mail(services).state is DeliveryState.SENT
                assert set_password(app, token_from(server), "nach-der-stoerung").status_code == 302
            finally:
                server.stop()
        finally:
            services.close()

    def test_a_mail_held_up_past_its_links_life_is_not_sent(
        self, database: Path, clock: FrozenClock
    ) -> None:
        """A link works for an hour: a mail server that comes back later gets no dead
        link to deliver. The row is marked obsolete and its content wiped."""
        port = free_port()
        app = portal(database, clock, port)
        services = services_of(app)
        try:
            ask_for_link(app, "installer1")
            run_once(services)
            clock.advance(dt.timedelta(hours=1))
            server = SmtpServer()
            server.port = port
            server.start()
            try:
                assert run_once(services).dispatched.skipped >= 1
                assert server.messages_to(ADDRESS) == []
            finally:
                server.stop()
            entry = reset_mail(services)
            assert entry.state is DeliveryState.SENT
            assert entry.message_id == "obsolete"
            assert entry.message is not None
            assert entry.message.content is None
        finally:
            services.close()
