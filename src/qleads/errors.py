"""One exception family for everything qleads refuses (R15).

Every error carries a stable machine ``code`` (for API bodies and logs) and structured
attributes, so that a portal can map it to a response without parsing messages. Where an
error is also one of Python's own kinds, it subclasses that builtin too (like
``attrs.exceptions.FrozenError(AttributeError)``), so generic handlers keep working.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

__all__ = [
    "ClaimCooldown",
    "ClaimExpired",
    "ClaimLimitReached",
    "ClaimRefused",
    "ClaimingPaused",
    "ConfigurationError",
    "DailyClaimLimitReached",
    "DatedBeforeHolding",
    "FieldError",
    "IntakeConflict",
    "InvalidCalendar",
    "InvalidDocument",
    "InvalidInput",
    "InvalidTransition",
    "LeadDeclined",
    "LeadNoLongerAvailable",
    "LeadNotFound",
    "NotPermitted",
    "QleadsError",
    "StaleUpdate",
    "StorageError",
]


class QleadsError(Exception):
    """Base of every error qleads raises on purpose."""

    code: str = "qleads_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description, the shape the intake API answers with."""
        return {"code": self.code, "message": self.message}


@attrs.frozen
class FieldError:
    """One problem with one field of a document; ``path`` is dotted (``roof.tilt_deg``)."""

    path: str
    message: str


class InvalidInput(QleadsError, ValueError):
    """An argument of a use case is malformed (a date in the future, an unknown channel)."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class DatedBeforeHolding(InvalidInput):
    """A status was dated before the claim or assignment that gave its holder the lead
    (R6): work on a lead cannot have happened before he had it. ``held_since`` is the
    earliest instant allowed."""

    code = "dated_before_holding"

    def __init__(self, lead_id: int, held_since: dt.datetime) -> None:
        super().__init__(
            "effective_at",
            f"lies before {held_since.isoformat()}, when lead {lead_id} was claimed or assigned",
        )
        self.lead_id = lead_id
        self.held_since = held_since


class InvalidCalendar(InvalidInput):
    """A calendar was asked for with a country, subdivision, weekday set or zone that
    does not exist (R9)."""

    code = "invalid_calendar"


class InvalidDocument(QleadsError, ValueError):
    """A lead document failed validation (R1). ``errors`` holds every field error at once."""

    code = "invalid_document"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        summary = "; ".join(f"{e.path}: {e.message}" for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"invalid lead document: {summary}{more}")

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [{"path": e.path, "message": e.message} for e in self.errors],
        }


class IntakeConflict(QleadsError):
    """A different document arrived under a ``source_id`` that is already known (R1)."""

    code = "intake_conflict"

    def __init__(self, source_id: str, lead_id: int) -> None:
        super().__init__(
            f"source_id {source_id!r} is already lead {lead_id} with a different document"
        )
        self.source_id = source_id
        self.lead_id = lead_id


class LeadNotFound(QleadsError, LookupError):
    """No such lead, or one the actor may not see (R2: never reveal which)."""

    code = "not_found"

    def __init__(self, lead_id: int | str) -> None:
        super().__init__(f"lead {lead_id} not found")
        self.lead_id = lead_id


class NotPermitted(QleadsError, PermissionError):
    """The actor's role does not allow this action on this lead (R12)."""

    code = "not_permitted"

    def __init__(self, actor_id: str, action: str, lead_id: int | None = None) -> None:
        target = f" on lead {lead_id}" if lead_id is not None else ""
        super().__init__(f"{actor_id} may not {action}{target}")
        self.actor_id = actor_id
        self.action = action
        self.lead_id = lead_id


class InvalidTransition(QleadsError):
    """The action is not allowed from the lead's current status (R3–R7)."""

    code = "invalid_transition"

    def __init__(self, lead_id: int, status: str, action: str) -> None:
        super().__init__(f"lead {lead_id}: cannot {action} a lead in status {status!r}")
        self.lead_id = lead_id
        self.status = status
        self.action = action


class LeadNoLongerAvailable(QleadsError):
    """Another installer claimed or was assigned the lead first (R3: the lost race)."""

    code = "lead_no_longer_available"

    def __init__(self, lead_id: int, message: str | None = None) -> None:
        super().__init__(message or f"lead {lead_id} is no longer available")
        self.lead_id = lead_id


class ClaimExpired(LeadNoLongerAvailable):
    """The claim's hold ran out (R4). From ``hold_until`` on the claim is over, even
    before a sweep has returned the lead to the pool: its holder can no longer record a
    status on it or release it, and the next sweep releases it as R4 says."""

    code = "claim_expired"

    def __init__(self, lead_id: int, hold_until: dt.datetime) -> None:
        super().__init__(lead_id, f"lead {lead_id}: the claim expired at {hold_until.isoformat()}")
        self.hold_until = hold_until

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "hold_until": self.hold_until.isoformat()}


class LeadDeclined(LeadNoLongerAvailable):
    """The installer gave this lead back as lost or spam (``qleads.decline``): it is
    closed for him, and he cannot claim it again."""

    code = "lead_declined"

    def __init__(self, lead_id: int, installer_id: str) -> None:
        super().__init__(
            lead_id, f"lead {lead_id} is closed for {installer_id}: he declined it before"
        )
        self.installer_id = installer_id


class StaleUpdate(QleadsError):
    """The lead changed between reading and writing it; re-read and try again."""

    code = "stale_update"

    def __init__(self, lead_id: int, expected_version: int) -> None:
        super().__init__(
            f"lead {lead_id} changed since version {expected_version}; reload and retry"
        )
        self.lead_id = lead_id
        self.expected_version = expected_version


class StorageError(QleadsError):
    """A storage backend failed in a way qleads cannot interpret (driver errors wrapped)."""

    code = "storage_error"


class ConfigurationError(QleadsError):
    """qleads was set up wrongly (an unknown database URL, missing SMTP settings)."""

    code = "configuration_error"


class ClaimRefused(NotPermitted):
    """A claim the policy's claim limits refuse (:mod:`qleads.limits`): each reason is a
    subclass with its own ``code``; ``until`` is when the installer may claim again (for
    an open-claims limit: when his earliest hold runs out, if nothing ends it sooner)."""

    code = "claim_refused"

    def __init__(
        self, installer_id: str, lead_id: int | None, why: str, until: dt.datetime | None
    ) -> None:
        when = f" until {until.isoformat()}" if until is not None else ""
        QleadsError.__init__(self, f"{installer_id} may not claim: {why}{when}")
        self.actor_id = installer_id
        self.action = "claim"
        self.lead_id = lead_id
        self.installer_id = installer_id
        self.until = until

    def to_dict(self) -> dict[str, object]:
        until = self.until.isoformat() if self.until is not None else None
        return {**super().to_dict(), "until": until}


class ClaimLimitReached(ClaimRefused):
    """He holds as many open claims as the policy's ``max_open_claims`` allows."""

    code = "claim_limit_open"


class DailyClaimLimitReached(ClaimRefused):
    """He claimed ``max_claims_per_day`` leads this business day already."""

    code = "claim_limit_daily"


class ClaimCooldown(ClaimRefused):
    """He released this lead, or let his claim expire, less than
    ``reclaim_cooldown_days`` business days ago."""

    code = "claim_cooldown"


class ClaimingPaused(ClaimRefused):
    """Too many of his claims expired: he is paused from claiming until his rep or an
    admin lifts the pause or it runs out."""

    code = "claiming_paused"
