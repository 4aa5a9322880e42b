"""Header injection through RFC 2047 encoded words, as an attacker sends it: through the
intake (whose validation lets such text pass), out of the outbox, over SMTP to a real
server (aiosmtpd), read back there (R10).

Python's ``email`` package decodes an encoded word when a header is set; before the fix
of CVE-2024-6923 (3.11.7 has no fix) it also wrote the decoded line break out as it was,
so a city of ``=?utf-8?q?Leipzig=0D=0ABcc:_…?=`` became a ``Bcc`` header of every
new-lead and assigned mail. Whatever the Python, the received message must have exactly
the headers qleads sets, one recipient, and its own body.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from mail_support import BASE_URL, SmtpServer, World, body

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.adapters.smtp import SmtpMailer
from qleads.mail import Dispatcher, Renderer
from qleads.testing.documents import manual_example_document

#: Adds a ``Reply-To`` and a ``Bcc`` once decoded.
EXTRA_HEADERS = (
    "=?utf-8?q?Leipzig=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_victim@evil.example?="
)
#: Ends the headers once decoded: what follows would be the body.
NEW_BODY = "=?utf-8?b?TGVpcHppZw0KDQpJaHIgS29udG8gd3VyZGUgZ2VzcGVycnQu?="

#: What every mail of the dispatcher carries once the SMTP mailer added ``From``.
EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "mime-version",
    "content-type",
}


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer()
    smtp.start()
    yield smtp
    smtp.stop()


def _raw(source_id: str, field: str, payload: str) -> dict[str, Any]:
    raw = copy.deepcopy(manual_example_document())
    raw["source_id"] = source_id
    raw["contact"][field] = payload
    return raw


@pytest.mark.parametrize("payload", [EXTRA_HEADERS, NEW_BODY], ids=["extra-headers", "new-body"])
@pytest.mark.parametrize("field", ["name", "city", "street"])
def test_encoded_words_in_lead_data_add_no_header_and_keep_the_body(
    server: SmtpServer, field: str, payload: str
) -> None:
    """R10: a lead whose name, city or street is an encoded word hiding a line break
    reaches every recipient — new-lead and assigned mails, German and English — as a
    message with exactly qleads' headers, one recipient and its own two-part body."""
    repository = InMemoryLeadRepository()
    world = World.build(repository)
    first = world.desk.intake(world.source, _raw("inject-1", field, payload)).lead
    second = world.desk.intake(world.source, _raw("inject-2", field, payload)).lead
    with SmtpMailer("127.0.0.1", server.port, timeout=5, sender="leads@example.com") as mailer:
        dispatcher = Dispatcher(
            InMemoryOutbox(repository),
            mailer,
            Renderer(BASE_URL),
            world.directory,
            world.clock,
            leads=repository,
        )
        announced = dispatcher.dispatch_all()
        world.desk.assign(world.rep, first.id, world.anna)
        world.desk.assign(world.rep, second.id, world.bob)
        assigned = dispatcher.dispatch_all()

    assert (announced.sent, announced.failed) == (4, 0)
    assert (assigned.sent, assigned.failed) == (2, 0)
    envelopes = server.wait_for(6)
    assert len(envelopes) == 6
    for envelope in envelopes:
        message = envelope.message
        names = [name.lower() for name in message]
        assert sorted(names) == sorted(EXPECTED_HEADERS)
        assert len(envelope.rcpt_tos) == 1
        [to] = message["To"].addresses
        assert to.addr_spec == envelope.rcpt_tos[0]
        subject = str(message["Subject"])
        assert "\r" not in subject
        assert "\n" not in subject
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        text = body(message, "plain")
        greeting = "Guten Tag" if to.addr_spec == "anna@example.org" else "Hello"
        assert text.startswith(greeting)
        assert f"{BASE_URL}/leads/" in text
        assert "Lead Management Tool" in text.rstrip().splitlines()[-1]
        assert "Ihr Konto wurde gesperrt" not in text

    subjects = {
        (e.rcpt_tos[0], str(e.message["Subject"]).split(" ")[0]) for e in envelopes
    }  # both languages, both kinds
    assert subjects == {
        ("anna@example.org", "Neue"),
        ("bob@example.org", "New"),
        ("anna@example.org", "Anfrage"),
        ("bob@example.org", "Lead"),
    }
    # The text is kept as it was sent, only its encoded-word opener broken up: the city
    # in the new-lead subject, the name in the assigned one.
    inert = payload.replace("=?", "= ?")
    [new_lead, _, assignment] = server.messages_to("anna@example.org")
    shown = {"city": new_lead, "name": assignment}.get(field)
    if shown is not None:
        assert inert in str(shown["Subject"])
