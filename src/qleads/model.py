"""The domain's values: what a lead is, who acts on it, what happened to it.

Everything here is a frozen attrs class; a change returns a new value (``attrs.evolve``).
None of it knows about storage: adapters map rows to these classes explicitly.
Money is ``Decimal``; instants are aware UTC ``datetime``s.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Literal

import attrs

from qleads.calendar import Calendar
from qleads.lifecycle import Status
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = [
    "Actor",
    "Admin",
    "Channel",
    "Consent",
    "Consumption",
    "Contact",
    "CostRow",
    "Costs",
    "Deadline",
    "DeadlineKind",
    "EcoBalance",
    "EventKind",
    "HistoryEvent",
    "Installer",
    "Lead",
    "LeadDocument",
    "LeadSource",
    "LeadSummary",
    "Notification",
    "NotificationKind",
    "Policy",
    "ReleaseReason",
    "Roof",
    "SalesRep",
    "Territory",
]


# --- the lead document (R1, Anlage 2) -------------------------------------------------


@attrs.frozen
class Contact:
    """Kontaktinformationen. ``name``, ``street``, ``email`` and ``phone`` are the
    personal fields R16 withholds from installers before a claim."""

    name: str
    street: str
    postal_code: str
    city: str
    country: str
    email: str
    phone: str = ""
    reachability: str = ""
    comment: str = ""


@attrs.frozen
class Consumption:
    """Verbrauch."""

    persons: int
    annual_kwh: int
    price_ct_per_kwh: Decimal
    main_usage: str = ""


@attrs.frozen
class Roof:
    """Daten zum Dach."""

    area_m2: Decimal
    tilt_deg: int
    azimuth_deg: int
    modules: str
    module_count: int
    storage_interest: bool


@attrs.frozen
class CostRow:
    """One period of the cost table; savings are derived so they can never disagree."""

    with_pv: Decimal
    without_pv: Decimal

    @property
    def savings(self) -> Decimal:
        return self.without_pv - self.with_pv


@attrs.frozen
class Costs:
    """Kosten pro Monat / pro Jahr / nach 20 Jahren."""

    per_month: CostRow
    per_year: CostRow
    after_20_years: CostRow


@attrs.frozen
class EcoBalance:
    """Ökobilanz nach 20 Jahren."""

    co2_saving_kg: int
    trees_planted: int


@attrs.frozen
class Consent:
    """The customer's agreement to be contacted (UWG §7, Art. 7(1) GDPR, R14): which
    consent text (its version or hash) he agreed to, when, and on which page. None of it
    is personal data, so it is kept after an erasure as proof of what happened."""

    text_version: str
    given_at: dt.datetime
    source_page: str = ""


@attrs.frozen
class LeadDocument:
    """What the solar calculator sends, validated (see ``qleads.intake``)."""

    source_id: str
    contact: Contact
    consumption: Consumption
    roof: Roof
    costs: Costs
    eco_balance: EcoBalance
    received_at: dt.datetime | None = None
    consent: Consent | None = None


# --- actors (R12) ----------------------------------------------------------------------


@attrs.frozen
class Territory:
    """A set of postal-code prefixes within one country, owned by one sales rep."""

    id: str
    name: str
    country: str
    prefixes: frozenset[str]
    rep_id: str


@attrs.frozen
class Installer:
    """A Q.PARTNER. His deadlines run on his own calendar (R9); ``digest_hour`` set means
    one daily mail of new leads at that local hour instead of one mail per lead."""

    id: str
    name: str
    email: str
    rep_id: str
    language: str = "de"
    calendar: Calendar = attrs.field(factory=Calendar)
    digest_hour: int | None = None
    active: bool = True


@attrs.frozen
class SalesRep:
    """Vertriebsmitarbeiter: owns territories, has installers."""

    id: str
    name: str
    email: str
    language: str = "de"
    calendar: Calendar = attrs.field(factory=Calendar)


@attrs.frozen
class Admin:
    """Manages people, territories and policy; sees every lead and may reopen (R12)."""

    id: str
    name: str
    email: str = ""
    language: str = "de"


@attrs.frozen
class LeadSource:
    """The solar calculator (or another channel): may only submit leads (R12)."""

    id: str
    name: str


Actor = Installer | SalesRep | Admin | LeadSource


# --- policy ----------------------------------------------------------------------------


@attrs.frozen
class Policy:
    """The knobs of the rules, with the manual's defaults.

    ``escalation_days`` (R5, beyond the manual) is off when ``None``.
    ``contact_before_claim`` is R16: ``"hidden"`` (default) or ``"shown"``.
    The ``retention_*`` periods are R14, in months (``docs/personal-data.md`` explains
    the defaults): closed leads are anonymised that long after their last status, leads
    nobody ever claimed that long after they arrived, access records purged that long
    after they were written.
    """

    claim_hold_days: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    assignment_reminder_days: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    escalation_days: int | None = None
    contact_before_claim: Literal["hidden", "shown"] = "hidden"
    retention_closed_months: int = attrs.field(default=24, validator=attrs.validators.ge(1))
    retention_unclaimed_months: int = attrs.field(default=12, validator=attrs.validators.ge(1))
    retention_access_log_months: int = attrs.field(default=12, validator=attrs.validators.ge(1))


# --- the lead and its history ----------------------------------------------------------


class Channel(enum.Enum):
    """Kontaktart (R6)."""

    PHONE = "phone"
    EMAIL = "email"
    ON_SITE = "on_site"
    LETTER = "letter"
    OTHER = "other"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        """Its name in the status form (Anlage 3) in ``language`` (:mod:`qleads.texts`)."""
        return translation(language).gettext(_CHANNEL_LABELS[self])


class ReleaseReason(enum.Enum):
    """Why an installer gave a lead back (R7)."""

    NO_TIME = "no_time"
    NO_CAPACITY = "no_capacity"
    OUT_OF_AREA = "out_of_area"
    OTHER = "other"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        """Its name in the release form (Anlage 3) in ``language`` (:mod:`qleads.texts`)."""
        return translation(language).gettext(_REASON_LABELS[self])


#: The message ids of the labels: the manual's German words.
_CHANNEL_LABELS = {
    Channel.PHONE: N_("Telefon"),
    Channel.EMAIL: N_("E-Mail"),
    Channel.ON_SITE: N_("Vor Ort"),
    Channel.LETTER: N_("Brief"),
    Channel.OTHER: N_("Sonstiges"),
}
_REASON_LABELS = {
    ReleaseReason.NO_TIME: N_("Keine Zeit für die Bearbeitung"),
    ReleaseReason.NO_CAPACITY: N_("Keine Kapazitäten für die Umsetzung"),
    ReleaseReason.OUT_OF_AREA: N_("Außerhalb meines Gebiets"),
    ReleaseReason.OTHER: N_("Sonstiger Grund"),
}


class DeadlineKind(enum.Enum):
    """What the sweep (R11) does when a lead's running deadline passes."""

    CLAIM_EXPIRY = "claim_expiry"
    ASSIGNMENT_REMINDER = "assignment_reminder"
    ESCALATION = "escalation"
    FOLLOW_UP_DUE = "follow_up_due"


