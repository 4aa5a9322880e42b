"""The portal's share of the escalation ladder, decline reasons and duplicates: the
admin's policy form, the release form's reasons, the rep's queue and reasons pages with
their actions, and ``duplicate_of`` in the intake API."""

from __future__ import annotations

import re
from typing import Any

import attrs
from flask.testing import FlaskClient
from portal_support import post_form

from examples.admin_app.api import create_source_token
from examples.admin_app.models import load_policy
from examples.admin_app.services import Services
from qleads.ladder import Ladder, LadderAction, Step
from qleads.model import LeadSource, ReleaseReason
from qleads.rep_queue import queue_holder
from qleads.tabs import Tab
from qleads.testing.world import lead_document as manual_document

_BASE = {
    "claim_hold_days": "2",
    "assignment_reminder_days": "2",
    "contact_before_claim": "hidden",
}


def _pool_lead(services: Services, installer_id: str = "installer1") -> int:
    installer = services.directory.installer(installer_id)
    assert installer is not None
    page = services.desk.tab(installer, Tab.AVAILABLE, per_page=1)
    return page.items[0].lead.id


class TestPolicyForm:
    def test_the_admin_sets_a_ladder_a_release_limit_and_duplicate_detection(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        login(client, "admin")
        before = services.desk.policy
        page = client.get("/admin/policy/").get_data(as_text=True)
        assert "Eigene Eskalationsleiter verwenden" in page
        assert 'name="ladder_claimed-0-action"' in page
        response = post_form(
            client,
            "/admin/policy/",
            data={
                **_BASE,
                "ladder_enabled": "y",
                "ladder_claimed-0-after": "4",
                "ladder_claimed-0-unit": "business_hours",
                "ladder_claimed-0-action": "remind_holder",
                "ladder_claimed-1-after": "2",
                "ladder_claimed-1-unit": "business_days",
                "ladder_claimed-1-action": "release_to_territory",
                "ladder_offer_sent-0-after": "5",
                "ladder_offer_sent-0-unit": "business_days",
                "ladder_offer_sent-0-action": "reassign_to_rep",
                "unserviceable_after_releases": "3",
                "duplicate_detection": "y",
                "duplicate_window_days": "60",
            },
            form="/admin/policy/",
        )
        assert response.status_code == 302
        # What the form does not show (the demo's retention periods) stays as it was.
        expected = attrs.evolve(
            before,
            ladder=Ladder(
                claimed=(
                    Step.hours(4, LadderAction.REMIND_HOLDER),
                    Step.days(2, LadderAction.RELEASE_TO_TERRITORY),
                ),
                offer_sent=(Step.days(5, LadderAction.REASSIGN_TO_REP),),
            ),
            unserviceable_after_releases=3,
            duplicate_detection=True,
            duplicate_window_days=60,
        )
        assert services.desk.policy == expected
        assert load_policy(services.sessions) == expected
        # The form shows what is stored.
        page = client.get("/admin/policy/").get_data(as_text=True)
        field = re.search(r'<input[^>]*name="ladder_claimed-0-after"[^>]*>', page)
        assert field is not None
        assert 'value="4"' in field.group(0)

    def test_a_step_after_one_that_ends_the_situation_is_refused(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        login(client, "admin")
        before = services.desk.policy
        response = post_form(
            client,
            "/admin/policy/",
            data={
                **_BASE,
                "ladder_enabled": "y",
                "ladder_assigned-0-after": "1",
                "ladder_assigned-0-unit": "business_days",
                "ladder_assigned-0-action": "reassign_to_rep",
                "ladder_assigned-1-after": "1",
                "ladder_assigned-1-unit": "business_days",
                "ladder_assigned-1-action": "notify_rep",
            },
            form="/admin/policy/",
        )
        assert response.status_code == 200
        assert "muss der letzte sein" in response.get_data(as_text=True)
        assert services.desk.policy == before


class TestDeclineReasons:
    def test_out_of_area_sends_the_lead_to_the_rep_who_returns_it(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        lead_id = _pool_lead(services)
        login(client, "installer1")
        post_form(client, f"/leads/{lead_id}/claim", form=f"/leads/{lead_id}")
        page = client.get(f"/leads/{lead_id}/status").get_data(as_text=True)
        assert "Außerhalb meines Gebiets oder Leistungsangebots" in page
        post_form(
            client,
            f"/leads/{lead_id}/status",
            data={"status": "release", "reason": "out_of_scope", "note": "nur Gewerbe"},
            form=f"/leads/{lead_id}/status",
        )
        lead = services.desk.get(services.directory.rep("rep1"), lead_id).lead  # type: ignore[arg-type]
        assert lead.holder_id == queue_holder("rep1")

        client.get("/logout")
        login(client, "rep1")
        queue = client.get("/queue/").get_data(as_text=True)
        assert f'href="/queue/lead/{lead_id}"' in queue
        assert 'data-reason="out_of_scope"><td>Außerhalb meines Gebiets' in queue
        reasons = client.get(f"/queue/lead/{lead_id}").get_data(as_text=True)
        assert "nur Gewerbe" in reasons
        assert 'id="return-to-pool"' in reasons
        response = post_form(
            client,
            f"/queue/lead/{lead_id}/return",
            form=f"/queue/lead/{lead_id}",
            follow_redirects=True,
        )
        assert "wieder für die Partner des Gebiets verfügbar" in response.get_data(as_text=True)
        installer = services.directory.installer("installer2")
        assert installer is not None
        available = services.desk.tab(installer, Tab.AVAILABLE, per_page=500)
        assert lead_id in {row.lead.id for row in available.items}

    def test_a_release_as_a_duplicate_is_linked_and_the_rep_unlinks_it(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        lead_id = _pool_lead(services)
        original = lead_id - 1
        login(client, "installer1")
        post_form(client, f"/leads/{lead_id}/claim", form=f"/leads/{lead_id}")
        post_form(
            client,
            f"/leads/{lead_id}/status",
            data={"status": "release", "reason": "duplicate", "duplicate_of": str(original)},
            form=f"/leads/{lead_id}/status",
        )
        rep = services.directory.rep("rep1")
        assert rep is not None
        assert services.desk.duplicate_of(rep, lead_id) == original
        client.get("/logout")
        login(client, "rep1")
        page = client.get(f"/queue/lead/{lead_id}").get_data(as_text=True)
        assert f'href="/leads/{original}"' in page
        assert 'id="unlink"' in page
        post_form(client, f"/queue/lead/{lead_id}/unlink", form=f"/queue/lead/{lead_id}")
        assert services.desk.duplicate_of(rep, lead_id) is None
        assert services.desk.get(rep, lead_id).lead.holder_id is None

    def test_the_rep_closes_a_lead_as_spam(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        lead_id = _pool_lead(services)
        login(client, "rep1")
        post_form(client, f"/queue/lead/{lead_id}/spam", form=f"/queue/lead/{lead_id}")
        rep = services.directory.rep("rep1")
        assert rep is not None
        assert services.desk.get(rep, lead_id).lead.holder_id == queue_holder("rep1")
        detail = client.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert "beim Vertrieb (Rückläufer)" in detail

    def test_installers_may_not_open_the_queue(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        login(client, "installer1")
        assert client.get("/queue/").status_code in (302, 403)
        lead_id = _pool_lead(services)
        response = post_form(client, f"/queue/lead/{lead_id}/spam", form="/mails/")
        assert response.status_code in (302, 403)
        assert services.desk.get(services.directory.rep("rep1"), lead_id).lead.holder_id is None  # type: ignore[arg-type]


def _submit(client: FlaskClient, token: str, source_id: str) -> Any:
    return client.post(
        "/api/v1/leads",
        json=manual_document(source_id, received_at="2026-11-20T08:00:00+01:00"),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": source_id},
    )


class TestIntakeApi:
    def test_a_repeated_submission_says_duplicate_of(
        self, client: FlaskClient, login: Any, services: Services
    ) -> None:
        services.directory.add_source(LeadSource("dup-calc", "Dubletten-Rechner"))
        token = create_source_token(services.directory, "dup-calc")
        services.desk.policy = attrs.evolve(services.desk.policy, duplicate_detection=True)
        first = _submit(client, token, "calc-dup-1").get_json()
        assert first["duplicate_of"] is None
        again = _submit(client, token, "calc-dup-2")
        assert again.status_code == 201
        body = again.get_json()
        assert body["duplicate_of"] == first["id"]
        rep = services.directory.rep("rep1")
        assert rep is not None
        assert services.desk.get(rep, body["id"]).lead.holder_id == queue_holder("rep1")
        assert ReleaseReason.DUPLICATE.label("en") == "Duplicate"
        # The original's page says the customer asked again.
        login(client, "rep1")
        page = client.get(f"/leads/{first['id']}").get_data(as_text=True)
        assert f'id="requested-again-{body["id"]}"' in page
        assert "Kunde hat erneut angefragt" in page
