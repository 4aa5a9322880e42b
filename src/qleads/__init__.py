"""qleads: lead distribution for installer networks.

Leads arrive from a lead source, installers claim them or get them assigned by their
sales rep, record their progress or release them, and deadlines on business-day
calendars fire by themselves. ``LeadDesk`` is the one entry point for all of it; storage,
the user directory and the clock are ports (``qleads.ports``) with adapters in
``qleads.adapters``. The rules are numbered R1–R16 in the docs.
"""

from importlib.metadata import PackageNotFoundError, version

from qleads.calendar import Calendar
from qleads.decline import Decline
from qleads.desk import (
    SYSTEM_ACTOR,
    ErasureResult,
    IntakeResult,
    LeadDesk,
    RetentionReport,
    SweepReport,
    TabPage,
)
from qleads.desk.decline import Repetition
from qleads.errors import (
    ClaimCooldown,
    ClaimExpired,
    ClaimingPaused,
    ClaimLimitReached,
    ClaimRefused,
    ConfigurationError,
    DailyClaimLimitReached,
    DatedBeforeHolding,
    FieldError,
    IntakeConflict,
    InvalidCalendar,
    InvalidDocument,
    InvalidInput,
    InvalidTransition,
    LeadDeclined,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    QleadsError,
    StaleUpdate,
    StorageError,
)
from qleads.explain import InstallerRouting, RoutingExplanation, RoutingReason
from qleads.filters import DeadlineWindow, LeadFilter, SortKey, parse_filter
from qleads.ladder import Ladder, LadderAction, Situation, Step, Unit
from qleads.lifecycle import Action, Status
from qleads.limits import ClaimAllowance, ClaimPause, ClaimStanding
from qleads.model import (
    Actor,
    Admin,
    Channel,
    Consent,
    Consumption,
    Contact,
    CostRow,
    Costs,
    Deadline,
    DeadlineKind,
    EcoBalance,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    LeadDocument,
    LeadSource,
    LeadSummary,
    Notification,
    NotificationKind,
    Policy,
    ReleaseReason,
    Roof,
    SalesRep,
    Territory,
)
from qleads.personal_data import AccessKind, AccessRecord
from qleads.scorecard import Scorecard
from qleads.tabs import Tab
from qleads.visibility import ContactView, LeadView, RowView

try:
    __version__ = version("qleads")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
del PackageNotFoundError, version

__all__ = [
    "SYSTEM_ACTOR",
    "AccessKind",
    "AccessRecord",
    "Action",
    "Actor",
    "Admin",
    "Calendar",
    "Channel",
    "ClaimAllowance",
    "ClaimCooldown",
    "ClaimExpired",
    "ClaimLimitReached",
    "ClaimPause",
    "ClaimRefused",
    "ClaimStanding",
    "ClaimingPaused",
    "ConfigurationError",
    "Consent",
    "Consumption",
    "Contact",
    "ContactView",
    "CostRow",
    "Costs",
    "DailyClaimLimitReached",
    "DatedBeforeHolding",
    "Deadline",
    "DeadlineKind",
    "DeadlineWindow",
    "Decline",
    "EcoBalance",
    "ErasureResult",
    "EventKind",
    "FieldError",
    "HistoryEvent",
    "Installer",
    "InstallerRouting",
    "IntakeConflict",
    "IntakeResult",
    "InvalidCalendar",
    "InvalidDocument",
    "InvalidInput",
    "InvalidTransition",
    "Ladder",
    "LadderAction",
    "Lead",
    "LeadDeclined",
    "LeadDesk",
    "LeadDocument",
    "LeadFilter",
    "LeadNoLongerAvailable",
    "LeadNotFound",
    "LeadSource",
    "LeadSummary",
    "LeadView",
    "NotPermitted",
    "Notification",
    "NotificationKind",
    "Policy",
    "QleadsError",
    "ReleaseReason",
    "Repetition",
    "RetentionReport",
    "Roof",
    "RoutingExplanation",
    "RoutingReason",
    "RowView",
    "SalesRep",
    "Scorecard",
    "Situation",
    "SortKey",
    "StaleUpdate",
    "Status",
    "Step",
    "StorageError",
    "SweepReport",
    "Tab",
    "TabPage",
    "Territory",
    "Unit",
    "parse_filter",
]
