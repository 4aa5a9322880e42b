"""The installer's actions through the portal: claim (R3), record (R6), release (R7),
follow-up (R6), the lost claim race (R3, R15) — every change through ``LeadDesk``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from examples.admin_app.services import Services
from qleads.lifecycle import Status
from qleads.model import EventKind
from qleads.tabs import Tab

MANUAL_LEAD = 1


def _installer(services: Services, installer_id: str) -> Any:
    return services.directory.installer(installer_id)


def _claim(client: FlaskClient, post: Any, lead_id: int = MANUAL_LEAD) -> Any:
    return post(client, f"/leads/{lead_id}/claim", follow_redirects=True)


class TestClaim:
    def test_claim_takes_the_lead_and_shows_the_history_line(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R3, R13: "Anfrage wurde von … übernommen"."""
        login(client, "installer1")
        page = _claim(client, post).get_data(as_text=True)
        assert "Sie haben die Anfrage übernommen." in page
        assert "Anfrage wurde von Solartechnik Müller GmbH übernommen" in page
        lead = services.desk.get(_installer(services, "installer1"), MANUAL_LEAD).lead
        assert lead.status is Status.CLAIMED
        assert lead.holder_id == "installer1"

    def test_claimed_lead_reveals_the_contact(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """R16: the holder sees name, street, e-mail and phone."""
        login(client, "installer1")
        _claim(client, post)
        page = client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
        assert "Test3 DEipzig" in page
        assert "Härtelstraße 32" in page
        assert "q-cells@mellowmessage.de" in page

    def test_claim_shows_the_running_hold(self, login: Any, post: Any, client: FlaskClient) -> None:
        """R3: held for two business days of his calendar (Fri 10:30 → Tue 10:30)."""
        login(client, "installer1")
        page = _claim(client, post).get_data(as_text=True)
        assert "Reserviert bis 24.11.2026, 10:30 Uhr" in page

    def test_other_installer_no_longer_sees_it(
        self, app: Flask, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """R2: once claimed, no other installer sees it."""
        login(client, "installer1")
        _claim(client, post)
        other = app.test_client()
        login(other, "installer2")
        assert other.get(f"/leads/{MANUAL_LEAD}").status_code == 404
        assert f'data-lead-id="{MANUAL_LEAD}"' not in other.get("/installer/").get_data(
            as_text=True
        )

    def test_lost_race_is_a_message_not_an_error_page(
        self, app: Flask, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """R3, R15: the second claim gets "Diese Anfrage ist nicht mehr verfügbar"."""
        login(client, "installer2")
        client.get(f"/leads/{MANUAL_LEAD}")  # he had the page open
        winner = app.test_client()
        login(winner, "installer1")
        _claim(winner, post)
        response = post(client, f"/leads/{MANUAL_LEAD}/claim")
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        page = client.get("/installer/").get_data(as_text=True)
        assert "Diese Anfrage ist nicht mehr verfügbar" in page

    def test_claim_needs_the_csrf_token(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "installer1")
        response = client.post(f"/leads/{MANUAL_LEAD}/claim")
        assert response.status_code == 400
        lead = services.desk.get(_installer(services, "installer1"), MANUAL_LEAD).lead
        assert lead.status is Status.NEW

    def test_rep_cannot_claim(self, login: Any, post: Any, client: FlaskClient) -> None:
        login(client, "rep1")
        assert post(client, f"/leads/{MANUAL_LEAD}/claim").status_code == 403


class TestRecord:
    def test_contact_attempt_moves_the_lead_to_in_progress(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R6, R8: after "Kontaktversuch erfolgt" the lead is under "In Bearbeitung"."""
        login(client, "installer1")
        _claim(client, post)
        response = post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {
                "status": "contact_attempted",
                "date": "2026-11-20",
                "channel": "phone",
                "note": "Mailbox, morgen wieder",
            },
            follow_redirects=True,
        )
        page = response.get_data(as_text=True)
        assert "Die Änderung wurde gespeichert." in page
        assert "Kontaktversuch erfolgt – eingetragen von Solartechnik Müller GmbH" in page
        assert "Kontaktart: Telefon" in page
        assert "Mailbox, morgen wieder" in page
        tab = client.get("/installer/tab/in_progress").get_data(as_text=True)
        assert f'data-lead-id="{MANUAL_LEAD}"' in tab
        assert f'data-lead-id="{MANUAL_LEAD}"' not in client.get("/installer/tab/new").get_data(
            as_text=True
        )
        lead = services.desk.get(_installer(services, "installer1"), MANUAL_LEAD).lead
        assert lead.hold_until is None  # R6 ends the claim hold

    def test_past_date_is_the_effective_date(
        self, login: Any, post: Any, client: FlaskClient, services: Services, clock: Any
    ) -> None:
        login(client, "installer1")
        _claim(client, post)
        clock.advance(dt.timedelta(days=1))
        post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "first_contact", "date": "2026-11-20", "channel": "on_site"},
        )
        events = services.desk.history(_installer(services, "installer1"), MANUAL_LEAD)
        assert events[-1].kind is EventKind.RECORDED
        assert events[-1].effective_at.date() == dt.date(2026, 11, 20)

    def test_future_date_is_refused_with_a_message(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R6: never in the future."""
        login(client, "installer1")
        _claim(client, post)
        page = post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "contact_attempted", "date": "2026-12-24"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Das Datum darf weder in der Zukunft noch vor dem Eingang liegen." in page
        lead = services.desk.get(_installer(services, "installer1"), MANUAL_LEAD).lead
        assert lead.status is Status.CLAIMED

    def test_follow_up_needs_a_due_date(self, login: Any, post: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        _claim(client, post)
        page = post(
            client, f"/leads/{MANUAL_LEAD}/status", {"status": "follow_up"}, follow_redirects=True
        ).get_data(as_text=True)
        assert "Bitte geben Sie für die Wiedervorlage einen Termin an." in page

    def test_follow_up_shows_under_its_tab_with_the_date(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """R6, R8: "Wiedervorlage" with its due date-time."""
        login(client, "installer1")
        _claim(client, post)
        post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {
                "status": "follow_up",
                "due_date": "2026-11-25",
                "due_time": "14:00",
                "channel": "email",
            },
        )
        tab = client.get("/installer/tab/follow_up").get_data(as_text=True)
        assert f'data-lead-id="{MANUAL_LEAD}"' in tab
        assert "Wiedervorlage 25.11.2026, 14:00 Uhr" in tab

    def test_overdue_follow_up_is_flagged(
        self, login: Any, post: Any, client: FlaskClient, clock: Any
    ) -> None:
        """R6: it stays in "Wiedervorlage", flagged overdue."""
        login(client, "installer1")
        _claim(client, post)
        post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "follow_up", "due_date": "2026-11-21", "due_time": "09:00"},
        )
        clock.advance(dt.timedelta(days=3))
        tab = client.get("/installer/tab/follow_up").get_data(as_text=True)
        assert "überfällig seit 21.11.2026, 09:00 Uhr" in tab

    def test_order_closes_the_lead_and_hides_the_form(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """R6: a terminal lead accepts nothing more."""
        login(client, "installer1")
        _claim(client, post)
        post(client, f"/leads/{MANUAL_LEAD}/status", {"status": "order_placed"})
        page = client.get(f"/leads/{MANUAL_LEAD}/status").get_data(as_text=True)
        assert "Änderung speichern" not in page
        closed = client.get("/installer/tab/closed").get_data(as_text=True)
        assert f'data-lead-id="{MANUAL_LEAD}"' in closed

    def test_non_holder_cannot_record(
        self, app: Flask, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """R12: only the holder records; to the others the lead does not exist (R2)."""
        login(client, "installer1")
        _claim(client, post)
        other = app.test_client()
        login(other, "installer2")
        response = post(other, f"/leads/{MANUAL_LEAD}/status", {"status": "order_placed"})
        assert response.status_code == 404

    def test_status_form_has_the_manuals_options(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """Anlage 3: the dropdown, date, Kontaktart and "Änderung speichern"."""
        login(client, "installer1")
        page = _claim(client, post).get_data(as_text=True)
        for label in (
            "Kontaktversuch erfolgt",
            "Erstkontakt erfolgt",
            "Angebot gesendet",
            "Bestellung aufgegeben",
            "Nicht erfolgreich",
            "Wiedervorlage",
            "Lead wieder verfügbar",
            "Kontaktart",
            "Datum",
            "Änderung speichern",
        ):
            assert label in page, label


#: A contact attempt on the day the hold ends (Tue 24.11.2026).
LATE_STATUS = {"status": "contact_attempted", "date": "2026-11-24", "channel": "phone"}


class TestExpiredClaim:
    """R4: from ``hold_until`` on the claim is over, even before the sweep ran."""

    def _expire(self, client: FlaskClient, post: Any, services: Services, clock: Any) -> Any:
        _claim(client, post)
        lead = services.desk.get(_installer(services, "installer1"), MANUAL_LEAD).lead
        assert lead.hold_until is not None
        clock.set(lead.hold_until)  # Tue 24.11. 10:30 in Leipzig, no sweep yet
        return lead

    def test_a_record_after_the_hold_says_the_reservation_expired(
        self, login: Any, post: Any, client: FlaskClient, services: Services, clock: Any
    ) -> None:
        """R4, R15: a status sent from a page opened before the hold ran out is refused
        with "Ihre Reservierung ist abgelaufen"; nothing is stored, and the next sweep
        returns the lead to the pool."""
        login(client, "installer1")
        claimed = self._expire(client, post, services, clock)
        page = post(
            client, f"/leads/{MANUAL_LEAD}/status", LATE_STATUS, follow_redirects=True
        ).get_data(as_text=True)
        assert "Ihre Reservierung ist abgelaufen: Sie können für diese Anfrage" in page
        assert 'id="status-form"' not in page
        assert 'id="hold-expired"' in page
        admin = services.directory.admin("admin")
        assert services.desk.get(admin, MANUAL_LEAD).lead == claimed
        assert services.desk.sweep().expired >= 1
        assert services.desk.get(admin, MANUAL_LEAD).lead.status is Status.NEW
        kinds = [e.kind for e in services.desk.history(admin, MANUAL_LEAD)]
        assert kinds[-2:] == [EventKind.CLAIMED, EventKind.EXPIRED]

    def test_a_release_after_the_hold_is_refused_too(
        self, login: Any, post: Any, client: FlaskClient, services: Services, clock: Any
    ) -> None:
        """R4, R7: the claim is over, so there is nothing of his left to release."""
        login(client, "installer1")
        self._expire(client, post, services, clock)
        page = post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "release", "reason": "no_time"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Ihre Reservierung ist abgelaufen" in page
        admin = services.directory.admin("admin")
        assert services.desk.get(admin, MANUAL_LEAD).lead.status is Status.CLAIMED

    def test_in_english(
        self, login: Any, post: Any, client: FlaskClient, services: Services, clock: Any
    ) -> None:
        login(client, "installer1")
        post(client, "/language", {"language": "en"})
        self._expire(client, post, services, clock)
        page = client.get(f"/leads/{MANUAL_LEAD}/status").get_data(as_text=True)
        assert "Your reservation has expired" in page
        page = post(
            client, f"/leads/{MANUAL_LEAD}/status", LATE_STATUS, follow_redirects=True
        ).get_data(as_text=True)
        assert "Your reservation has expired: you can no longer record a status" in page


class TestRelease:
    def test_release_returns_the_lead_and_marks_it_for_him(
        self, app: Flask, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R7, R2c: back in the pool for installer2; installer1 sees the green marker."""
        login(client, "installer1")
        _claim(client, post)
        page = post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "release", "reason": "no_capacity", "note": "Voll ausgelastet"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Die Anfrage ist wieder für andere Partner verfügbar." in page
        lead = services.desk.get(_installer(services, "installer2"), MANUAL_LEAD).lead
        assert lead.status is Status.NEW
        detail = client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
        assert "img/marker.svg" in detail
        other = app.test_client()
        login(other, "installer2")
        assert other.get(f"/leads/{MANUAL_LEAD}").status_code == 200
        assert "img/marker.svg" not in other.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
        history = other.get(f"/leads/{MANUAL_LEAD}/status").get_data(as_text=True)
        assert "Anfrage wurde von einem anderen Partner wieder freigegeben" in history
        assert "Voll ausgelastet" not in history  # his note is none of installer2's business
        counts = services.desk.counts(_installer(services, "installer1"))
        assert (
            counts[Tab.MINE]
            == services.desk.tab(_installer(services, "installer1"), Tab.MINE).total
        )
