"""The mails of R10, rendered as text and HTML in the recipient's language.

The words come from the catalogs of :mod:`qleads.texts` (German by default, English for
a recipient whose ``language`` is ``en…``, any language a catalog is dropped in for),
the layout from the templates in ``templates/`` (:class:`string.Template`, one file per
part: the mail, a paragraph, a lead's block, a row of it; text and HTML each). Dates and
times are shown in the recipient's own time zone (his calendar's, R9), with Babel for
the locale: the claim hold of a Saxon installer reads "bis Dienstag, 17.11.2026, 16:00
Uhr". Every mail links to the lead (``{base_url}/leads/{id}``) and ends with a footer
that names the product (:class:`Renderer`'s ``product_name`` and ``footer``).

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
import functools
import gettext
import hashlib
import html
import string
import unicodedata
from collections.abc import Mapping, Sequence
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as email_policy
from email.utils import format_datetime as rfc2822_date
from importlib import resources
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

import attrs
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from qleads.errors import ConfigurationError
from qleads.mail.errors import PermanentMailError
from qleads.model import Admin, Installer, Lead, Notification, NotificationKind, Policy, SalesRep
from qleads.texts import N_, SOURCE_LANGUAGE, catalog_language, translation

__all__ = [
    "PRODUCT_NAME",
    "Recipient",
    "RenderedMail",
    "Renderer",
    "compose",
    "header_text",
    "language_of",
    "message_id_for",
    "zone_of",
]

Recipient = Installer | SalesRep | Admin

#: What the mails' footer calls the product unless the renderer is told otherwise.
PRODUCT_NAME = "Lead Management Tool"

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
        NotificationKind.HOLDER_REMINDER,
        NotificationKind.REP_QUEUE,
        NotificationKind.REQUESTED_AGAIN,
    }
)

# The message ids of each kind's sentences; ``$id``, ``$place`` (postal code and city),
# ``$who`` (the customer where R16 shows him, else the place) and ``$when`` are filled in.
_SUBJECTS: Mapping[NotificationKind, str] = MappingProxyType(
    {
        NotificationKind.NEW_LEAD: N_("Neue Anfrage $id: $place"),
        NotificationKind.ASSIGNED: N_("Anfrage $id wurde Ihnen zugeteilt: $who"),
        NotificationKind.ASSIGNMENT_REMINDER: N_("Erinnerung: Anfrage $id wartet auf Sie ($who)"),
        NotificationKind.CLAIM_EXPIRED: N_("Reservierung abgelaufen: Anfrage $id, $place"),
        NotificationKind.FOLLOW_UP_DUE: N_("Wiedervorlage fällig: Anfrage $id ($who)"),
        NotificationKind.ESCALATION: N_("Eskalation: Anfrage $id ohne Bearbeitung ($who)"),
        NotificationKind.CLAIMING_PAUSED: N_(
            "Reservieren pausiert: Reservierung der Anfrage $id abgelaufen, $place"
        ),
        NotificationKind.HOLDER_REMINDER: N_("Erinnerung: Anfrage $id wartet auf Sie ($who)"),
        NotificationKind.WITHDRAWN: N_("Anfrage $id wurde Ihnen entzogen: $place"),
        NotificationKind.REP_QUEUE: N_("Anfrage $id liegt bei Ihnen zur Vermittlung ($who)"),
        NotificationKind.REQUESTED_AGAIN: N_("Kunde hat erneut angefragt: Anfrage $id ($who)"),
    }
)

_INTROS: Mapping[NotificationKind, str] = MappingProxyType(
    {
        NotificationKind.NEW_LEAD: N_(
            "In Ihrem Gebiet ist eine neue Anfrage verfügbar. "
            "Beanspruchen Sie sie, wenn Sie sie bearbeiten möchten."
        ),
        NotificationKind.ASSIGNED: N_(
            "Ihr Vertriebsmitarbeiter hat Ihnen diese Anfrage zugeteilt."
        ),
        NotificationKind.ASSIGNMENT_REMINDER: N_(
            "Für diese Ihnen zugeteilte Anfrage wurde noch kein Status erfasst."
        ),
        NotificationKind.CLAIM_EXPIRED: N_(
            "Ihre Reservierung dieser Anfrage ist abgelaufen, ohne dass ein Status erfasst "
            "wurde. Die Anfrage ist wieder für alle verfügbar."
        ),
        NotificationKind.FOLLOW_UP_DUE: N_("Die Wiedervorlage dieser Anfrage ist fällig."),
        NotificationKind.ESCALATION: N_(
            "Für diese zugeteilte Anfrage wurde auch nach der Erinnerung kein Status erfasst."
        ),
        NotificationKind.CLAIMING_PAUSED: N_(
            "Ein Installateur Ihres Teams hat zu viele Reservierungen ablaufen lassen, "
            "zuletzt die dieser Anfrage, und kann vorerst keine Anfragen reservieren. "
            "Sie oder ein Admin können die Pause im Portal aufheben."
        ),
        NotificationKind.HOLDER_REMINDER: N_(
            "Für diese Anfrage wurde noch kein weiterer Status erfasst."
        ),
        NotificationKind.WITHDRAWN: N_(
            "Für diese Anfrage wurde rechtzeitig kein Status erfasst. Sie wurde Ihnen "
            "entzogen und weitergegeben."
        ),
        NotificationKind.REP_QUEUE: N_(
            "Diese Anfrage wurde an Sie zurückgegeben. Bitte teilen Sie sie zu oder geben "
            "Sie sie frei; der Verlauf zeigt, warum."
        ),
        NotificationKind.REQUESTED_AGAIN: N_(
            "Der Kunde dieser Anfrage hat erneut angefragt. Die neue Anfrage wurde als "
            "Dublette mit dieser verknüpft; was sich geändert hat, sehen Sie bei dieser "
            "Anfrage."
        ),
    }
)

_DEADLINES: Mapping[NotificationKind, str] = MappingProxyType(
    {
        NotificationKind.ASSIGNED: N_("Bitte erfassen Sie einen Status bis $when."),
        NotificationKind.ASSIGNMENT_REMINDER: N_("Bitte erfassen Sie einen Status bis $when."),
        NotificationKind.FOLLOW_UP_DUE: N_("Wiedervorlage fällig seit $when."),
        NotificationKind.NEW_LEAD: N_("Frist: bis $when."),
        NotificationKind.CLAIM_EXPIRED: N_("Frist: bis $when."),
        NotificationKind.ESCALATION: N_("Frist: bis $when."),
        NotificationKind.CLAIMING_PAUSED: N_("Pausiert bis $when."),
        NotificationKind.HOLDER_REMINDER: N_("Bitte erfassen Sie einen Status bis $when."),
        NotificationKind.WITHDRAWN: N_("Frist: bis $when."),
        NotificationKind.REP_QUEUE: N_("Frist: bis $when."),
        NotificationKind.REQUESTED_AGAIN: N_("Frist: bis $when."),
    }
)


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
    """The catalog language the recipient reads (:func:`qleads.texts.catalog_language`)."""
    return catalog_language(recipient.language)


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


class _Words:
    """The words of one language: ``words("Guten Tag $name,", name=…)`` is the message
    translated, its ``$placeholders`` filled in (the values are not read as templates
    themselves). ``locale`` is Babel's, for dates and money. One per language and
    catalog (:func:`_words`); each message is prepared once."""

    def __init__(self, language: str, catalog: gettext.NullTranslations) -> None:
        self.language = language
        self.catalog = catalog
        self.locale = _babel_locale(language)
        self._prepared: dict[str, str] = {}

    def __call__(self, message: str, **values: object) -> str:
        prepared = self._prepared.get(message)
        if prepared is None:
            prepared = _prepare(_usable(message, self.catalog.gettext(message)))
            self._prepared[message] = prepared
        return prepared.format_map(values)


def _usable(message: str, translated: str) -> str:
    """The translation, unless it is no valid template or names other placeholders than
    the message (a catalog that ``python -m qleads.texts.catalog`` never checked): then
    the message itself, so that the mail still goes out, in German there."""
    candidate = string.Template(translated)
    own = set(string.Template(message).get_identifiers())
    if candidate.is_valid() and set(candidate.get_identifiers()) == own:
        return translated
    return message


def _words(recipient: Recipient) -> _Words:
    language = language_of(recipient)
    return _words_of(language, translation(language))


@functools.lru_cache(maxsize=32)
def _words_of(language: str, catalog: gettext.NullTranslations) -> _Words:
    return _Words(language, catalog)


def _babel_locale(language: str) -> str:
    """Babel's locale of a catalog language; a catalog dropped in under a name Babel
    does not know formats dates and money as German does, rather than fail every mail."""
    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return SOURCE_LANGUAGE
    return language


def _prepare(template: str) -> str:
    """``template``, in :class:`string.Template`'s syntax, as a :meth:`str.format_map`
    string that fills it the same way: ``$name`` and ``${name}`` become fields, ``$$`` a
    dollar sign, every other brace stays text. Filling it then needs no regular
    expression per placeholder; a misplaced ``$`` raises ``ValueError`` as
    ``string.Template`` does."""
    parts: list[str] = []
    end = 0
    for match in string.Template.pattern.finditer(template):
        parts.append(_literal(template[end : match.start()]))
        name = match.group("named") or match.group("braced")
        if name is not None:
            parts.append("{" + name + "}")
        elif match.group("escaped") is not None:
            parts.append("$")
        else:
            raise ValueError(f"invalid placeholder at {match.start()} in {template!r}")
        end = match.end()
    parts.append(_literal(template[end:]))
    return "".join(parts)


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@functools.cache
def _template(name: str) -> str:
    """One part of the mails' layout in ``templates/`` (:class:`string.Template` files),
    used byte for byte: every newline in the file is one in the mail, and ``${slot}``
    is filled in."""
    source = resources.files(__package__ or "qleads.mail") / "templates" / name
    return _prepare(source.read_text(encoding="utf-8"))


def _fill(name: str, **slots: str) -> str:
    return _template(name).format_map(slots)


class Renderer:
    """Turns a notification and its lead into a mail for one recipient.

    ``base_url`` is where the portal runs (the deep link is ``{base_url}/leads/{id}``);
    ``policy`` decides whether a new-lead notice may name the customer (R16).
    ``product_name`` is what the footer's sentence calls the product; ``footer``, when
    given, replaces that sentence in every language. Either one blank raises
    :class:`~qleads.errors.ConfigurationError`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        policy: Policy | None = None,
        currency: str = "EUR",
        product_name: str = PRODUCT_NAME,
        footer: str | None = None,
    ) -> None:
        if not product_name.strip():
            raise ConfigurationError("the mails' product name must not be blank")
        if footer is not None and not footer.strip():
            raise ConfigurationError("the mails' footer must not be blank (omit it instead)")
        self.base_url = base_url.rstrip("/")
        self.policy = policy if policy is not None else Policy()
        self.currency = currency
        self.product_name = product_name
        self.footer = footer

    def link(self, lead_id: int) -> str:
        return f"{self.base_url}/leads/{lead_id}"

    def render(self, notification: Notification, lead: Lead, recipient: Recipient) -> RenderedMail:
        """The mail for ``notification`` (R10), in ``recipient``'s language and zone."""
        _ = _words(recipient)
        kind = notification.kind
        show_contact = kind in _CONTACT_VISIBLE or (
            kind is NotificationKind.NEW_LEAD and self.policy.contact_before_claim == "shown"
        )
        place = f"{lead.document.contact.postal_code} {lead.document.contact.city}".strip()
        who = lead.document.contact.name.strip() if show_contact else ""
        subject = _(_SUBJECTS[kind], id=lead.id, place=place, who=who or place)
        paragraphs = [_(_INTROS[kind])]
        deadline = notification.deadline_at or lead.running_deadline
        if deadline is not None:
            paragraphs.append(_(_DEADLINES[kind], when=self._when(deadline, recipient, _)))
        rows = self._rows(lead, recipient, _, contact=who)
        return self._mail(header_text(subject), recipient, paragraphs, [(lead.id, rows)], _)

    def render_digest(
        self, installer: Installer, leads: Sequence[Lead], day: dt.date
    ) -> RenderedMail:
        """One daily mail listing ``leads`` (the digest option of R10)."""
        _ = _words(installer)
        subject = _(
            "Ihre neuen Anfragen vom $day ($count)",
            day=format_date(day, self._date_pattern(_), locale=_.locale),
            count=len(leads),
        )
        contact = self.policy.contact_before_claim == "shown"
        blocks = [
            (
                lead.id,
                self._rows(
                    lead, installer, _, contact=lead.document.contact.name if contact else ""
                ),
            )
            for lead in leads
        ]
        intro = _("Diese neuen Anfragen in Ihrem Gebiet sind noch verfügbar:")
        return self._mail(header_text(subject), installer, [intro], blocks, _)

    # --- parts ------------------------------------------------------------------------

    @staticmethod
    def _date_pattern(_: _Words) -> str:
        # Translators: a Babel (CLDR) date pattern: dd day, MM month, yyyy year; MMM is
        # the month's short name, d and y without leading zeros.
        return _("dd.MM.yyyy")

    def _when(self, instant: dt.datetime, recipient: Recipient, _: _Words) -> str:
        # Translators: a Babel (CLDR) date and time pattern: EEEE the weekday, then the
        # date (see "dd.MM.yyyy") and the time; text in single quotes stays as it is.
        pattern = _("EEEE, dd.MM.yyyy, HH:mm 'Uhr'")
        return format_datetime(instant, pattern, tzinfo=zone_of(recipient), locale=_.locale)

    def _rows(self, lead: Lead, recipient: Recipient, _: _Words, *, contact: str) -> list[_Row]:
        received = lead.received_at.astimezone(zone_of(recipient))
        c = lead.document.contact
        savings = lead.document.costs.per_year.savings
        rows = [
            _Row(_("Anfrage"), str(lead.id)),
            _Row(_("PLZ und Ort"), f"{c.postal_code} {c.city}".strip()),
            _Row(
                _("Eingang"),
                format_date(received.date(), self._date_pattern(_), locale=_.locale),
            ),
            _Row(_("Anzahl Module"), str(lead.document.roof.module_count)),
            _Row(
                _("Interesse an Speicher"),
                _("Ja") if lead.document.roof.storage_interest else _("Nein"),
            ),
            _Row(
                _("Ersparnis pro Jahr"),
                format_currency(savings, self.currency, locale=_.locale),
            ),
        ]
        if contact.strip():
            rows.insert(1, _Row(_("Kunde"), contact.strip()))
        return rows

    def _mail(
        self,
        subject: str,
        recipient: Recipient,
        paragraphs: Sequence[str],
        blocks: Sequence[tuple[int, Sequence[_Row]]],
        _: _Words,
    ) -> RenderedMail:
        greeting = _("Guten Tag $name,", name=recipient.name)
        footer = self.footer
        if footer is None:
            footer = _(
                "Diese Nachricht wurde automatisch vom $product versandt.",
                product=self.product_name,
            )
        opener = _("Anfrage öffnen")
        text = _fill(
            "mail.txt",
            greeting=greeting,
            paragraphs="".join(_fill("paragraph.txt", paragraph=p) for p in paragraphs),
            leads="".join(self._lead_text(i, rows, opener) for i, rows in blocks),
            footer=footer,
        )
        document = _fill(
            "mail.html",
            lang=_.language.replace("_", "-"),
            title=html.escape(subject),
            greeting=html.escape(greeting),
            paragraphs="".join(
                _fill("paragraph.html", paragraph=html.escape(p)) for p in paragraphs
            ),
            leads="".join(self._lead_html(i, rows, opener) for i, rows in blocks),
            footer=html.escape(footer),
        )
        return RenderedMail(subject=subject, text=text, html=document)

    def _lead_text(self, lead_id: int, rows: Sequence[_Row], opener: str) -> str:
        width = max(len(r.label) for r in rows)
        lines = "".join(
            _fill("row.txt", label=r.label, padding=" " * (width - len(r.label)), value=r.value)
            for r in rows
        )
        return _fill("lead.txt", rows=lines, open=opener, link=self.link(lead_id))

    def _lead_html(self, lead_id: int, rows: Sequence[_Row], opener: str) -> str:
        cells = "".join(
            _fill("row.html", label=html.escape(r.label), value=html.escape(r.value)) for r in rows
        )
        href = html.escape(self.link(lead_id), quote=True)
        return _fill("lead.html", rows=cells, open=html.escape(opener), link=href)


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
    if problem is not None and header_text(to_name, 100):
        # Python's header folder can lose the quotes of a long display name, and the
        # address with them, and its parser can fail to read some names back at all:
        # the address is what must arrive, the name is courtesy.
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
    Header names are counted, not named: an injected header's name is the lead's text.
    A header Python's parser fails on while reading it back (it raises ``AttributeError``
    on some display names, such as one that starts with a dot and an encoded word) is a
    problem too, never an exception."""
    try:
        return _read_back(message, expected, parts, address)
    except _PARSER_FAILURES as exc:
        return f"a header cannot be read back: {type(exc).__name__}"


#: What Python's header parser has been seen to raise on text it wrote itself.
_PARSER_FAILURES = (MessageError, AttributeError, IndexError, TypeError, ValueError)


def _read_back(
    message: EmailMessage, expected: frozenset[str], parts: Sequence[str], address: str
) -> str | None:
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
