"""The sales rep's pages: all leads of his territories, assignment (R5) and the installer
overview."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from examples.admin_app.background import run_once
from examples.admin_app.metrics import first_contact_delays, installer_stats
from examples.admin_app.models import PortalMail
from examples.admin_app.services import Services
from qleads.lifecycle import Status
from qleads.model import EventKind, HistoryEvent, NotificationKind
from qleads.tabs import Tab

MANUAL_LEAD = 1


class TestLeadList:
    def test_rep_sees_only_his_territories(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        """R2: a rep sees every lead of his territories, in any status."""
        login(client, "rep1")
        page = client.get("/rep/?tab=all").get_data(as_text=True)
        rep = services.directory.rep("rep1")
        mine = services.desk.tab(rep, Tab.ALL, per_page=500)
        assert all(v.lead.territory_id == "sachsen" for v in mine.items)
        assert f'data-lead-id="{mine.items[0].lead.id}"' in page
        assert "Partner" in page  # the holder column

    def test_rep_sees_the_holder_name(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "rep1")
        page = client.get("/rep/?tab=in_progress").get_data(as_text=True)
        assert "Solartechnik Müller GmbH" in page or "Elbsonne Energie" in page


class TestAssign:
    def test_assignment_reaches_the_installer_with_a_mail(
        self, app: Flask, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R5, R10: installer2 finds it under "Neue Anfragen" and gets a mail."""
        login(client, "rep1")
        page = client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
        assert "Partner zuteilen" in page
        response = post(
            client,
            f"/leads/{MANUAL_LEAD}/assign",
            {"installer_id": "installer2"},
            follow_redirects=True,
        )
        assert "Die Anfrage wurde zugeteilt." in response.get_data(as_text=True)
        lead = services.desk.get(services.directory.rep("rep1"), MANUAL_LEAD).lead
        assert lead.status is Status.ASSIGNED
        assert lead.holder_id == "installer2"
        keys = [n.kind for n in services.repository.notifications() if n.lead_id == MANUAL_LEAD]
        assert NotificationKind.ASSIGNED in keys

        with app.app_context():
            run_once(services)
        with services.read_sessions() as db:
            mails = (
                db.query(PortalMail)
                .filter(PortalMail.recipients == "installer2@example.com")
                .order_by(PortalMail.id.desc())
                .all()
            )
        assert any(f"/leads/{MANUAL_LEAD}" in m.text_body() for m in mails[:3])

        installer = app.test_client()
        login(installer, "installer2")
        tab = installer.get("/installer/tab/new").get_data(as_text=True)
        assert f'data-lead-id="{MANUAL_LEAD}"' in tab
        inbox = installer.get("/mails/").get_data(as_text=True)
        assert "installer2@example.com" in inbox

    def test_rep_cannot_assign_to_another_reps_installer(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R5, R12: only to his own installers."""
        login(client, "rep1")
        page = post(
            client,
            f"/leads/{MANUAL_LEAD}/assign",
            {"installer_id": "installer3"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Bitte wählen Sie einen Partner." in page
        lead = services.desk.get(services.directory.rep("rep1"), MANUAL_LEAD).lead
        assert lead.status is Status.NEW

    def test_reassign_moves_a_held_lead(
        self, app: Flask, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        installer = app.test_client()
        login(installer, "installer1")
        post(installer, f"/leads/{MANUAL_LEAD}/claim")
        login(client, "rep1")
        assert "Neu zuteilen an" in client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
        post(client, f"/leads/{MANUAL_LEAD}/assign", {"installer_id": "installer2"})
        lead = services.desk.get(services.directory.rep("rep1"), MANUAL_LEAD).lead
        assert lead.holder_id == "installer2"

    def test_rep_of_another_territory_gets_not_found(self, login: Any, client: FlaskClient) -> None:
        login(client, "rep2")
        assert client.get(f"/leads/{MANUAL_LEAD}").status_code == 404


class TestInstallerOverview:
    def test_overview_lists_his_installers_with_a_chart(
        self, login: Any, client: FlaskClient
    ) -> None:
        login(client, "rep1")
        page = client.get("/rep/installers").get_data(as_text=True)
        assert "Solartechnik Müller GmbH" in page
        assert "Elbsonne Energie" in page
        assert "Alpensolar Huber" not in page
        assert page.count("<svg") == 3
        assert "Median bis zum Erstkontakt" in page
        assert "<script" not in page.split("</head>")[1]


def _event(kind: EventKind, at: dt.datetime, actor: str, holder: str | None) -> HistoryEvent:
    return HistoryEvent(
        lead_id=1,
        version=1,
        kind=kind,
        actor_id=actor,
        from_status=None,
        to_status=Status.NEW,
        effective_at=at,
        recorded_at=at,
        holder_id=holder,
    )


class TestMetrics:
    T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)

    def test_delay_runs_from_claim_to_first_record(self) -> None:
        events = [
            _event(EventKind.CLAIMED, self.T0, "i1", "i1"),
            _event(EventKind.RECORDED, self.T0 + dt.timedelta(hours=5), "i1", "i1"),
            _event(EventKind.RECORDED, self.T0 + dt.timedelta(hours=9), "i1", "i1"),
        ]
        assert first_contact_delays(events) == [("i1", dt.timedelta(hours=5))]

    def test_a_release_before_any_record_counts_nothing(self) -> None:
        events = [
            _event(EventKind.CLAIMED, self.T0, "i1", "i1"),
            _event(EventKind.RELEASED, self.T0 + dt.timedelta(hours=1), "i1", "i1"),
            _event(EventKind.ASSIGNED, self.T0 + dt.timedelta(hours=2), "rep", "i2"),
            _event(EventKind.RECORDED, self.T0 + dt.timedelta(hours=4), "i2", "i2"),
        ]
        assert first_contact_delays(events) == [("i2", dt.timedelta(hours=2))]

    def test_stats_count_open_leads_orders_and_the_median(self, services: Services) -> None:
        rep = services.directory.rep("rep1")
        leads = [v.lead for v in services.desk.tab(rep, Tab.ALL, per_page=500).items]
        histories = {lead.id: services.desk.history(rep, lead.id) for lead in leads}
        rows = installer_stats(services.directory.installers_of("rep1"), leads, histories)
        assert {r.installer.id for r in rows} == {"installer1", "installer2"}
        for row in rows:
            held = [x for x in leads if x.holder_id == row.installer.id]
            assert row.open_leads == sum(1 for x in held if not x.status.is_terminal)
            assert row.orders == sum(1 for x in held if x.status is Status.ORDER_PLACED)
            assert row.median_first_contact is not None
