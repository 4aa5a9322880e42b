"""Who may see what (R2, R12) and what an installer may see of it (R16).

Pure predicates over a lead and an actor's scope; the service uses them for single
leads, the tab queries (``qleads.tabs``) express the same rule for lists.
"""

from __future__ import annotations

import attrs

from qleads.lifecycle import Status
from qleads.model import Contact, Lead, Policy
from qleads.tabs import Scope

__all__ = ["LeadView", "can_see", "contact_hidden", "mask", "previously_handled", "view"]


@attrs.frozen
class LeadView:
    """A lead as one actor receives it: contact masked where R16 says so, and the
    *previously handled* marker (R2c) worked out for him."""

    lead: Lead
    previously_handled: bool = False
    contact_hidden: bool = False


def can_see(scope: Scope, lead: Lead) -> bool:
    """R2: an installer sees the pool of his rep's territories and what he holds; a rep
    sees everything in his territories; an admin everything."""
    if scope.installer_id is not None:
        if lead.holder_id == scope.installer_id:
            return True
        return (
            lead.status is Status.NEW
            and scope.territory_ids is not None
            and lead.territory_id in scope.territory_ids
        )
    if scope.territory_ids is None:
        return True
    return lead.territory_id in scope.territory_ids


def previously_handled(scope: Scope, lead: Lead) -> bool:
    """R2c: a ``new`` lead this installer held before (released or expired)."""
    return (
        scope.installer_id is not None
        and lead.status is Status.NEW
        and scope.installer_id in lead.previous_holders
    )


def contact_hidden(scope: Scope, lead: Lead, policy: Policy) -> bool:
    """R16: with the default policy an installer learns who the customer is only once
    the lead is his."""
    return (
        policy.contact_before_claim == "hidden"
        and scope.installer_id is not None
        and lead.holder_id != scope.installer_id
    )


def mask(contact: Contact) -> Contact:
    """Withhold the personal fields; postal code, city and country stay (R16)."""
    return attrs.evolve(contact, name="", street="", email="", phone="", comment="")


def view(scope: Scope, lead: Lead, policy: Policy) -> LeadView:
    hidden = contact_hidden(scope, lead, policy)
    shown = lead
    if hidden:
        document = attrs.evolve(lead.document, contact=mask(lead.document.contact))
        shown = attrs.evolve(lead, document=document, previous_holders=frozenset())
    elif scope.installer_id is not None and lead.previous_holders:
        # Other installers' names are none of his business.
        shown = attrs.evolve(lead, previous_holders=frozenset())
    return LeadView(
        lead=shown,
        previously_handled=previously_handled(scope, lead),
        contact_hidden=hidden,
    )
