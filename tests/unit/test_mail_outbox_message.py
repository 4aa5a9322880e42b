"""An embedder's outbox message (R10): what makes one well-formed, and the text-only mail
:func:`~qleads.mail.compose` builds from it, whose headers no caller's text can add to."""

from __future__ import annotations

import base64
import datetime as dt
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qleads.errors import InvalidInput
from qleads.mail import (
    OutboxEntry,
    OutboxMessage,
    PermanentMailError,
    RenderedMail,
    compose,
)
from qleads.model import Notification, NotificationKind
from qleads.testing.profiles import examples

T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.UTC)
CONTENT = RenderedMail(subject="Passwort zurücksetzen", text="Der Link: https://x.example/r/1")
TEXT_HEADERS = [
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
]


def message(**changes: object) -> OutboxMessage:
    values: dict[str, object] = {
        "key": "password-reset:7:a1b2",
        "to_address": "anna@example.org",
        "content": CONTENT,
        "created_at": T0,
    }
    values.update(changes)
    return OutboxMessage(**values)  # type: ignore[arg-type]


class TestWellFormed:
    @pytest.mark.parametrize(
        "key",
        ["", "7:2:assigned:anna", "mit leerzeichen", "tab\there", "ümlaut", "x" * 201, "-x"],
    )
    def test_a_key_is_printable_ascii_starting_with_a_letter(self, key: str) -> None:
        """Notification keys start with the lead id: a message can never take one."""
        with pytest.raises(InvalidInput) as refused:
            message(key=key)
        assert refused.value.field == "key"

    def test_the_longest_key_is_200_characters(self) -> None:
        assert message(key="k" * 200).key == "k" * 200

    @pytest.mark.parametrize(
        "address",
        [
            "",
            "anna",
            "@example.org",
            "anna@",
            "anna @example.org",
            "anna@example.org\r\nBcc: x@example.org",
            "=?utf-8?q?x?=@example.org",
            "a\u2028b@example.org",
            f"{'a' * 310}@example.org",
        ],
    )
    def test_the_address_is_one_plain_address(self, address: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            message(to_address=address)
        assert refused.value.field == "to_address"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"created_at": dt.datetime(2026, 11, 16, 8, 0)}, "created_at"),
            ({"expires_at": dt.datetime(2026, 11, 16, 9, 0)}, "expires_at"),
            ({"to_name": "x" * 201}, "to_name"),
            ({"to_name": "An\x00na"}, "to_name"),
            ({"content": RenderedMail(subject=" ", text="t")}, "subject"),
            ({"content": RenderedMail(subject="s", text="\n")}, "text"),
            ({"content": RenderedMail(subject="s", text="t", html="")}, "html"),
            ({"content": RenderedMail(subject="s\x00", text="t")}, "subject"),
            ({"content": RenderedMail(subject="s", text="t\ud800")}, "text"),
            ({"content": RenderedMail(subject="s", text="t", html="\x00")}, "html"),
            ({"content": RenderedMail(subject="s", text="t" * 1_000_000)}, "content"),
        ],
    )
    def test_bad_fields_are_named(self, changes: dict[str, object], field: str) -> None:
        """Bad input gets an error naming the field; NUL and lone surrogates are refused
        by every adapter alike (no database stores them)."""
        with pytest.raises(InvalidInput) as refused:
            message(**changes)
        assert refused.value.field == field

    def test_a_wiped_message_has_no_content(self) -> None:
        assert message(content=None).content is None

    def test_an_entry_holds_a_notification_or_a_message(self) -> None:
        notice = Notification("1:1:new_lead:anna", NotificationKind.NEW_LEAD, 1, "anna", T0)
        assert OutboxEntry(notice).kind == "new_lead"
        assert OutboxEntry(message=message()).key == "password-reset:7:a1b2"
        with pytest.raises(ValueError, match="notification or a message"):
            OutboxEntry()
        with pytest.raises(ValueError, match="notification or a message"):
            OutboxEntry(notice, message=message())


def _encoded_word(text: str, encoding: str) -> str:
    raw = text.encode("utf-8")
    if encoding == "b":
        return f"=?utf-8?b?{base64.b64encode(raw).decode()}?="
    return "=?utf-8?q?" + "".join(f"={b:02X}" for b in raw) + "?="


_HOSTILE = st.text(max_size=60) | st.builds(
    _encoded_word,
    st.text(max_size=30) | st.just("\r\nBcc: x@example.org\r\n\r\nBody"),
    st.sampled_from(["q", "b"]),
)


class TestTextOnlyMail:
    def test_a_mail_without_html_is_one_text_part(self) -> None:
        sent = compose(
            CONTENT, to_name="Anna", to_address="anna@example.org", message_id="<1@x>", date=T0
        )
        parsed = message_from_bytes(sent.as_bytes(), policy=default_policy)
        assert [p.get_content_type() for p in parsed.walk()] == ["text/plain"]
        assert sorted(parsed.keys()) == sorted(TEXT_HEADERS)
        assert "https://x.example/r/1" in parsed.get_content()

    @settings(deadline=None, max_examples=examples(3))
    @given(subject=_HOSTILE, name=_HOSTILE)
    def test_no_callers_subject_or_name_adds_a_header(self, subject: str, name: str) -> None:
        """R10: whatever an embedder puts in the subject and the name, the text-only mail
        has exactly the headers compose sets and one recipient."""
        content = RenderedMail(subject=subject or "x", text="Text")
        sent = compose(content, to_name=name, to_address="anna@example.org",
                       message_id="<1@x>", date=T0)  # fmt: skip
        parsed = message_from_bytes(sent.as_bytes(), policy=default_policy)
        assert sorted(parsed.keys()) == sorted(TEXT_HEADERS)
        assert [a.addr_spec for a in parsed["To"].addresses] == ["anna@example.org"]
        assert not any(ord(ch) < 32 for ch in str(parsed["Subject"]))

    def test_a_decoded_line_break_is_refused_even_past_header_text(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("qleads.mail.render.header_text", lambda value, limit=200: value)
        content = RenderedMail(subject="=?utf-8?q?Hallo=0D=0ABcc:_x@example.org?=", text="t")
        with pytest.raises(PermanentMailError):
            compose(content, to_name="A", to_address="a@example.org", message_id="<1@x>",
                    date=T0)  # fmt: skip
