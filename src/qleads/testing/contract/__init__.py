"""The contract suites: what every adapter of a port must do, one suite per port.

Shipped inside the package (like eventsourcing's ``eventsourcing/tests/persistence.py``)
so that anyone writing an adapter runs the same suite as the adapters qleads ships:
subclass the contract in a test module and provide the fixtures it names.

* :class:`RepositoryContract` — a :class:`~qleads.ports.LeadRepository`;
* :class:`DirectoryContract` — a :class:`~qleads.ports.Directory` with the writes of
  :class:`~qleads.testing.world.EditableDirectory`;
* :class:`OutboxContract` — a :class:`~qleads.mail.Outbox` and its digest log. It needs
  the ``mail`` extra, like the port, so it is imported on first use: the other two run
  on the core and the ``testing`` extra alone.

``stored_leads`` lives in :mod:`qleads.testing.strategies`, ``make_document``,
``make_lead`` and ``T0`` in :mod:`qleads.testing.world`; importing them from here still
works in 0.2 and warns.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

from qleads.testing.contract.directory import DirectoryContract
from qleads.testing.contract.repository import RepositoryContract

if TYPE_CHECKING:
    from qleads.testing.contract.outbox import OutboxContract

__all__ = ["DirectoryContract", "OutboxContract", "RepositoryContract"]

#: Names that moved, and their new home.
_MOVED = {
    "stored_leads": "qleads.testing.strategies",
    "make_document": "qleads.testing.world",
    "make_lead": "qleads.testing.world",
    "T0": "qleads.testing.world",
}


def __getattr__(name: str) -> object:
    if name == "OutboxContract":
        from qleads.testing.contract.outbox import OutboxContract

        return OutboxContract
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"qleads.testing.contract.{name} moved to {home}.{name}; the old name goes in qleads 0.3",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)
