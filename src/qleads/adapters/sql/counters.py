"""The tab counters (R8): ``qleads_lead_count`` holds one row per (territory, status,
held) cell, so a total sums a handful of rows whatever the number of leads. Which cell a
lead is counted in, and which cells a tab's clause counts, are decided here, for the
statements (:mod:`qleads.adapters.sql.tab_sql`) and for a unit's own changes not yet
committed (:mod:`qleads.adapters.sql.tab_reads`).
"""

from __future__ import annotations

from typing import TypeAlias

from qleads.adapters.sql.codec import STATUS_BY_VALUE
from qleads.adapters.sql.schema import UNROUTED
from qleads.model import Lead
from qleads.tabs import Clause

__all__ = ["Cell", "counter_cell", "counts_cell"]

#: A row of ``qleads_lead_count``: territory (:data:`~qleads.adapters.sql.schema.UNROUTED`
#: for none), status, held (0 or 1).
Cell: TypeAlias = tuple[str, str, int]


def counter_cell(lead: Lead) -> Cell:
    """The ``qleads_lead_count`` row a lead is counted in."""
    territory = lead.territory_id
    return (
        UNROUTED if territory is None else territory,
        lead.status.value,
        0 if lead.holder_id is None else 1,
    )


def counts_cell(clause: Clause, cell: Cell) -> bool:
    """Whether a clause without a holder selects the leads of a counter cell (the
    counter-table reading of ``qleads.tabs.Clause.holds_for``)."""
    territory, status, held = cell
    if clause.statuses is not None and STATUS_BY_VALUE[status] not in clause.statuses:
        return False
    if clause.territory_ids is not None and (
        territory == UNROUTED or territory not in clause.territory_ids
    ):
        return False
    if clause.held and not held:
        return False
    if clause.unheld and held:
        return False
    return not (clause.unrouted and territory != UNROUTED)
