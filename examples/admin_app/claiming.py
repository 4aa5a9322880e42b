"""What the claim limits tell an installer in the portal (``qleads.limits``): why the
claim button is disabled and until when, and how many claims he has left ("noch N
Reservierungen frei"). The words are the library's (``qleads.limits.refusal_text``), in
the user's language; the desk decides, the portal only shows it.
"""

from __future__ import annotations

import attrs

from qleads.errors import ClaimRefused
from qleads.limits import left_text, limits_active, refusal_text
from qleads.model import Actor, Installer

from .i18n import current_language
from .services import current_services

__all__ = ["ClaimState", "claim_state", "refusal_message"]


class _Unknown:
    """Not given (``None`` is a lead without a territory)."""


UNKNOWN = _Unknown()


@attrs.frozen
class ClaimState:
    """``refused``: the sentence next to the disabled button (``None``: he may claim);
    ``left``: the hint of how many claims he has left (``None``: no limit)."""

    refused: str | None
    left: str | None


def refusal_message(error: ClaimRefused) -> str:
    """The refusal in the user's language, with its date."""
    return refusal_text(error, current_language())


def claim_state(
    actor: Actor, lead_id: int | None = None, *, territory_id: str | _Unknown | None = UNKNOWN
) -> ClaimState:
    """For ``actor`` (an installer) and one lead (``lead_id``) or the pool in general.
    ``territory_id``: the lead's, when the caller has read it already."""
    if not isinstance(actor, Installer):
        return ClaimState(None, None)
    desk = current_services().desk
    language = current_language()
    refused: ClaimRefused | None
    if lead_id is not None:
        if isinstance(territory_id, _Unknown):
            territory_id = desk.get(actor, lead_id).lead.territory_id
        allowance = desk.claim_allowance(actor, territory_id)
        # Without claim limits in the lead's territory there is nothing to refuse, and
        # nothing to read for it.
        active = limits_active(desk.policy_for(territory_id))
        refused = desk.claim_refusal(actor, lead_id) if active else None
    else:
        allowance = desk.claim_allowance(actor)
        refused = allowance.refused
    left = allowance.left
    return ClaimState(
        refusal_text(refused, language) if refused is not None else None,
        left_text(left, language) if left is not None and refused is None else None,
    )
