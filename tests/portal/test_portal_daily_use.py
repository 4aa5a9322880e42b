"""The portal's forms and words as the server sends them: a status dated before the
claim (R6), the history by effective date (R13), the release form, linked mails, the
admin area's labels and the favicon. (The same in a browser: tests/browser.)"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from examples.admin_app.mails import linked
from examples.admin_app.services import Services
from qleads.lifecycle import Status

MANUAL_LEAD = 1


def _claim(client: FlaskClient, post: Any) -> None:
    post(client, f"/leads/{MANUAL_LEAD}/claim", follow_redirects=True)


class TestStatusDate:
    def test_a_day_before_the_claim_is_refused_with_its_reason(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R6: claimed on 20.11.2026, so the 19th is refused and nothing is stored."""
        login(client, "installer1")
        _claim(client, post)
        page = post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "first_contact", "date": "2026-11-19", "channel": "phone"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert (
            "Das Datum darf nicht vor der Übernahme bzw. Zuteilung der Anfrage (20.11.2026) "
            "liegen." in page
        )
        admin = services.directory.admin("admin")
        assert services.desk.get(admin, MANUAL_LEAD).lead.status is Status.CLAIMED

    def test_the_form_offers_no_day_before_the_claim(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        login(client, "installer1")
        _claim(client, post)
        page = client.get(f"/leads/{MANUAL_LEAD}/status").get_data(as_text=True)
        assert 'min="2026-11-20"' in page
        assert 'max="2026-11-20"' in page

    def test_in_english_too(self, login: Any, post: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        _claim(client, post)
        post(client, "/language", {"language": "en"})
        page = post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "first_contact", "date": "2026-11-19"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "The date may not lie before the request was claimed or assigned" in page
        assert "(20/11/2026)" in page


class TestReleaseForm:
    def test_date_and_channel_belong_to_a_work_status_only(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """The page marks them so that choosing a release hides them (portal.js)."""
        login(client, "installer1")
        _claim(client, post)
        page = client.get(f"/leads/{MANUAL_LEAD}/status").get_data(as_text=True)
        for field in ("date", "channel"):
            found = re.search(rf'<div class="field work-only">\s*<label for="{field}"', page)
            assert found is not None, field
        assert re.search(r'<div class="field release-only">\s*<label for="reason"', page)


class TestMailLinks:
    def test_the_portals_addresses_become_links_to_its_pages(self, app: Flask) -> None:
        with app.test_request_context():
            body = linked(
                "Neue Anfrage: http://portal.test/leads/17.\n"
                "Mehr: https://example.org/a?b=1&c=<x> und <script>alert(1)</script>"
            )
        assert '<a href="/leads/17">http://portal.test/leads/17</a>.' in body
        assert (
            '<a href="https://example.org/a?b=1&amp;c=" rel="noopener noreferrer" '
            'target="_blank">https://example.org/a?b=1&amp;c=</a>' in body
        )
        assert "<script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body

    def test_a_mail_page_links_the_lead(self, login: Any, client: FlaskClient) -> None:
        login(client, "admin")
        inbox = client.get("/mails/").get_data(as_text=True)
        first = re.search(r'href="/mails/(\d+)"', inbox)
        assert first is not None
        page = client.get(f"/mails/{first.group(1)}").get_data(as_text=True)
        assert re.search(r'<a href="/leads/\d+">http://portal\.test/leads/\d+</a>', page)


class TestAdminWords:
    def test_roles_kinds_and_states_by_name(self, login: Any, client: FlaskClient) -> None:
        login(client, "admin")
        users = client.get("/admin/users/").get_data(as_text=True)
        assert 'lang="de"' in users
        for name in ("Installateur", "Vertriebsmitarbeiter", "Administrator"):
            assert f">{name}</td>" in re.sub(r"\s+<", "<", users)
        assert not re.search(r'class="col-role">\s*(installer|rep|admin)\s*<', users)
        outbox = re.sub(r"\s+<", "<", client.get("/admin/outbox/").get_data(as_text=True))
        assert ">Neue Anfrage</td>" in outbox
        assert 'class="col-kind">new_lead' not in outbox
        assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", outbox)  # no ISO instants

    def test_no_rule_numbers_in_the_policy_form(self, login: Any, client: FlaskClient) -> None:
        login(client, "admin")
        page = client.get("/admin/policy/").get_data(as_text=True)
        labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", page, flags=re.S))
        assert "Haltefrist" in labels
        assert re.search(r"\bR\d+\b", labels) is None

    def test_delete_asks_through_admin_js_not_inline(self, login: Any, client: FlaskClient) -> None:
        login(client, "admin")
        page = client.get("/admin/users/").get_data(as_text=True)
        assert "onclick" not in page
        assert "javascript:" not in page
        assert page.count("data-confirm=") >= 13  # a delete button per login, and the batch
        assert "/static/admin.js" in page


def test_the_favicon_answers(client: FlaskClient) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
