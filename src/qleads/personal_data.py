"""A lead's personal data through its life (R14): who read it, what an erasure leaves,
when retention takes it, what an export holds.

Pure values and rules; the ports that store them are :mod:`qleads.personal_data_ports`,
the use cases :mod:`qleads.desk.personal_data`. What counts as the person is
:data:`ERASED_CONTACT_FIELDS`: the contact but its country and its postal code's first two
digits (the postcode area, which reports and territories keep using).
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

import attrs

from qleads.errors import InvalidInput
from qleads.lifecycle import TERMINAL_STATUSES, Status
from qleads.model import Actor, Admin, Consent, Contact, Installer, Lead, LeadDocument, SalesRep
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = [
    "ERASED_ADDRESS",
    "ERASED_CONTACT_FIELDS",
    "ERASED_MAIL_ERROR",
    "POSTCODE_AREA_DIGITS",
    "REASON_LIMIT",
    "RETENTION_REASON",
    "AccessKind",
    "AccessQuery",
    "AccessRecord",
    "ErasureRecord",
    "ErasureRequest",
    "RetentionCutoffs",
    "anonymised",
    "check_reason",
    "client_address",
    "months_before",
    "person_values",
    "retention_cutoffs",
    "retention_due",
    "role_of",
    "scrubbed",
    "unique_leads",
]

#: The contact fields an erasure empties (R14): everything that names or reaches the
#: person, and the free texts. Postal code and country stay, the code cut to its area.
ERASED_CONTACT_FIELDS = ("name", "street", "city", "email", "phone", "reachability", "comment")
#: How much of the postal code an erased lead keeps: the area (``04`` of ``04107``).
POSTCODE_AREA_DIGITS = 2
#: The reason an erasure by the retention periods records.
RETENTION_REASON = "retention"
#: The longest reason an erasure keeps.
REASON_LIMIT = 500
#: What a mail cancelled by an erasure shows as its error: it was not sent, and nothing
#: of it is left to send.
ERASED_MAIL_ERROR = "cancelled: the recipient's or the lead's personal data was erased"
#: The address an erased recipient's message rows keep (``.invalid`` never delivers).
ERASED_ADDRESS = "erased@erased.invalid"
#: What stands in erased free text for a value that named the person.
_ERASED = "[…]"


class AccessKind(enum.Enum):
    """What someone did with a lead's personal data (R14): one access record each."""

    VIEW = "view"
    LIST = "list"
    PRINT = "print"
    EXPORT = "export"
    ADMIN_READ = "admin_read"
    API = "api"
    ERASURE = "erasure"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        """Its name in an access-log view, in ``language`` (:mod:`qleads.texts`)."""
        return translation(language).gettext(_ACCESS_LABELS[self])


#: The message ids of the labels.
_ACCESS_LABELS = {
    AccessKind.VIEW: N_("Ansicht"),
    AccessKind.LIST: N_("Liste"),
    AccessKind.PRINT: N_("Druckansicht"),
    AccessKind.EXPORT: N_("Auskunft (Export)"),
    AccessKind.ADMIN_READ: N_("Verwaltung"),
    AccessKind.API: N_("API-Abruf"),
    AccessKind.ERASURE: N_("Löschung"),
}


@attrs.frozen
class AccessRecord:
    """One read of one lead's personal data: who (``user_id``, ``role``), which lead,
    what, when, and for a portal the client's address cut to its network
    (:func:`client_address`). ``territory_id`` and ``holder_id`` are the lead's at the
    time, so that a rep sees his territories' records and an installer those of the
    leads he held. Nothing of the customer himself is in it; ``id`` is the log's."""

    user_id: str
    role: str
    lead_id: int
    kind: AccessKind
    at: dt.datetime
    territory_id: str | None = None
    holder_id: str | None = None
    client: str = ""
    id: int = 0


@attrs.frozen
class AccessQuery:
    """A filter over the access log: ``None`` means any. ``territory_ids`` and
    ``holder_id`` carry the reader's scope (R12); ``until`` is exclusive."""

    lead_id: int | None = None
    user_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    territory_ids: frozenset[str] | None = None
    holder_id: str | None = None
    limit: int = 1000


@attrs.frozen
class ErasureRecord:
    """That a lead's personal data was erased: by whom, when and why. It holds none of
    the erased data; ``reason`` is scrubbed of it (:func:`scrubbed`)."""

    lead_id: int
    actor_id: str
    at: dt.datetime
    reason: str


@attrs.frozen
class ErasureRequest:
    """What one erasure hands to storage: every lead to anonymise, the same leads as
    they will read afterwards, the values that named the person (to find them in notes,
    mails and portal records) and the records to write."""

    leads: tuple[Lead, ...]
    anonymised: tuple[Lead, ...]
    values: tuple[str, ...]
    records: tuple[ErasureRecord, ...]

    @property
    def lead_ids(self) -> tuple[int, ...]:
        return tuple(lead.id for lead in self.leads)


