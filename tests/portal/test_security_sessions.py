"""Sessions end on the server: a copied session cookie is worth nothing after a logout,
a password change or reset, a deactivation or an admin's password reset.

Each test logs in through the form, copies the real session cookie as an attacker who got
hold of it would, lets the event happen, and replays the cookie from a fresh client (the
attacker's browser): it must get the login page, never the customer's contact data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from portal_support import (
    NOW,
    copy_database,
    log_in,
    portal_config,
    post_form,
    replay,
    session_cookie,
)

from examples.admin_app import create_app
from examples.admin_app.migrations import VERSION_TABLE
from examples.admin_app.models import PortalUser
from examples.admin_app.security.auth import load_session_user
from examples.admin_app.security.password_reset import issue_link
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock

MANUAL_LEAD = 1
CUSTOMER = "Test3 DEipzig"  # the manual lead's contact name (R16: shown to the holder)


def _user(services: Services, username: str) -> PortalUser:
    with services.read_sessions() as db:
        user = db.scalar(sa.select(PortalUser).where(PortalUser.username == username))
    assert user is not None
    return user


def _holder_with_cookie(app: Flask) -> tuple[FlaskClient, str]:
    """installer1 claims the manual lead and sees its contact data; his cookie is copied."""
    client = app.test_client()
    assert log_in(client, "installer1").status_code == 302
    post_form(client, f"/leads/{MANUAL_LEAD}/claim")
    assert CUSTOMER in client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
    return client, session_cookie(client)


def _is_login_page(response: Any) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def _replayed_sees_lead(app: Flask, cookie: str) -> Any:
    response = replay(app.test_client(), cookie).get(f"/leads/{MANUAL_LEAD}")
    assert CUSTOMER not in response.get_data(as_text=True)
    return response


class TestReplayedCookie:
    def test_the_copied_cookie_works_while_the_session_lives(self, app: Flask) -> None:
        """The attack is real: before any of the events below the copy opens the lead."""
        _client, cookie = _holder_with_cookie(app)
        page = replay(app.test_client(), cookie).get(f"/leads/{MANUAL_LEAD}")
        assert page.status_code == 200
        assert CUSTOMER in page.get_data(as_text=True)

    def test_after_logout_the_copied_cookie_gets_the_login_page(self, app: Flask) -> None:
        client, cookie = _holder_with_cookie(app)
        assert _is_login_page(post_form(client, "/logout"))
        assert _is_login_page(_replayed_sees_lead(app, cookie))

    def test_logout_ends_the_session_on_every_device(self, app: Flask) -> None:
        """One logout ends all sessions of the login: the session token is per user."""
        client, _cookie = _holder_with_cookie(app)
        laptop = app.test_client()
        assert log_in(laptop, "installer1").status_code == 302
        post_form(client, "/logout")
        assert _is_login_page(laptop.get(f"/leads/{MANUAL_LEAD}"))

    def test_after_a_password_change_the_copied_cookie_gets_the_login_page(
        self, app: Flask
    ) -> None:
        client, cookie = _holder_with_cookie(app)
        response = post_form(
            client,
            "/account/password",
            {"current": "demo", "new": "ein-neues-passwort", "repeat": "ein-neues-passwort"},
        )
        assert response.status_code == 302
        assert _is_login_page(_replayed_sees_lead(app, cookie))
        # the session that changed the password goes on
        assert CUSTOMER in client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)

    def test_after_an_admins_password_reset_the_copied_cookie_gets_the_login_page(
        self, app: Flask, services: Services
    ) -> None:
        _client, cookie = _holder_with_cookie(app)
        user = _user(services, "installer1")
        admin = app.test_client()
        log_in(admin, "admin")
        edit = f"/admin/users/edit/?id={user.id}"
        response = post_form(
            admin,
            edit,
            data={
                "username": "installer1",
                "password": "vom-admin-gesetzt",
                "role": "installer",
                "actor_id": "installer1",
                "language": "de",
                "active": "y",
            },
            form=edit,
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
        assert _is_login_page(_replayed_sees_lead(app, cookie))
        assert log_in(app.test_client(), "installer1", "vom-admin-gesetzt").status_code == 302

    def test_after_deactivation_and_reactivation_the_copied_cookie_stays_dead(
        self, app: Flask, services: Services
    ) -> None:
        _client, cookie = _holder_with_cookie(app)
        user = _user(services, "installer1")
        admin = app.test_client()
        log_in(admin, "admin")
        edit = f"/admin/users/edit/?id={user.id}"
        fields = {
            "username": "installer1",
            "role": "installer",
            "actor_id": "installer1",
            "language": "de",
        }
        off = post_form(admin, edit, data={**fields}, form=edit)
        assert off.status_code == 302
        assert _is_login_page(_replayed_sees_lead(app, cookie))
        on = post_form(admin, edit, data={**fields, "active": "y"}, form=edit)
        assert on.status_code == 302
        assert _user(services, "installer1").active
        assert _is_login_page(_replayed_sees_lead(app, cookie))

    def test_after_a_reset_by_mail_the_copied_cookie_gets_the_login_page(
        self, app: Flask, services: Services
    ) -> None:
        _client, cookie = _holder_with_cookie(app)
        token = issue_link(services, _user(services, "installer1").id, dt.timedelta(hours=1))
        visitor = app.test_client()
        url = f"/password/reset/{token}"
        response = post_form(
            visitor, url, data={"new": "per-mail-gesetzt", "repeat": "per-mail-gesetzt"}, form=url
        )
        assert response.status_code == 302
        assert _is_login_page(_replayed_sees_lead(app, cookie))

    @pytest.mark.parametrize("forged", ["1", "1:", "1:guess", "x:y", ""])
    def test_a_session_without_the_current_token_is_no_session(
        self, app: Flask, services: Services, forged: str
    ) -> None:
        """The loader accepts ``<id>:<token>`` with the user's current token only (a
        cookie from before the token existed held the bare id)."""
        user = _user(services, "installer1")
        with app.test_request_context("/"):
            assert load_session_user(forged.replace("1", str(user.id), 1)) is None
            assert load_session_user(user.get_id()) is not None


class TestExistingDatabase:
    """A portal database made before session tokens existed keeps working."""

    @staticmethod
    def downgrade(engine: sa.Engine) -> None:
        """Back to a portal whose tables ``create_all`` made: no reset links, no session
        tokens, and no record of the portal's migrations."""
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE portal_password_resets")
            conn.exec_driver_sql("ALTER TABLE portal_users DROP COLUMN session_token")
            conn.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")

    def check_upgraded(self, app: Flask) -> None:
        services: Services = app.extensions["qleads"]
        columns = {c["name"] for c in sa.inspect(services.engine).get_columns("portal_users")}
        assert "session_token" in columns
        assert sa.inspect(services.engine).has_table("portal_password_resets")
        with services.read_sessions() as db:
            tokens = db.scalars(sa.select(PortalUser.session_token)).all()
        assert tokens
        assert all(tokens)
        assert len(set(tokens)) == len(tokens)

    def test_a_demo_database_from_before_gets_the_column(
        self, demo_database: Path, tmp_path: Path
    ) -> None:
        database = tmp_path / "old.sqlite"
        copy_database(demo_database, database)
        self.downgrade(sa.create_engine(f"sqlite:///{database}"))
        app = create_app(portal_config(database, FrozenClock(NOW)))
        try:
            self.check_upgraded(app)
            client = app.test_client()
            assert log_in(client, "installer1").status_code == 302
            assert client.get("/installer/").status_code == 200
            with app.test_request_context("/"):
                user = _user(app.extensions["qleads"], "installer1")
                assert load_session_user(str(user.id)) is None  # an old cookie's content
        finally:
            app.extensions["qleads"].close()

    @pytest.mark.postgres
    def test_a_postgresql_database_from_before_gets_the_column(
        self, postgres_url: str, tmp_path: Path
    ) -> None:
        config = portal_config(tmp_path / "unused.sqlite", FrozenClock(NOW))
        config.update(QLEADS_DATABASE_URL=postgres_url, QLEADS_DEMO=False)
        first = create_app(config)
        services: Services = first.extensions["qleads"]
        with services.sessions() as db, db.begin():
            user = PortalUser(username="alt", role="admin", actor_id="admin", language="de")
            user.set_password("ein-altes-passwort")
            db.add(user)
        self.downgrade(services.engine)
        services.close()
        again = create_app(config)
        try:
            self.check_upgraded(again)
        finally:
            again.extensions["qleads"].close()
