"""The mails of R10, rendered as text and HTML in the recipient's language.

German is the default; a recipient whose ``language`` starts with ``en`` reads English.
Dates and times are shown in the recipient's own time zone (his calendar's, R9), with
Babel for the locale: the claim hold of a Saxon installer reads "bis Dienstag,
17.11.2026, 16:00 Uhr". Every mail links to the lead (``{base_url}/leads/{id}``).

Everything that comes from a lead document is untrusted: HTML is escaped, and nothing
reaches a header with CR, LF, NUL or any other control character in it, nor with the
``=?`` that opens an RFC 2047 encoded word (:func:`header_text`), so neither a lead named
``"Max\\r\\nBcc: x@example.org"`` nor one whose city is an encoded word spelling
``"\\r\\nBcc: …"`` can add a header or a recipient. Python's ``email`` package decodes
encoded words when a header is set, and before the fix of CVE-2024-6923 it wrote a decoded
line break out as it was; :func:`compose` does not rely on either: it checks the finished
message's headers itself. Contact names appear only where R16 lets the recipient see them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import unicodedata
from collections.abc import Sequence
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as email_policy
from email.utils import format_datetime as rfc2822_date
from typing import Final
from zoneinfo import ZoneInfo

import attrs
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from qleads.mail.errors import PermanentMailError
from qleads.model import Admin, Installer, Lead, Notification, NotificationKind, Policy, SalesRep

__all__ = [
    "Recipient",
    "RenderedMail",
    "Renderer",
    "compose",
    "header_text",
    "message_id_for",
]

Recipient = Installer | SalesRep | Admin

_DEFAULT_TZ = "Europe/Berlin"
_SUBJECT_LIMIT = 200
#: What opens an RFC 2047 encoded word; never passed on from untrusted text.
_ENCODED_WORD = "=?"

#: Kinds whose recipient holds the lead or oversees it, so R16 shows him the contact.
_CONTACT_VISIBLE = frozenset(
    {
        NotificationKind.ASSIGNED,
        NotificationKind.ASSIGNMENT_REMINDER,
        NotificationKind.FOLLOW_UP_DUE,
        NotificationKind.ESCALATION,
    }
)

_SUBJECTS: dict[str, dict[NotificationKind, str]] = {
    "de": {
        NotificationKind.NEW_LEAD: "Neue Anfrage {id}: {place}",
        NotificationKind.ASSIGNED: "Anfrage {id} wurde Ihnen zugeteilt: {who}",
        NotificationKind.ASSIGNMENT_REMINDER: "Erinnerung: Anfrage {id} wartet auf Sie ({who})",
        NotificationKind.CLAIM_EXPIRED: "Reservierung abgelaufen: Anfrage {id}, {place}",
        NotificationKind.FOLLOW_UP_DUE: "Wiedervorlage fällig: Anfrage {id} ({who})",
        NotificationKind.ESCALATION: "Eskalation: Anfrage {id} ohne Bearbeitung ({who})",
    },
    "en": {
        NotificationKind.NEW_LEAD: "New lead {id}: {place}",
        NotificationKind.ASSIGNED: "Lead {id} has been assigned to you: {who}",
        NotificationKind.ASSIGNMENT_REMINDER: "Reminder: lead {id} is waiting for you ({who})",
        NotificationKind.CLAIM_EXPIRED: "Claim expired: lead {id}, {place}",
        NotificationKind.FOLLOW_UP_DUE: "Follow-up due: lead {id} ({who})",
        NotificationKind.ESCALATION: "Escalation: lead {id} not worked on ({who})",
    },
}

_INTROS: dict[str, dict[NotificationKind, str]] = {
    "de": {
        NotificationKind.NEW_LEAD: "In Ihrem Gebiet ist eine neue Anfrage verfügbar. "
        "Beanspruchen Sie sie, wenn Sie sie bearbeiten möchten.",
        NotificationKind.ASSIGNED: "Ihr Vertriebsmitarbeiter hat Ihnen diese Anfrage zugeteilt.",
        NotificationKind.ASSIGNMENT_REMINDER: "Für diese Ihnen zugeteilte Anfrage wurde "
        "noch kein Status erfasst.",
        NotificationKind.CLAIM_EXPIRED: "Ihre Reservierung dieser Anfrage ist abgelaufen, "
        "ohne dass ein Status erfasst wurde. Die Anfrage ist wieder für alle verfügbar.",
        NotificationKind.FOLLOW_UP_DUE: "Die Wiedervorlage dieser Anfrage ist fällig.",
        NotificationKind.ESCALATION: "Für diese zugeteilte Anfrage wurde auch nach der "
        "Erinnerung kein Status erfasst.",
    },
    "en": {
        NotificationKind.NEW_LEAD: "A new lead is available in your territory. "
        "Claim it if you want to work on it.",
        NotificationKind.ASSIGNED: "Your sales representative has assigned this lead to you.",
        NotificationKind.ASSIGNMENT_REMINDER: "No status has been recorded yet for this "
        "lead assigned to you.",
        NotificationKind.CLAIM_EXPIRED: "Your claim on this lead expired without a recorded "
        "status. The lead is available to everyone again.",
        NotificationKind.FOLLOW_UP_DUE: "The follow-up date of this lead has come.",
        NotificationKind.ESCALATION: "No status has been recorded for this assigned lead, "
        "even after the reminder.",
    },
}

_DEADLINES: dict[str, dict[NotificationKind, str]] = {
    "de": {
        NotificationKind.ASSIGNED: "Bitte erfassen Sie einen Status bis {when}.",
        NotificationKind.ASSIGNMENT_REMINDER: "Bitte erfassen Sie einen Status bis {when}.",
        NotificationKind.FOLLOW_UP_DUE: "Wiedervorlage fällig seit {when}.",
        NotificationKind.NEW_LEAD: "Frist: bis {when}.",
        NotificationKind.CLAIM_EXPIRED: "Frist: bis {when}.",
        NotificationKind.ESCALATION: "Frist: bis {when}.",
    },
    "en": {
        NotificationKind.ASSIGNED: "Please record a status by {when}.",
        NotificationKind.ASSIGNMENT_REMINDER: "Please record a status by {when}.",
        NotificationKind.FOLLOW_UP_DUE: "Follow-up due since {when}.",
        NotificationKind.NEW_LEAD: "Deadline: {when}.",
        NotificationKind.CLAIM_EXPIRED: "Deadline: {when}.",
        NotificationKind.ESCALATION: "Deadline: {when}.",
    },
}

_WORDS: dict[str, dict[str, str]] = {
    "de": {
        "greeting": "Guten Tag {name},",
        "lead": "Anfrage",
        "place": "PLZ und Ort",
        "received": "Eingang",
        "modules": "Anzahl Module",
        "storage": "Interesse an Speicher",
        "savings": "Ersparnis pro Jahr",
        "customer": "Kunde",
        "yes": "Ja",
        "no": "Nein",
        "open": "Anfrage öffnen",
        "footer": "Diese Nachricht wurde automatisch vom Lead Management Tool versandt.",
        "digest_subject": "Ihre neuen Anfragen vom {day} ({count})",
        "digest_intro": "Diese neuen Anfragen in Ihrem Gebiet sind noch verfügbar:",
        "datetime": "EEEE, dd.MM.yyyy, HH:mm 'Uhr'",
        "date": "dd.MM.yyyy",
    },
    "en": {
        "greeting": "Hello {name},",
        "lead": "Lead",
        "place": "Postal code and city",
        "received": "Received",
        "modules": "Number of modules",
        "storage": "Interested in storage",
        "savings": "Savings per year",
        "customer": "Customer",
        "yes": "Yes",
        "no": "No",
        "open": "Open the lead",
        "footer": "This message was sent automatically by the Lead Management Tool.",
        "digest_subject": "Your new leads of {day} ({count})",
        "digest_intro": "These new leads in your territory are still available:",
        "datetime": "EEEE, d MMMM y, HH:mm",
        "date": "d MMM y",
    },
}


def header_text(value: str, limit: int = _SUBJECT_LIMIT) -> str:
    """``value`` made safe for a header: every control or separator character (CR, LF,
    NUL, U+2028 …) becomes a space, runs of whitespace collapse, every ``=?`` becomes
    ``= ?``, and the result is cut to ``limit`` characters. This is why no lead data can
    inject a header (R10).

    ``=?`` opens an RFC 2047 encoded word, which mail programs decode for display and
    Python's ``email`` package decodes as soon as a header is set: a city of
    ``=?utf-8?q?Leipzig=0D=0ABcc:_x@example.org?=`` would otherwise come out as a line
    break and a ``Bcc``. Broken up, it stays the literal text it was sent as."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in value
    )
    text = " ".join(cleaned.split()).replace(_ENCODED_WORD, "= ?")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def message_id_for(key: str, domain: str = "qleads") -> str:
    """The stable ``Message-ID`` of a notification: the same key always yields the same
    id, so a re-send after a crash between the server's 250 and the "sent" mark is
    recognisably the same message (R10)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{header_text(domain, 255) or 'qleads'}>"


def language_of(recipient: Recipient) -> str:
    return "en" if recipient.language.lower().startswith("en") else "de"


def zone_of(recipient: Recipient) -> ZoneInfo:
    if isinstance(recipient, Installer | SalesRep):
        return ZoneInfo(recipient.calendar.tz or _DEFAULT_TZ)
    return ZoneInfo(_DEFAULT_TZ)


@attrs.frozen
class RenderedMail:
    """A mail's content before addressing. The renderer's ``subject`` is already
    header-safe; :func:`compose` makes it so again whoever wrote it (an embedder's
    :class:`~qleads.mail.outbox.OutboxMessage`). Without ``html`` the mail is plain text
    alone."""

    subject: str
    text: str
    html: str | None = None


@attrs.frozen
class _Row:
    label: str
    value: str


class Renderer:
    """Turns a notification and its lead into a mail for one recipient.

    ``base_url`` is where the portal runs (the deep link is ``{base_url}/leads/{id}``);
    ``policy`` decides whether a new-lead notice may name the customer (R16).
    """

    def __init__(
        self, base_url: str, *, policy: Policy | None = None, currency: str = "EUR"
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy if policy is not None else Policy()
        self.currency = currency

    def link(self, lead_id: int) -> str:
        return f"{self.base_url}/leads/{lead_id}"

    def render(self, notification: Notification, lead: Lead, recipient: Recipient) -> RenderedMail:
        """The mail for ``notification`` (R10), in ``recipient``'s language and zone."""
        lang = language_of(recipient)
        kind = notification.kind
        words = _WORDS[lang]
        show_contact = kind in _CONTACT_VISIBLE or (
            kind is NotificationKind.NEW_LEAD and self.policy.contact_before_claim == "shown"
        )
        place = f"{lead.document.contact.postal_code} {lead.document.contact.city}".strip()
        who = lead.document.contact.name.strip() if show_contact else ""
        subject = _SUBJECTS[lang][kind].format(id=lead.id, place=place, who=who or place)
        paragraphs = [_INTROS[lang][kind]]
        deadline = notification.deadline_at or lead.running_deadline
        if deadline is not None:
            when = self._when(deadline, recipient, lang)
            paragraphs.append(_DEADLINES[lang][kind].format(when=when))
        rows = self._rows(lead, recipient, lang, contact=who)
        return self._mail(header_text(subject), recipient, paragraphs, [(lead.id, rows)], words)

    def render_digest(
        self, installer: Installer, leads: Sequence[Lead], day: dt.date
    ) -> RenderedMail:
        """One daily mail listing ``leads`` (the digest option of R10)."""
        lang = language_of(installer)
        words = _WORDS[lang]
        subject = words["digest_subject"].format(
            day=format_date(day, words["date"], locale=lang), count=len(leads)
        )
        contact = self.policy.contact_before_claim == "shown"
        blocks = [
            (
                lead.id,
                self._rows(
                    lead, installer, lang, contact=lead.document.contact.name if contact else ""
                ),
            )
            for lead in leads
        ]
        return self._mail(header_text(subject), installer, [words["digest_intro"]], blocks, words)

    # --- parts ------------------------------------------------------------------------

    def _when(self, instant: dt.datetime, recipient: Recipient, lang: str) -> str:
        return format_datetime(
            instant, _WORDS[lang]["datetime"], tzinfo=zone_of(recipient), locale=lang
        )

    def _rows(self, lead: Lead, recipient: Recipient, lang: str, *, contact: str) -> list[_Row]:
        words = _WORDS[lang]
        received = lead.received_at.astimezone(zone_of(recipient))
        c = lead.document.contact
        rows = [
            _Row(words["lead"], str(lead.id)),
            _Row(words["place"], f"{c.postal_code} {c.city}".strip()),
            _Row(words["received"], format_date(received.date(), words["date"], locale=lang)),
            _Row(words["modules"], str(lead.document.roof.module_count)),
            _Row(words["storage"], words["yes" if lead.document.roof.storage_interest else "no"]),
            _Row(
                words["savings"],
                format_currency(lead.document.costs.per_year.savings, self.currency, locale=lang),
            ),
        ]
        if contact.strip():
            rows.insert(1, _Row(words["customer"], contact.strip()))
        return rows

    def _mail(
        self,
        subject: str,
        recipient: Recipient,
        paragraphs: Sequence[str],
        blocks: Sequence[tuple[int, Sequence[_Row]]],
        words: dict[str, str],
    ) -> RenderedMail:
        greeting = words["greeting"].format(name=recipient.name)
        text_parts = [greeting, "", *(p for para in paragraphs for p in (para, ""))]
        html_parts = [f"<p>{html.escape(greeting)}</p>"]
        html_parts += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
        for lead_id, rows in blocks:
            width = max(len(r.label) for r in rows)
            text_parts += [f"{r.label + ':':<{width + 1}} {r.value}" for r in rows]
            text_parts += [f"{words['open']}: {self.link(lead_id)}", ""]
            cells = "".join(
                f'<tr><th align="left">{html.escape(r.label)}</th>'
                f"<td>{html.escape(r.value)}</td></tr>"
                for r in rows
            )
            href = html.escape(self.link(lead_id), quote=True)
            html_parts.append(f"<table>{cells}</table>")
            html_parts.append(f'<p><a href="{href}">{html.escape(words["open"])}</a></p>')
        text_parts += ["-- ", words["footer"]]
        html_parts.append(f"<p><small>{html.escape(words['footer'])}</small></p>")
        body = "\n".join(html_parts)
        lang = "en" if words is _WORDS["en"] else "de"
        document = (
            f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head>\n<body>\n{body}\n</body></html>\n"
        )
        return RenderedMail(subject=subject, text="\n".join(text_parts) + "\n", html=document)


