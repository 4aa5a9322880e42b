"""What every use case of the desk stands on: its ports and policy, and the steps they
all take — reading the clock, working out who sees what, writing one unit of work.

:class:`DeskBase` holds the ports; each use-case module of :mod:`qleads.desk` subclasses
it, so every use case reads ``self.repository``, ``self.directory``, ``self.clock`` and
``self.policy`` with their declared types. The shared steps are plain functions, so the
service object's own namespace is its ports and its use cases.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from qleads.desk.changes import Change
from qleads.errors import InvalidInput, NotPermitted
from qleads.instants import require_utc
from qleads.model import Actor, Admin, Installer, Lead, Policy, SalesRep
from qleads.ports import Clock, Directory, LeadRepository, UnitOfWork
from qleads.tabs import Scope

__all__ = ["NOTE_LIMIT", "DeskBase", "clean_note", "current_time", "offers", "scope_of", "write"]

#: The longest note a record, release or reopening keeps (R6, R7, R12).
NOTE_LIMIT = 2000


#: Which classes have which optional port method (see :func:`offers`).
_OFFERS: dict[tuple[type, str], bool] = {}


def offers(port: object, method: str) -> bool:
    """Whether ``port`` has the optional ``method`` (a ``FindsCounted`` or
    ``AppendsAccessInUnit`` unit of work …). Asked of its class, once: a use case asks
    on every call, and ``isinstance`` against a runtime protocol costs more than the
    call it decides."""
    key = (type(port), method)
    found = _OFFERS.get(key)
    if found is None:
        found = _OFFERS[key] = callable(getattr(key[0], method, None))
    return found


class DeskBase:
    """The ports and the policy of a :class:`~qleads.desk.LeadDesk`: constructed once,
    shared freely (the desk holds no per-request state). The attributes are public and
    may be replaced while it runs: a portal sets a new :class:`~qleads.model.Policy`
    when an admin saves one."""

    def __init__(
        self,
        repository: LeadRepository,
        directory: Directory,
        clock: Clock,
        policy: Policy | None = None,
    ) -> None:
        self.repository = repository
        self.directory = directory
        self.clock = clock
        self.policy = policy if policy is not None else Policy()
        #: The territories' policy overrides as parsed settings (``qleads.policies``),
        #: read from storage when first needed; ``None`` until then.
        self.territory_policies: dict[str, dict[str, object]] | None = None


def current_time(clock: Clock) -> dt.datetime:
    """The clock's reading, checked: a clock that answers a naive time is refused
    (:class:`~qleads.errors.InvalidInput` naming ``clock.now()``) rather than guessed."""
    return require_utc("clock.now()", clock.now())


def scope_of(directory: Directory, actor: Actor) -> Scope:
    """What ``actor`` may see (R2, R12): an admin everything, a rep his territories, an
    installer his rep's territories and his own leads; a lead source nothing."""
    if isinstance(actor, Admin):
        return Scope(territory_ids=None)
    if isinstance(actor, Installer):
        return Scope(territory_ids=directory.territory_ids_of(actor.rep_id), installer_id=actor.id)
    if isinstance(actor, SalesRep):
        return Scope(territory_ids=directory.territory_ids_of(actor.id))
    raise NotPermitted(actor.id, "read leads")


def write(uow: UnitOfWork, old: Lead, *changes: Change) -> None:
    """Store ``changes`` in ``uow``, each one version on from the one before, starting at
    ``old`` as this unit read it; their events in one append and their notices in one
    enqueue, so the lead, its history (R13) and its mails (R10) commit together."""
    version = old.version
    for change in changes:
        uow.update(change.lead, expected_version=version)
        version = change.lead.version
    uow.append([change.event for change in changes])
    notices = [n for change in changes for n in change.notifications]
    if notices:
        uow.enqueue(notices)


def clean_note(note: str) -> str:
    """A person's note, stripped; refused (:class:`~qleads.errors.InvalidInput` naming
    ``note``) when it is not text, longer than :data:`NOTE_LIMIT` or holds a control
    character other than a line break or a tab."""
    if not isinstance(note, str):
        raise InvalidInput("note", "must be text")
    text = note.strip()
    if len(text) > NOTE_LIMIT:
        raise InvalidInput("note", f"is longer than {NOTE_LIMIT} characters")
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch) == "Cc":
            raise InvalidInput("note", "contains a control character")
    return text