@attrs.frozen
class Deadline:
    kind: DeadlineKind
    at: dt.datetime


@attrs.frozen
class Lead:
    """A lead as stored. ``version`` grows by one with every change; storage updates are
    conditional on it, which is what makes claims and sweeps race-safe (R3, R11).

    ``deadline`` is the one thing the sweep will do next for this lead, if anything.
    ``due_at`` is the follow-up date (R6) and stays after its reminder fired, so the
    lead can be shown overdue. ``previous_holders`` drives the green marker (R2c).
    """

    id: int
    document: LeadDocument
    received_at: dt.datetime
    territory_id: str | None
    status: Status
    status_at: dt.datetime
    holder_id: str | None = None
    hold_until: dt.datetime | None = None
    due_at: dt.datetime | None = None
    deadline: Deadline | None = None
    previous_holders: frozenset[str] = frozenset()
    version: int = 1

    @property
    def source_id(self) -> str:
        return self.document.source_id

    @property
    def running_deadline(self) -> dt.datetime | None:
        """What a row shows as the deadline (R8): the hold, or the follow-up date."""
        return _running_deadline(self.hold_until, self.due_at)

    def summary(self) -> LeadSummary:
        """This lead as a tab row shows it: every field of its state, by name, and the
        customer's name and place from the document."""
        contact = self.document.contact
        return LeadSummary(
            name=contact.name,
            postal_code=contact.postal_code,
            city=contact.city,
            **{name: getattr(self, name) for name in _STATE},
        )


