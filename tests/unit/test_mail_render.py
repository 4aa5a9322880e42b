"""Rendering the mails of R10: language, local deadlines, links, escaping, and headers
that no lead data can break."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from email import message_from_bytes
from email.policy import default as default_policy

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qleads.calendar import Calendar
from qleads.lifecycle import Status
from qleads.mail import PermanentMailError, Renderer, compose, header_text, message_id_for
from qleads.model import (
    Admin,
    Consumption,
    Contact,
    CostRow,
    Costs,
    EcoBalance,
    Installer,
    Lead,
    LeadDocument,
    Notification,
    NotificationKind,
    Policy,
    Roof,
    SalesRep,
)
from qleads.testing.profiles import examples

BASE = "https://leads.example.com/"
RECEIVED = dt.datetime(2026, 11, 13, 9, 30, tzinfo=dt.UTC)
#: Tuesday 17.11.2026 16:00 in Leipzig.
HOLD = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC)
ANNA = Installer("anna", "Anna Solar", "anna@example.org", "rep", calendar=Calendar("DE", "SN"))
BOB = Installer(
    "bob", "Bob Sun", "bob@example.org", "rep", language="en-GB",
    calendar=Calendar("GB"),
)  # fmt: skip


def lead(name: str = "Erika Mustermann", city: str = "Leipzig", **changes: object) -> Lead:
    document = LeadDocument(
        source_id="s-1",
        contact=Contact(name, "Hauptstraße 1", "04107", city, "DE", "kunde@example.net"),
        consumption=Consumption(4, 4500, Decimal("32.00")),
        roof=Roof(Decimal("48.00"), 30, 180, "Q.PEAK DUO", 24, storage_interest=False),
        costs=Costs(
            CostRow(Decimal("15.00"), Decimal("92.00")),
            CostRow(Decimal("180.00"), Decimal("1104.00")),
            CostRow(Decimal("3600.00"), Decimal("22080.00")),
        ),
        eco_balance=EcoBalance(42000, 300),
    )
    base = Lead(
        id=7, document=document, received_at=RECEIVED, territory_id="leipzig",
        status=Status.CLAIMED, status_at=RECEIVED, holder_id="anna", hold_until=HOLD,
    )  # fmt: skip
    return attrs.evolve(base, **changes)  # type: ignore[misc]


def notice(kind: NotificationKind, deadline_at: dt.datetime | None = None) -> Notification:
    return Notification(f"7:2:{kind.value}:anna", kind, 7, "anna", RECEIVED, deadline_at)


def _encoded_word(text: str, encoding: str) -> str:
    """``text`` as an RFC 2047 encoded word: what a mail program would decode."""
    data = text.encode("utf-8")
    if encoding == "b":
        return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="
    return "=?utf-8?q?" + "".join(f"={byte:02X}" for byte in data) + "?="


def _lead_text(size: int) -> st.SearchStrategy[str]:
    """Any text, or an encoded word hiding any text (line breaks and headers included)."""
    hidden = st.text(max_size=size) | st.just("\r\nBcc: x@example.org\r\n\r\nBody")
    words = st.builds(_encoded_word, hidden, st.sampled_from(["q", "b"]))
    return st.text(max_size=size) | words | st.builds("{} {}".format, st.text(max_size=9), words)


class TestLanguageAndDeadline:
    def test_german_by_default_with_local_deadline(self) -> None:
        """R9, R10: the running deadline in the recipient's local time, German words."""
        mail = Renderer(BASE).render(notice(NotificationKind.ASSIGNED, HOLD), lead(), ANNA)
        assert mail.subject == "Anfrage 7 wurde Ihnen zugeteilt: Erika Mustermann"
        assert "bis Dienstag, 17.11.2026, 16:00 Uhr" in mail.text
        assert "https://leads.example.com/leads/7" in mail.text
        assert "Interesse an Speicher: Nein" in mail.text
        assert "Eingang:" in mail.text
        assert "13.11.2026" in mail.text

    def test_english_in_the_recipients_zone(self) -> None:
        """R10: an English recipient in London reads English and his own time."""
        mail = Renderer(BASE).render(notice(NotificationKind.ASSIGNED, HOLD), lead(), BOB)
        assert mail.subject == "Lead 7 has been assigned to you: Erika Mustermann"
        assert "by Tuesday, 17 November 2026, 15:00" in mail.text
        assert "Interested in storage: No" in mail.text

    @pytest.mark.parametrize("kind", list(NotificationKind))
    def test_every_kind_in_both_languages(self, kind: NotificationKind) -> None:
        """R10: every kind renders, with the link, in German and English."""
        for who in (ANNA, BOB):
            mail = Renderer(BASE).render(notice(kind), lead(), who)
            assert "/leads/7" in mail.text
            assert 'href="https://leads.example.com/leads/7"' in mail.html
            assert mail.subject

    def test_rep_and_admin_recipients(self) -> None:
        """R5: the escalation goes to a rep; admins have no calendar (Berlin time)."""
        rep = SalesRep("rep", "Rita", "rita@example.org")
        admin = Admin("root", "Root", "root@example.org", language="en")
        n = notice(NotificationKind.ESCALATION, HOLD)
        assert "Eskalation" in Renderer(BASE).render(n, lead(), rep).subject
        assert "16:00" in Renderer(BASE).render(n, lead(), admin).text


