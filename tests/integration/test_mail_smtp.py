"""``SmtpMailer`` against a real SMTP server: what is accepted, and how each failure is
classified (R10: transient ones are retried, permanent ones are not)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from mail_support import HangUpServer, SmtpServer, free_port

from qleads.adapters.smtp import SmtpMailer, classify_reply
from qleads.errors import ConfigurationError
from qleads.mail import PermanentMailError, TransientMailError


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer()
    smtp.start()
    yield smtp
    smtp.stop()


def message(to: str, subject: str = "Hallo") -> EmailMessage:
    m = EmailMessage()
    m["To"] = to
    m["Subject"] = subject
    m.set_content("Text")
    return m


class TestSmtpMailer:
    def test_sends_with_sender_and_keeps_the_connection(self, server: SmtpServer) -> None:
        """R10: the envelope sender and ``From`` are the configured sender."""
        with SmtpMailer("127.0.0.1", server.port, sender="Leads <leads@example.com>") as mailer:
            mailer.send(message("anna@example.org"))
            mailer.send(message("bob@example.org"))
        [a, b] = server.wait_for(2)
        assert a.mail_from == "leads@example.com"
        assert a.message["From"] == "Leads <leads@example.com>"
        assert b.rcpt_tos == ["bob@example.org"]

    def test_550_is_permanent(self, server: SmtpServer) -> None:
        """R10: a refused mailbox will never accept the message."""
        server.handler.reject.add("nobody@example.org")
        with SmtpMailer("127.0.0.1", server.port) as mailer:
            with pytest.raises(PermanentMailError) as caught:
                mailer.send(message("nobody@example.org"))
            assert caught.value.reply_code == 550
            mailer.send(message("anna@example.org"))  # the connection still works
        assert len(server.wait_for(1)) == 1

    def test_server_down_is_transient_and_unreachable(self) -> None:
        """R10: connection refused is retried later, for the whole batch."""
        mailer = SmtpMailer("127.0.0.1", free_port(), timeout=2)
        with pytest.raises(TransientMailError) as caught:
            mailer.send(message("anna@example.org"))
        assert caught.value.unreachable

    def test_reconnects_after_the_server_restarts(self, server: SmtpServer) -> None:
        """A kept connection that the server dropped is replaced once."""
        with SmtpMailer("127.0.0.1", server.port) as mailer:
            mailer.send(message("anna@example.org"))
            server.stop()
            server.start()
            mailer.send(message("bob@example.org"))
        assert [e.rcpt_tos for e in server.wait_for(2)] == [
            ["anna@example.org"],
            ["bob@example.org"],
        ]

    def test_kept_and_fresh_connection_both_dropped_is_transient(self, server: SmtpServer) -> None:
        """R10: a kept connection that dropped, and a fresh one that drops too, is a
        server not reachable now (a retry for the whole batch), never a raw smtplib
        error that would abort the dispatch round."""
        with SmtpMailer("127.0.0.1", server.port, timeout=2) as mailer:
            mailer.send(message("anna@example.org"))
            server.stop()
            with HangUpServer(server.port) as hang_up, pytest.raises(TransientMailError) as caught:
                mailer.send(message("bob@example.org"))
            assert caught.value.unreachable
            assert hang_up.connections == 1  # one fresh attempt, no more

    def test_421_is_transient_and_unreachable(self, server: SmtpServer) -> None:
        """R10: 421 says the server is closing the connection: retried later, for the
        whole batch; the next message gets a new connection."""

        async def closing(*_: object) -> str:
            return "421 4.3.2 Service not available, closing channel"

        server.handler.handle_DATA = closing  # type: ignore[method-assign]
        with SmtpMailer("127.0.0.1", server.port, timeout=2) as mailer:
            with pytest.raises(TransientMailError) as caught:
                mailer.send(message("anna@example.org"))
            assert caught.value.unreachable
            assert caught.value.reply_code == 421
            del server.handler.handle_DATA  # the server is fine again
            mailer.send(message("bob@example.org"))
        assert [e.rcpt_tos for e in server.wait_for(1)] == [["bob@example.org"]]

    def test_starttls_against_a_server_without_it_is_transient(self, server) -> None:
        """A TLS setting the server cannot meet is a configuration problem: retried
        (once fixed), never a permanent failure of the message."""
        mailer = SmtpMailer("127.0.0.1", server.port, security="starttls")
        with pytest.raises(TransientMailError):
            mailer.send(message("anna@example.org"))

    def test_reply_codes(self) -> None:
        assert isinstance(classify_reply(451, "later"), TransientMailError)
        assert isinstance(classify_reply(552, "too big"), PermanentMailError)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"security": "tls"},
            {"username": "u"},
            {"sender": "not an address"},
        ],
    )
    def test_bad_settings_are_configuration_errors(self, kwargs) -> None:
        with pytest.raises(ConfigurationError):
            SmtpMailer("127.0.0.1", 25, **kwargs)
