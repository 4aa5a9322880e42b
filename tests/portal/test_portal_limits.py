"""Claim limits, routing explained, per-territory rules and the partner scorecard in the
portal: what the installer reads next to the claim button, the rep's and the admin's
pages — every decision the desk's (R12)."""

from __future__ import annotations

from typing import Any

import attrs
from flask.testing import FlaskClient

from examples.admin_app.models import load_policy
from examples.admin_app.services import Services
from qleads.model import Policy
from qleads.tabs import Tab

MANUAL_LEAD = 1


def _available(services: Services, installer_id: str) -> list[int]:
    installer = services.directory.installer(installer_id)
    assert installer is not None
    page = services.desk.tab(installer, Tab.AVAILABLE, per_page=50)
    return [item.lead.id for item in page.items]


def _limit(services: Services, **settings: Any) -> None:
    services.settings.save_policy(attrs.evolve(services.desk.policy, **settings))


def _open_claims(services: Services, installer_id: str) -> int:
    """How many leads he holds ``claimed`` in the demo data."""
    installer = services.directory.installer(installer_id)
    assert installer is not None
    _limit(services, max_open_claims=1000)
    left = services.desk.claim_allowance(installer).open_left
    assert left is not None
    return 1000 - left


class TestClaimButton:
    def test_the_hint_says_how_many_claims_are_left(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        _limit(services, max_open_claims=_open_claims(services, "installer1") + 2)
        login(client, "installer1")
        assert "noch 2 Reservierungen frei" in client.get(f"/leads/{MANUAL_LEAD}").get_data(
            as_text=True
        )
        assert "noch 2 Reservierungen frei" in client.get("/installer/").get_data(as_text=True)

    def test_at_the_limit_the_button_is_disabled_with_the_reason_and_date(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        _limit(services, max_open_claims=_open_claims(services, "installer1") + 1)
        first, second = _available(services, "installer1")[:2]
        login(client, "installer1")
        post(client, f"/leads/{first}/claim", follow_redirects=True)
        page = client.get(f"/leads/{second}").get_data(as_text=True)
        assert 'id="claim" disabled' in page
        assert "höchstmögliche Zahl offener Reservierungen" in page
        refused = post(client, f"/leads/{second}/claim", follow_redirects=True)
        assert "höchstmögliche Zahl offener Reservierungen" in refused.get_data(as_text=True)
        installer = services.directory.installer("installer1")
        assert installer is not None
        assert services.desk.get(installer, second).lead.holder_id is None

    def test_english_reason(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        _limit(services, max_claims_per_day=1)
        first, second = _available(services, "installer1")[:2]
        login(client, "installer1")
        post(client, "/language", data={"language": "en"})
        post(client, f"/leads/{first}/claim", follow_redirects=True)
        page = client.get(f"/leads/{second}").get_data(as_text=True)
        assert "You have claimed as many leads today as allowed" in page


class TestRules:
    def test_the_global_rules_keep_the_limits(self, services: Services) -> None:
        _limit(services, max_open_claims=3, pause_after_expiries=2, pause_days=4)
        loaded = load_policy(services.sessions)
        assert (loaded.max_open_claims, loaded.pause_after_expiries, loaded.pause_days) == (3, 2, 4)
        assert loaded.max_claims_per_day is None

    def test_the_policy_form_saves_the_limits(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "admin")
        data = {
            "claim_hold_days": "2",
            "assignment_reminder_days": "2",
            "contact_before_claim": "hidden",
            "max_open_claims": "4",
            "max_claims_per_day": "",
            "reclaim_cooldown_days": "3",
            "pause_after_expiries": "",
            "pause_window_days": "30",
            "pause_days": "5",
        }
        post(client, "/admin/policy/", data=data, follow_redirects=True)
        assert services.desk.policy.max_open_claims == 4
        assert services.desk.policy.reclaim_cooldown_days == 3
        assert services.desk.policy.max_claims_per_day is None

    def test_a_territory_rule_is_stored_and_a_bad_one_refused(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        territory = services.directory.territories()[0]
        login(client, "admin")
        url = f"/admin/territory_policy/?territory={territory.id}"
        page = post(client, url, data={"territory": territory.id, "claim_hold_days": "5"},
                    follow_redirects=True)  # fmt: skip
        assert "Die Regeln des Gebiets wurden gespeichert." in page.get_data(as_text=True)
        assert services.desk.policy_for(territory.id).claim_hold_days == 5
        page = post(client, url, data={"territory": territory.id, "claim_hold_days": "0"},
                    follow_redirects=True)  # fmt: skip
        assert "Nicht gespeichert" in page.get_data(as_text=True)
        assert services.desk.policy_for(territory.id).claim_hold_days == 5

    def test_only_admins_edit_territory_rules(self, login: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        assert client.get("/admin/territory_policy/").status_code in (302, 403)


class TestRoutingExplained:
    def test_a_postal_code_shows_territory_and_installers(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        login(client, "admin")
        page = post(client, "/routing/", data={"postal_code": "04107", "country": "DE"})
        html = page.get_data(as_text=True)
        assert 'id="explanation"' in html
        assert 'data-installer="installer1"' in html
        assert 'id="territory">Gebiet:' in html
        assert "Kein Gebiet" not in html

    def test_a_bad_code_is_named_and_installers_may_not_ask(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        login(client, "admin")
        html = post(client, "/routing/", data={"postal_code": "<x>"}).get_data(as_text=True)
        assert "postal_code" in html
        assert 'id="explanation"' not in html
        client.post("/logout")
        login(client, "installer1")
        assert client.get("/routing/").status_code == 403


class TestScorecard:
    def test_the_rep_sees_his_installers_sorted_by_a_column(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "rep1")
        html = client.get("/partners/?sort=claimed&desc=1").get_data(as_text=True)
        mine = {i.id for i in services.directory.installers_of("rep1")}
        shown = {
            i.id for i in services.directory.installers() if f'data-installer="{i.id}"' in html
        }
        assert shown == mine
        assert 'aria-sort="descending"' in html
        assert "<svg" in html

    def test_the_installer_sees_only_his_own(self, login: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        html = client.get("/partners/").get_data(as_text=True)
        assert html.count("data-installer=") == 1
        assert 'data-installer="installer1"' in html

    def test_the_rep_lifts_a_pause(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        from qleads.limits import ClaimPause

        services.settings.save_policy(Policy(pause_after_expiries=1))
        now = services.clock.now()
        with services.repository.unit_of_work(writing=True) as uow:
            uow.save_claim_pause(ClaimPause("installer1", now, now.replace(year=now.year + 1)))
            uow.commit()
        login(client, "rep1")
        assert "Pause aufheben" in client.get("/partners/").get_data(as_text=True)
        page = post(
            client,
            "/partners/lift-pause",
            data={"installer_id": "installer1"},
            follow_redirects=True,
        )
        assert "Die Pause wurde aufgehoben." in page.get_data(as_text=True)
        installer = services.directory.installer("installer1")
        assert installer is not None
        pause = services.desk.claim_pause_of(installer, "installer1")
        assert pause is not None
        assert pause.lifted_by == "rep1"