#: What a lead shares with its summary: every field but the document, in the lead's order.
_STATE = tuple(field.name for field in attrs.fields(Lead) if field.name != "document")


@attrs.frozen
class LeadSummary:
    """A lead as a tab row shows it (R8): its whole state, and of the document only the
    customer's name and place.

    Its fields are :class:`Lead`'s, in the same order, with ``name``, ``postal_code`` and
    ``city`` where the lead has its ``document``; :meth:`Lead.summary` copies the state by
    name, and storage adapters build rows positionally in this order.

    Tab pages carry summaries, not leads. A list never shows more, and rebuilding 50
    documents costs more than the query that found them: on a million leads, where the
    rows of a page are rarely in any cache, it doubled the page's time (bench/HISTORY.md).
    Open one lead (``LeadDesk.get``) for the rest.
    """

    id: int
    name: str
    postal_code: str
    city: str
    received_at: dt.datetime
    territory_id: str | None
    status: Status
    status_at: dt.datetime
    holder_id: str | None = None
    hold_until: dt.datetime | None = None
    due_at: dt.datetime | None = None
    deadline: Deadline | None = None
    previous_holders: frozenset[str] = frozenset()
    version: int = 1

    @property
    def running_deadline(self) -> dt.datetime | None:
        """The hold, or the follow-up date (as :attr:`Lead.running_deadline`)."""
        return _running_deadline(self.hold_until, self.due_at)


def _running_deadline(
    hold_until: dt.datetime | None, due_at: dt.datetime | None
) -> dt.datetime | None:
    return hold_until if hold_until is not None else due_at


class EventKind(enum.Enum):
    """What happened, in the past tense (R13)."""

    RECEIVED = "received"
    CLAIMED = "claimed"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    RECORDED = "recorded"
    RELEASED = "released"
    EXPIRED = "expired"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    FOLLOW_UP_DUE = "follow_up_due"
    REOPENED = "reopened"


@attrs.frozen
class HistoryEvent:
    """One line of a lead's history (R13). ``version`` is the lead version it produced."""

    lead_id: int
    version: int
    kind: EventKind
    actor_id: str
    from_status: Status | None
    to_status: Status
    effective_at: dt.datetime
    recorded_at: dt.datetime
    holder_id: str | None = None
    channel: Channel | None = None
    note: str = ""
    reason: ReleaseReason | None = None
    due_at: dt.datetime | None = None


class NotificationKind(enum.Enum):
    """The mails of R10."""

    NEW_LEAD = "new_lead"
    ASSIGNED = "assigned"
    ASSIGNMENT_REMINDER = "assignment_reminder"
    CLAIM_EXPIRED = "claim_expired"
    FOLLOW_UP_DUE = "follow_up_due"
    ESCALATION = "escalation"


@attrs.frozen
class Notification:
    """An outbox record, written in the same unit of work as the change (R10).

    ``key`` is unique per (lead, lead version, kind, recipient): a lead version is written
    exactly once, so a notification can never be produced twice, and the key doubles as
    the mail's stable Message-ID seed.
    """

    key: str
    kind: NotificationKind
    lead_id: int
    recipient_id: str
    created_at: dt.datetime
    deadline_at: dt.datetime | None = None

    @classmethod
    def for_lead(
        cls,
        kind: NotificationKind,
        lead: Lead,
        recipient_id: str,
        created_at: dt.datetime,
        deadline_at: dt.datetime | None = None,
    ) -> Notification:
        return cls(
            key=f"{lead.id}:{lead.version}:{kind.value}:{recipient_id}",
            kind=kind,
            lead_id=lead.id,
            recipient_id=recipient_id,
            created_at=created_at,
            deadline_at=deadline_at,
        )