class TestPrivacy:
    def test_new_lead_notice_hides_the_customer(self) -> None:
        """R16: before a claim an installer does not learn who the customer is."""
        pool = lead(status=Status.NEW, holder_id=None, hold_until=None)
        mail = Renderer(BASE).render(notice(NotificationKind.NEW_LEAD), pool, ANNA)
        assert "Erika" not in mail.text + mail.html + mail.subject
        assert mail.subject == "Neue Anfrage 7: 04107 Leipzig"

    def test_new_lead_notice_names_the_customer_when_policy_shows(self) -> None:
        """R16: ``shown`` is the manual's behaviour."""
        pool = lead(status=Status.NEW, holder_id=None, hold_until=None)
        renderer = Renderer(BASE, policy=Policy(contact_before_claim="shown"))
        assert (
            "Erika Mustermann"
            in renderer.render(notice(NotificationKind.NEW_LEAD), pool, ANNA).text
        )


class TestHeaders:
    def test_header_text_drops_control_characters(self) -> None:
        """R10: CR, LF, NUL and Unicode line separators never reach a header."""
        assert header_text("Max\r\nBcc: x@example.org") == "Max Bcc: x@example.org"
        assert header_text("a\x00b\u2028c\u2029d\x85e\tf") == "a b c d e f"
        assert len(header_text("x" * 500)) == 200

    def test_message_id_is_stable_and_well_formed(self) -> None:
        """R10: the same notification key gives the same Message-ID."""
        first = message_id_for("7:2:assigned:anna", "leads.example.com")
        assert first == message_id_for("7:2:assigned:anna", "leads.example.com")
        assert first != message_id_for("7:2:assigned:bob", "leads.example.com")
        assert first.startswith("<")
        assert first.endswith("@leads.example.com>")
        assert len(first) == len("<@leads.example.com>") + 32

    def test_address_with_a_line_break_is_refused(self) -> None:
        """R10: a recipient address is never smuggled into the headers."""
        mail = Renderer(BASE).render(notice(NotificationKind.ASSIGNED), lead(), ANNA)
        with pytest.raises(PermanentMailError):
            compose(mail, to_name="A", to_address="a@example.org\r\nBcc: x@example.org",
                    message_id="<1@x>", date=RECEIVED)  # fmt: skip

    def test_header_text_breaks_up_encoded_words(self) -> None:
        """R10: ``=?`` never reaches a header, so no encoded word is decoded out of lead
        text; the rest stays as it was sent."""
        payload = "=?utf-8?q?Leipzig=0D=0ABcc:_x@example.org?="
        assert header_text(payload) == "= ?utf-8?q?Leipzig=0D=0ABcc:_x@example.org?="
        assert "=?" not in header_text("a=?=?b ==?c")
        assert header_text(header_text(payload)) == header_text(payload)

    def test_a_decoded_line_break_is_refused_even_past_header_text(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """R10: were ``header_text`` ever to let an encoded word through, ``compose``
        still refuses the message instead of sending extra headers (on a Python without
        the CVE-2024-6923 fix as on one with it)."""
        monkeypatch.setattr("qleads.mail.render.header_text", lambda value, limit=200: value)
        mail = attrs.evolve(
            Renderer(BASE).render(notice(NotificationKind.ASSIGNED), lead(), ANNA),
            subject="=?utf-8?q?Hallo=0D=0ABcc:_x@example.org?=",
        )
        with pytest.raises(PermanentMailError) as caught:
            compose(mail, to_name="A", to_address="a@example.org", message_id="<1@x>",
                    date=RECEIVED)  # fmt: skip
        assert "x@example.org" not in caught.value.message

    def test_a_display_name_the_folder_would_break_is_dropped_not_the_address(self) -> None:
        """R10: Python's folder loses the quotes of a long display name with a ``;`` in
        it, and the address with them; the mail then goes to the bare address."""
        mail = Renderer(BASE).render(notice(NotificationKind.ASSIGNED), lead(), ANNA)
        name = "; " + "Solartechnik Mueller GmbH " * 3
        message = compose(
            mail, to_name=name, to_address="anna@example.org", message_id="<1@x>", date=RECEIVED
        )
        parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
        assert [a.addr_spec for a in parsed["To"].addresses] == ["anna@example.org"]
        plain = compose(
            mail, to_name="Anna Solar", to_address="anna@example.org", message_id="<1@x>",
            date=RECEIVED,
        )  # fmt: skip
        assert str(plain["To"]) == "Anna Solar <anna@example.org>"

    def test_a_display_name_python_cannot_read_back_is_dropped_not_the_address(self) -> None:
        """R10: Python's header parser fails (``AttributeError``) on reading back some
        display names it wrote (this one, found by the test below, once folded); the mail
        then goes to the bare address, and ``compose`` raises no error of another family."""
        name = ".=?3=3A=20=78=40=65=78=61=6D=70=6C=65=2E=6F=72=67=0D=0A=0D=0A=42=6F=64=79?="
        mail = Renderer(BASE).render(notice(NotificationKind.ASSIGNED), lead(name=name), ANNA)
        message = compose(
            mail, to_name=name, to_address="anna@example.org", message_id="<1@x>", date=RECEIVED
        )
        parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
        assert [a.addr_spec for a in parsed["To"].addresses] == ["anna@example.org"]
        assert str(parsed["To"]) == "anna@example.org"

    @settings(deadline=None, max_examples=examples(5))
    @given(name=_lead_text(80), city=_lead_text(40))
    def test_no_lead_text_adds_a_header(self, name: str, city: str) -> None:
        """R10: whatever a lead is called, the mail has exactly the headers we set,
        one recipient, and a subject without control characters."""
        mail = Renderer(BASE).render(
            notice(NotificationKind.ASSIGNED, HOLD), lead(name=name, city=city), ANNA
        )
        message = compose(
            mail, to_name=name, to_address="anna@example.org", message_id="<1@x>", date=RECEIVED
        )
        parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
        assert sorted(parsed.keys()) == sorted(
            ["To", "Subject", "Date", "Message-ID", "Auto-Submitted",
             "Content-Type", "MIME-Version"]
        )  # fmt: skip
        assert parsed["To"].addresses[0].addr_spec == "anna@example.org"
        assert len(parsed["To"].addresses) == 1
        assert not any(ord(ch) < 32 for ch in str(parsed["Subject"]))


class TestHtml:
    def test_html_is_escaped(self) -> None:
        """R10: lead data is text, never markup."""
        mail = Renderer(BASE).render(
            notice(NotificationKind.ASSIGNED), lead(name='<b onclick="x">E</b>'), ANNA
        )
        assert "<b onclick" not in mail.html
        assert "&lt;b onclick=&quot;x&quot;&gt;E&lt;/b&gt;" in mail.html

    def test_multipart_alternative(self) -> None:
        """R10: text and HTML parts."""
        mail = Renderer(BASE).render(notice(NotificationKind.ASSIGNED), lead(), ANNA)
        message = compose(
            mail,
            to_name="Anna",
            to_address="anna@example.org",
            message_id="<1@x>",
            date=RECEIVED,
            sender="leads@example.com",
        )
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
