"""qleads: lead distribution for installer networks.

Leads arrive from a lead source, installers claim them or get them assigned by their
sales rep, record their progress or release them, and deadlines on business-day
calendars fire by themselves. ``LeadDesk`` is the one entry point for all of it; storage,
the user directory and the clock are ports (``qleads.ports``) with adapters in
``qleads.adapters``. The rules are numbered R1–R16 in the docs.
"""

from importlib.metadata import PackageNotFoundError, version

from qleads.calendar import Calendar
from qleads.desk import SYSTEM_ACTOR, IntakeResult, LeadDesk, SweepReport, TabPage
from qleads.errors import (
    ClaimExpired,
    ConfigurationError,
    DatedBeforeHolding,
    FieldError,
    IntakeConflict,
    InvalidCalendar,
    InvalidDocument,
    InvalidInput,
    InvalidTransition,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    QleadsError,
    StaleUpdate,
    StorageError,
)
from qleads.lifecycle import Action, Status
from qleads.model import (
    Actor,
    Admin,
    Channel,
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
from qleads.tabs import Tab
from qleads.visibility import ContactView, LeadView, RowView

try:
    __version__ = version("qleads")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
del PackageNotFoundError, version

__all__ = [
    "SYSTEM_ACTOR",
    "Action",
    "Actor",
    "Admin",
    "Calendar",
    "Channel",
    "ClaimExpired",
    "ConfigurationError",
    "Consumption",
    "Contact",
    "ContactView",
    "CostRow",
    "Costs",
    "DatedBeforeHolding",
    "Deadline",
    "DeadlineKind",
    "EcoBalance",
    "EventKind",
    "FieldError",
    "HistoryEvent",
    "Installer",
    "IntakeConflict",
    "IntakeResult",
    "InvalidCalendar",
    "InvalidDocument",
    "InvalidInput",
    "InvalidTransition",
    "Lead",
    "LeadDesk",
    "LeadDocument",
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
    "Roof",
    "RowView",
    "SalesRep",
    "StaleUpdate",
    "Status",
    "StorageError",
    "SweepReport",
    "Tab",
    "TabPage",
    "Territory",
]
