"""Who may see what (R2, R12) and what an installer may see of it (R16).

Pure predicates over a lead and an actor's scope; the service uses them for single
leads, the tab queries (``qleads.tabs``) express the same rule for lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from qleads.lifecycle import Status
from qleads.model import Contact, Lead, LeadSummary, Policy
from qleads.tabs import Scope

__all__ = [
    "PERSONAL_FIELDS",
    "ContactView",
    "LeadView",
    "RowView",
    "can_see",
    "contact_hidden",
    "mask",
    "previously_handled",
    "view",
    "view_row",
    "view_rows",
]

_Shown = TypeVar("_Shown", Lead, LeadSummary)

#: The fields of a :class:`~qleads.model.Contact` that R16 withholds before a claim:
#: who the customer is, how to reach him, and his free texts.
PERSONAL_FIELDS = ("name", "street", "email", "phone", "reachability", "comment")


@attrs.frozen
class ContactView:
    """A lead's contact as one actor may see it (R16).

    ``None`` means withheld until he holds the lead; ``""`` means the customer left the
    field empty. Postal code, city and country are never withheld: they are what an
    installer decides on.
    """

    name: str | None
    street: str | None
    postal_code: str
    city: str
    country: str
    email: str | None
    phone: str | None
    reachability: str | None
    comment: str | None

    @classmethod
    def of(cls, contact: Contact, *, withheld: bool) -> ContactView:
        shown = attrs.asdict(contact)
        if withheld:
            shown.update(dict.fromkeys(PERSONAL_FIELDS))
        return cls(**shown)

    @property
    def withheld(self) -> bool:
        return self.name is None


@attrs.frozen
class LeadView:
    """A lead as one actor receives it: contact masked where R16 says so, and the
    *previously handled* marker (R2c) worked out for him.

    Read the customer through :attr:`contact`, where a withheld field is ``None``. The
    lead itself stays a :class:`~qleads.model.Lead`, so a withheld field of
    ``lead.document.contact`` holds ``""``: the data never travels with the view.
    """

    lead: Lead
    previously_handled: bool = False
    contact_hidden: bool = False

    @property
    def contact(self) -> ContactView:
        return ContactView.of(self.lead.document.contact, withheld=self.contact_hidden)


@attrs.frozen
class RowView:
    """A tab row as one actor receives it: :class:`LeadView` for a
    :class:`~qleads.model.LeadSummary` (the name withheld where R16 says so).

    :attr:`name` is ``None`` while withheld; ``lead.name`` then holds ``""``."""

    lead: LeadSummary
    previously_handled: bool = False
    contact_hidden: bool = False

    @property
    def name(self) -> str | None:
        return None if self.contact_hidden else self.lead.name


def can_see(scope: Scope, lead: Lead | LeadSummary) -> bool:
    """R2: an installer sees the pool of his rep's territories and what he holds; a rep
    sees everything in his territories; an admin everything."""
    if scope.installer_id is not None:
        if lead.holder_id == scope.installer_id:
            return True
        return (
            lead.status is Status.NEW
            and lead.holder_id is None
            and scope.territory_ids is not None
            and lead.territory_id in scope.territory_ids
        )
    if scope.territory_ids is None:
        return True
    return lead.territory_id in scope.territory_ids


def previously_handled(scope: Scope, lead: Lead | LeadSummary) -> bool:
    """R2c: a ``new`` lead this installer held before (released or expired)."""
    return (
        scope.installer_id is not None
        and lead.status is Status.NEW
        and scope.installer_id in lead.previous_holders
    )


def contact_hidden(scope: Scope, lead: Lead | LeadSummary, policy: Policy) -> bool:
    """R16: with the default policy an installer learns who the customer is only once
    the lead is his."""
    return (
        policy.contact_before_claim == "hidden"
        and scope.installer_id is not None
        and lead.holder_id != scope.installer_id
    )


def mask(contact: Contact) -> Contact:
    """Blank the personal fields (:data:`PERSONAL_FIELDS`, the free-text reachability
    and comment included); postal code, city and country stay (R16)."""
    return attrs.evolve(contact, **dict.fromkeys(PERSONAL_FIELDS, ""))


def view(scope: Scope, lead: Lead, policy: Policy) -> LeadView:
    hidden = contact_hidden(scope, lead, policy)
    masked = (
        {"document": attrs.evolve(lead.document, contact=mask(lead.document.contact))}
        if hidden
        else {}
    )
    return LeadView(
        lead=_as_seen(scope, lead, hidden, masked),
        previously_handled=previously_handled(scope, lead),
        contact_hidden=hidden,
    )


def view_row(scope: Scope, row: LeadSummary, policy: Policy) -> RowView:
    hidden = contact_hidden(scope, row, policy)
    return RowView(_row_as_seen(scope, row, hidden), previously_handled(scope, row), hidden)


def view_rows(
    scope: Scope, rows: Sequence[LeadSummary], policy_of: Callable[[str | None], Policy]
) -> tuple[RowView, ...]:
    """:func:`view_row` for each of a page's rows, with ``policy_of`` its territory's
    policy, asked once per territory. Staff see every row as it is (R16 and R2c
    concern installers only), so their rows need no policy."""
    if scope.installer_id is None:
        return tuple(RowView(row) for row in rows)
    policies: dict[str | None, Policy] = {}
    views = []
    for row in rows:
        territory = row.territory_id
        policy = policies.get(territory)
        if policy is None:
            policy = policies[territory] = policy_of(territory)
        views.append(view_row(scope, row, policy))
    return tuple(views)


def _row_as_seen(scope: Scope, row: LeadSummary, hidden: bool) -> LeadSummary:
    """:func:`_as_seen` for a tab row, built field by field: a page does this for each
    of its rows, and ``attrs.evolve`` costs more than the rest of the row's view."""
    if hidden:
        name = ""
    elif scope.installer_id is not None and row.previous_holders:
        name = row.name
    else:
        return row
    return LeadSummary(
        row.id,
        name,
        row.postal_code,
        row.city,
        row.received_at,
        row.territory_id,
        row.status,
        row.status_at,
        row.holder_id,
        row.hold_until,
        row.due_at,
        row.deadline,
        frozenset(),
        row.version,
    )


def _as_seen(scope: Scope, shown: _Shown, hidden: bool, masked: dict[str, Any]) -> _Shown:
    """``shown`` with ``masked`` applied where the contact is hidden, and without other
    installers' names (``previous_holders``) for an installer: none of his business."""
    if hidden:
        return attrs.evolve(shown, previous_holders=frozenset(), **masked)
    if scope.installer_id is not None and shown.previous_holders:
        return attrs.evolve(shown, previous_holders=frozenset())
    return shown
