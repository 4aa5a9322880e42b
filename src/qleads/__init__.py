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
from qleads.desk import SYSTEM_ACTOR, IntakeResult, LeadDesk, SweepReport, TabPage
from qleads.desk.decline import Repetition
from qleads.errors import (
    ClaimExpired,
    ConfigurationError,
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
from qleads.ladder import Ladder, LadderAction, Situation, Step, Unit
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
    "Deadline",
    "DeadlineKind",
    "Decline",
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
    "Ladder",
    "LadderAction",
    "Lead",
    "LeadDeclined",
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
    "Repetition",
    "Roof",
    "RowView",
    "SalesRep",
    "Situation",
    "StaleUpdate",
    "Status",
    "Step",
    "StorageError",
    "SweepReport",
    "Tab",
    "TabPage",
    "Territory",
    "Unit",
]