def role_of(actor: Actor) -> str:
    """The role an access record names (R12)."""
    if isinstance(actor, Admin):
        return "admin"
    if isinstance(actor, SalesRep):
        return "rep"
    if isinstance(actor, Installer):
        return "installer"
    return "source"


def client_address(address: str | None) -> str:
    """A client's IP address cut to its network, as the access log keeps it (R14,
    data minimisation): IPv4 to its /24 (``203.0.113.0``), IPv6 to its /48. Anything
    that is not an address is refused (:class:`~qleads.errors.InvalidInput`)."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        raise InvalidInput("client", "is not an IP address") from None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def person_values(document: LeadDocument) -> tuple[str, ...]:
    """The values in ``document`` that name or reach the person: what an erasure looks
    for elsewhere (notes, mails, a portal's records). Short values (under four
    characters) are left out, since they would match everywhere; longest first, so a
    scrub replaces "Erika Mustermann" before "Erika"."""
    contact = document.contact
    found = {contact.name, contact.street, contact.email, contact.phone}
    found |= {part for part in contact.name.split() if len(part) >= 4}
    if contact.phone:
        digits = "".join(ch for ch in contact.phone if ch.isdigit())
        found.add(digits)
    found |= {contact.reachability, contact.comment}
    kept = {value.strip() for value in found if len(value.strip()) >= 4}
    return tuple(sorted(kept, key=lambda value: (-len(value), value)))


def scrubbed(text: str, values: Iterable[str]) -> str:
    """``text`` with each of ``values`` replaced (case-insensitively) by a marker."""
    result = text
    for value in values:
        if not value:
            continue
        lowered = result.lower()
        needle = value.lower()
        start = lowered.find(needle)
        while start >= 0:
            result = result[:start] + _ERASED + result[start + len(value) :]
            lowered = result.lower()
            start = lowered.find(needle, start + len(_ERASED))
    return result


def _consent_kept(consent: Consent | None) -> Consent | None:
    """The consent as proof without the person: the page without query or fragment,
    which is where a form could have put his address."""
    if consent is None or not consent.source_page:
        return consent
    parts = urlsplit(consent.source_page)
    page = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    return attrs.evolve(consent, source_page=page)


def anonymised(document: LeadDocument) -> LeadDocument:
    """``document`` without the person (R14): :data:`ERASED_CONTACT_FIELDS` empty, the
    postal code cut to its area, everything else — consumption, roof, costs, the
    received date, the consent as proof — kept. Applying it twice changes nothing."""
    contact = document.contact
    kept = Contact(
        name="",
        street="",
        postal_code=contact.postal_code[:POSTCODE_AREA_DIGITS],
        city="",
        country=contact.country,
        email="",
        phone="",
    )
    return attrs.evolve(document, contact=kept, consent=_consent_kept(document.consent))


def months_before(instant: dt.datetime, months: int) -> dt.datetime:
    """``instant`` moved back by calendar months, the day clamped to the month's end
    (31 March less one month is 28 or 29 February)."""
    index = instant.year * 12 + instant.month - 1 - months
    year, month = divmod(index, 12)
    day = min(instant.day, calendar.monthrange(year, month + 1)[1])
    return instant.replace(year=year, month=month + 1, day=day)


@attrs.frozen
class RetentionCutoffs:
    """The retention periods of a policy as instants before which data is due (R14)."""

    closed_before: dt.datetime
    unclaimed_before: dt.datetime
    access_before: dt.datetime


def retention_cutoffs(
    now: dt.datetime, closed_months: int, unclaimed_months: int, access_months: int
) -> RetentionCutoffs:
    """The cutoffs at ``now``: a lead closed at or before ``closed_before`` is due."""
    return RetentionCutoffs(
        closed_before=months_before(now, closed_months),
        unclaimed_before=months_before(now, unclaimed_months),
        access_before=months_before(now, access_months),
    )


def retention_due(lead: Lead, cutoffs: RetentionCutoffs) -> bool:
    """Whether the retention periods take ``lead`` (R14): closed (won or lost) at or
    before ``closed_before``, or new, never claimed by anyone, and received at or
    before ``unclaimed_before``. Whether it is erased already is storage's to know."""
    if lead.status in TERMINAL_STATUSES:
        return lead.status_at <= cutoffs.closed_before
    return (
        lead.status is Status.NEW
        and lead.holder_id is None
        and not lead.previous_holders
        and lead.received_at <= cutoffs.unclaimed_before
    )


def check_reason(reason: str) -> str:
    """An erasure's reason, stripped; required (Art. 17 asks why) and at most
    :data:`REASON_LIMIT` characters (:class:`~qleads.errors.InvalidInput` naming
    ``reason`` otherwise)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason", "is required")
    text = " ".join(reason.split())
    if len(text) > REASON_LIMIT:
        raise InvalidInput("reason", f"is longer than {REASON_LIMIT} characters")
    return text


def unique_leads(leads: Sequence[Lead]) -> tuple[Lead, ...]:
    """``leads`` without repeats, by id."""
    seen: dict[int, Lead] = {}
    for lead in leads:
        seen.setdefault(lead.id, lead)
    return tuple(seen[key] for key in sorted(seen))