def compose(
    mail: RenderedMail,
    *,
    to_name: str,
    to_address: str,
    message_id: str,
    date: dt.datetime,
    sender: str | None = None,
) -> EmailMessage:
    """The finished ``multipart/alternative`` message (a ``text/plain`` one when ``mail``
    has no HTML). Header values pass through :func:`header_text`; an address with a
    control character in it raises :class:`~qleads.mail.errors.PermanentMailError` (no
    retry will fix it).

    The message is checked before it is handed on: written out and read back, its
    headers must be exactly the ones set here, none may hold a control character once
    decoded, ``To`` must name the recipient alone (without his display name, if that is
    what it takes), and it must have its parts. This holds whatever the Python
    version's ``email`` package does with what it was given, so a message that fails the
    check is never sent: :class:`~qleads.mail.errors.PermanentMailError` says what is
    wrong without quoting a header, which may hold customer data."""
    address = to_address.strip()
    if not address or header_text(address) != address or " " in address:
        raise PermanentMailError(f"invalid recipient address {address!r}")
    message = EmailMessage()
    try:
        message["To"] = Address(display_name=header_text(to_name, 100), addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise PermanentMailError(f"invalid recipient address {address!r}: {exc}") from exc
    if sender is not None:
        message["From"] = header_text(sender, 320)
    message["Subject"] = header_text(mail.subject)
    message["Date"] = rfc2822_date(date.astimezone(dt.UTC))
    message["Message-ID"] = header_text(message_id, 300)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    expected: frozenset[str]
    parts: Sequence[str]
    if mail.html is None:
        expected, parts = _TEXT_HEADERS, _TEXT_PARTS
    else:
        message.add_alternative(mail.html, subtype="html")
        expected, parts = _HEADERS, _ALTERNATIVE_PARTS
    expected |= {"From"} if sender is not None else set()
    problem = _problem(message, expected, parts, address)
    if problem is not None and message["To"].addresses[0].display_name:
        # Python's header folder can lose the quotes of a long display name, and the
        # address with them: the address is what must arrive, the name is courtesy.
        message.replace_header("To", Address(addr_spec=address))
        problem = _problem(message, expected, parts, address)
    if problem is not None:
        raise PermanentMailError(problem)
    return message


#: The headers :func:`compose` sets, ``From`` aside (a mailer fills that in when the
#: message has none), and the two that ``multipart/alternative`` brings.
_HEADERS = frozenset(
    {"To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"}
)
#: A plain-text message has its transfer encoding in the top-level headers.
_TEXT_HEADERS = _HEADERS | {"Content-Transfer-Encoding"}
_ALTERNATIVE_PARTS: Final = ("multipart/alternative", "text/plain", "text/html")
_TEXT_PARTS: Final = ("text/plain",)


def _problem(
    message: EmailMessage, expected: frozenset[str], parts: Sequence[str], address: str
) -> str | None:
    """What is wrong with ``message`` as written and read back, if anything: headers
    other than ``expected`` (or one twice), a header with a control character once
    decoded, a ``To`` that is not ``address`` alone, a body other than its ``parts``.
    Header names are counted, not named: an injected header's name is the lead's text."""
    for name, value in message.items():
        if any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in str(value)):
            return f"header {name} holds a control character once decoded"
    try:
        wire = message.as_bytes()
    except (MessageError, ValueError, UnicodeError) as exc:
        return f"the message cannot be written: {type(exc).__name__}"
    parsed = BytesParser(policy=email_policy).parsebytes(wire)
    names = [name.lower() for name in parsed]
    if sorted(names) != sorted(name.lower() for name in expected):
        odd = len(set(names) ^ {name.lower() for name in expected})
        return f"the message's headers are not the expected set ({odd} differ)"
    to = parsed["To"]
    if [a.addr_spec for a in getattr(to, "addresses", ())] != [address]:
        return "the To header does not name the recipient alone"
    if tuple(part.get_content_type() for part in parsed.walk()) != tuple(parts):
        return "the message's body is not the parts it was composed of"
    return None
