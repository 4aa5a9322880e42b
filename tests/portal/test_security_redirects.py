"""Open redirects: whatever ``next=`` says, the login sends the
user to a page of this site — never to ``//evil.example``, ``https://evil.example`` or
``/\\evil.example`` (which browsers read as ``//evil.example``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from portal_support import post_form

EVIL = [
    "//evil.example",
    "//evil.example/admin/",
    "https://evil.example",
    "https://evil.example/login",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    "https:/\\evil.example",
]


def log_in_with_next(client: FlaskClient, username: str, target: str) -> Any:
    """Open the login page with ``next=target`` and submit its form as a browser would
    (the hidden ``next`` field as the page rendered it), then also with ``target``
    forged into the form."""
    return post_form(
        client,
        "/login",
        data={"username": username, "password": "demo", "next": target},
        form="/login?" + urlencode({"next": target}),
    )


def assert_on_site(response: Any) -> None:
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http"), location
    assert parts.netloc in ("", "localhost"), location
    assert location.startswith("/"), location
    assert not location.startswith("//"), location
    assert "\\" not in location, location
    assert "evil.example" not in location, location


class TestNextAfterLogin:
    @pytest.mark.parametrize("target", EVIL)
    def test_a_foreign_next_stays_on_the_site(self, client: FlaskClient, target: str) -> None:
        assert_on_site(log_in_with_next(client, "installer1", target))

    def test_a_page_of_the_site_is_followed(self, client: FlaskClient) -> None:
        """The control: a local ``next`` is where the user lands."""
        response = log_in_with_next(client, "admin", "/admin/outbox/")
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/outbox/"

    def test_the_admin_area_sends_back_after_login(self, client: FlaskClient) -> None:
        """Anonymous → login with ``next`` → back to the admin page."""
        first = client.get("/admin/unrouted/")
        target = urlsplit(first.headers["Location"])
        assert target.path == "/login"
        query = dict(p.split("=", 1) for p in target.query.split("&"))
        response = log_in_with_next(client, "admin", query["next"])
        assert response.headers["Location"] == "/admin/unrouted/"

    @pytest.mark.parametrize("target", EVIL)
    def test_the_login_page_never_renders_a_foreign_next(
        self, client: FlaskClient, target: str
    ) -> None:
        """The rendered hidden field may carry the value, but escaped; it is checked
        again on submit (above)."""
        page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
        assert '<a href="//evil.example' not in page
        assert 'href="https://evil.example' not in page
