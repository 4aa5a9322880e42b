"""``LeadDesk``: every use case of the product, one method each.

The desk is the only place that changes leads. Each method takes the acting user and
checks R12 itself, so a portal cannot forget a permission check; each change is one unit
of work holding the new lead, its history event (R13) and its outbox notifications (R10),
so they are stored together or not at all. The rules themselves live in pure modules
(``lifecycle``, ``visibility``, ``tabs``, ``calendar``, ``intake``, ``routing``); the desk
composes them.

How the package is laid out
---------------------------
One module per concern, so that a new feature adds a module instead of growing a file:

* :mod:`~qleads.desk.base` — the ports, the clock and the policy every use case reads
  (:class:`~qleads.desk.base.DeskBase`), and the shared steps: the checked clock reading,
  the reader's scope, the note rule, writing one unit of work;
* :mod:`~qleads.desk.changes` — one change of a lead: its next version, its history
  event, its notices;
* :mod:`~qleads.desk.deadlines` — what each deadline does when it fires (R4, R5, R6, R11);
* the use cases: :mod:`~qleads.desk.intake` (R1), :mod:`~qleads.desk.work` (claim,
  record, release), :mod:`~qleads.desk.staff` (assign, reopen),
  :mod:`~qleads.desk.reading` (get, history, tab, counts), :mod:`~qleads.desk.search`
  (search), :mod:`~qleads.desk.sweep`,
  :mod:`~qleads.desk.decline` (decline reasons, the rep's queue, duplicates),
  :mod:`~qleads.desk.personal_data` (access log, export, erasure, retention; R14);
* the escalation ladder's steps: :mod:`~qleads.desk.ladder_steps`; duplicate detection
  at intake: :mod:`~qleads.desk.duplicates`.

Each use-case module defines a class of its use cases that subclasses ``DeskBase``, and
:class:`LeadDesk` is all of them. Mixins over one typed base rather than thin methods
that delegate to use-case functions, because then each use case is written once: its
signature, its keyword defaults and its docstring live where its code does, with
``self.repository``, ``self.clock`` … typed by the base, so ``mypy --strict`` checks every
use case against its ports with no forwarding layer to keep in step. The mixins share no
state but the base's four attributes and define disjoint methods, so their order in
:class:`LeadDesk`'s bases does not matter. What the use cases share besides the ports are
plain functions of :mod:`~qleads.desk.base`, not methods, so that ``LeadDesk``'s
namespace is its ports and its use cases, nothing else.
"""

from __future__ import annotations

from qleads.desk.deadlines import SYSTEM_ACTOR
from qleads.desk.decline import DeclineDesk
from qleads.desk.explain import ExplainDesk
from qleads.desk.intake import IntakeDesk, IntakeResult
from qleads.desk.limits import ClaimLimitsDesk
from qleads.desk.personal_data import ErasureResult, PersonalDataDesk, RetentionReport
from qleads.desk.policies import TerritoryPolicyDesk
from qleads.desk.reading import ReadingDesk, TabPage
from qleads.desk.scorecards import ScorecardDesk
from qleads.desk.search import SearchDesk
from qleads.desk.staff import StaffDesk
from qleads.desk.sweep import SweepDesk, SweepReport
from qleads.desk.work import WorkDesk

__all__ = [
    "SYSTEM_ACTOR",
    "ErasureResult",
    "IntakeResult",
    "LeadDesk",
    "RetentionReport",
    "SweepReport",
    "TabPage",
]


class LeadDesk(
    IntakeDesk,
    WorkDesk,
    StaffDesk,
    ReadingDesk,
    SearchDesk,
    SweepDesk,
    ClaimLimitsDesk,
    TerritoryPolicyDesk,
    ExplainDesk,
    ScorecardDesk,
    DeclineDesk,
    PersonalDataDesk,
):
    """The service object of qleads: construct it once with its ports —
    ``LeadDesk(repository, directory, clock, policy=None)`` — and share it freely (it
    holds no per-request state).

    Its use cases: :meth:`intake` (R1); :meth:`claim`, :meth:`record`, :meth:`release`
    (R3, R6, R7); :meth:`assign`, :meth:`reopen` (R5, R12); :meth:`get`,
    :meth:`history`, :meth:`tab`, :meth:`counts` (R2, R8, R13); :meth:`sweep` (R11);
    the rep's queue and decline reasons: :meth:`queue`, :meth:`return_to_pool`,
    :meth:`unlink_duplicate`, :meth:`confirm_spam`, :meth:`duplicate_of`, :meth:`repetitions`,
    :meth:`decline_reasons`, :meth:`decline_summary` (:mod:`qleads.desk.decline`);
    :meth:`search` (a tab searched, filtered and sorted, R2, R8, R16);
    :meth:`access_log`, :meth:`record_access`, :meth:`export_personal_data`,
    :meth:`erase_personal_data`, :meth:`apply_retention` (R14).
    """
