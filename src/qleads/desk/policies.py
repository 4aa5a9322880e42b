"""Per-territory policy overrides on the desk: the policy that holds for a lead is the
global :class:`~qleads.model.Policy` with its territory's override over it
(:mod:`qleads.policies`). Admins read and change the overrides (R12); they are stored
with the leads (``qleads_territory_policy``) and cached on the desk, which reloads them
on :meth:`TerritoryPolicyDesk.reload_territory_policies` and after every change it makes.
"""

from __future__ import annotations

from collections.abc import Mapping

from qleads import policies
from qleads.desk.base import DeskBase
from qleads.errors import InvalidInput, NotPermitted
from qleads.model import Actor, Admin, Policy
from qleads.ports import UnitOfWork

__all__ = ["TerritoryPolicyDesk", "effective_policy"]


def _overrides(desk: DeskBase, uow: UnitOfWork | None = None) -> dict[str, dict[str, object]]:
    loaded = desk.territory_policies
    if loaded is None:
        if uow is not None:
            stored = uow.territory_policies()
        else:
            with desk.repository.unit_of_work() as own:
                stored = own.territory_policies()
        loaded = {key: policies.decode(value) for key, value in stored.items()}
        desk.territory_policies = loaded
    return loaded


def effective_policy(
    desk: DeskBase, territory_id: str | None, uow: UnitOfWork | None = None
) -> Policy:
    """The policy for a lead of ``territory_id``: the desk's policy, with the
    territory's override merged over it (an unrouted lead: the desk's policy). Inside a
    unit of work pass it as ``uow``: the overrides, if not cached yet, are read there."""
    if territory_id is None:
        return desk.policy
    return policies.merge(desk.policy, _overrides(desk, uow).get(territory_id))


class TerritoryPolicyDesk(DeskBase):
    """:meth:`territory_policy`, :meth:`set_territory_policy`, :meth:`policy_for`."""

    def policy_for(self, territory_id: str | None) -> Policy:
        """The policy that holds for the leads of ``territory_id``."""
        return effective_policy(self, territory_id)

    def territory_policy(self, actor: Actor, territory_id: str) -> dict[str, object]:
        """The settings ``territory_id`` overrides (empty: none). Admins only (R12)."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "read territory policies")
        return dict(_overrides(self).get(territory_id, {}))

    def territory_policies_of(self, actor: Actor) -> dict[str, dict[str, object]]:
        """Every territory's override. Admins only (R12)."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "read territory policies")
        return {key: dict(value) for key, value in _overrides(self).items()}

    def set_territory_policy(
        self, actor: Actor, territory_id: str, settings: Mapping[str, object]
    ) -> dict[str, object]:
        """Make ``settings`` the override of ``territory_id`` (an empty mapping removes
        it). Admins only (R12). Each setting is checked merged over the desk's policy;
        a bad one raises :class:`~qleads.errors.InvalidInput` naming it and nothing is
        stored. Takes effect for this desk at once."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "change territory policies")
        if self.directory.territory(territory_id) is None:
            raise InvalidInput("territory_id", f"no territory {territory_id!r}")
        parsed = policies.parse(settings, self.policy)
        with self.repository.unit_of_work(writing=True) as uow:
            uow.save_territory_policy(territory_id, policies.encode(parsed) if parsed else None)
            uow.commit()
        self.territory_policies = None
        return parsed

    def reload_territory_policies(self) -> None:
        """Read the overrides from storage again on next use (another process may have
        changed them)."""
        self.territory_policies = None
