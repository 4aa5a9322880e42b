"""Per-territory overrides as data (``qleads.policies``): generic over the policy's
fields, checked by the policy's own types and validators, stored as JSON."""

from __future__ import annotations

import json

import attrs
import pytest

from qleads import policies
from qleads.errors import InvalidInput
from qleads.model import Policy


class TestGeneric:
    def test_every_field_of_the_policy_is_a_setting(self) -> None:
        assert policies.setting_names() == tuple(f.name for f in attrs.fields(Policy))

    @pytest.mark.parametrize("name", policies.setting_names())
    def test_each_setting_round_trips_through_json(self, name: str) -> None:
        """Whatever a field is, its value survives encode → JSON → decode → merge."""
        value = getattr(Policy(), name)
        stored = json.loads(json.dumps(policies.encode({name: value})))
        assert policies.merge(Policy(), policies.decode(stored)) == Policy()

    def test_merge_sets_only_what_the_override_sets(self) -> None:
        base = Policy(claim_hold_days=3, max_open_claims=5)
        merged = policies.merge(base, policies.parse({"max_open_claims": 2}))
        assert (merged.claim_hold_days, merged.max_open_claims) == (3, 2)
        assert policies.merge(base, None) is base


class TestRefusals:
    @pytest.mark.parametrize(
        ("settings", "field"),
        [
            ({"no_such": 1}, "no_such"),
            ({"claim_hold_days": True}, "claim_hold_days"),
            ({"claim_hold_days": [2]}, "claim_hold_days"),
            ({"claim_hold_days": 0}, "claim_hold_days"),
            ({"max_open_claims": 0}, "max_open_claims"),
            ({"contact_before_claim": "sometimes"}, "contact_before_claim"),
        ],
    )
    def test_a_bad_setting_is_named(self, settings: dict[str, object], field: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            policies.parse(settings)
        assert refused.value.field == field

    def test_a_stored_setting_the_policy_no_longer_has_is_dropped(self) -> None:
        assert policies.decode({"gone_since": 3, "claim_hold_days": 4}) == {"claim_hold_days": 4}
