"""Passwords and users: the admin edits existing logins, everybody changes his own
password, and "Passwort vergessen" mails a single-use, time-limited link through the
mail outbox (R10) that reveals nothing about which accounts exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from portal_support import log_in, post_form

from examples.admin_app.background import run_once
from examples.admin_app.models import PasswordReset, PortalMail, PortalUser
from examples.admin_app.security.password_reset import KEY_PREFIX
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.mail import DeliveryState, OutboxEntry

SUBJECTS = ("Lead Management: Passwort zurücksetzen", "Lead Management: reset your password")
LINK = re.compile(r"http://portal\.test/password/reset/([A-Za-z0-9_-]+)")


def user_named(services: Services, username: str) -> PortalUser:
    with services.read_sessions() as db:
        user = db.scalar(sa.select(PortalUser).where(PortalUser.username == username))
    assert user is not None
    return user


def database_dump(services: Services, *, leave_out: set[str]) -> str:
    """Every row of every table of the portal's database, as text."""
    with services.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        return "\n".join(
            str(row)
            for table in tables
            if table not in leave_out
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))
        )


def reset_mails(services: Services) -> list[OutboxEntry]:
    """The outbox rows of reset mails."""
    return [e for e in services.outbox.entries() if e.key.startswith(f"{KEY_PREFIX}:")]


def reset_rows(services: Services) -> int:
    with services.read_sessions() as db:
        return len(db.scalars(sa.select(PasswordReset)).all())


def can_log_in(app: Flask, username: str, password: str) -> bool:
    return bool(log_in(app.test_client(), username, password).status_code == 302)


def mails_to(services: Services, address: str) -> list[PortalMail]:
    with services.read_sessions() as db:
        return list(
            db.scalars(
                sa.select(PortalMail)
                .where(PortalMail.recipients == address)
                .where(PortalMail.subject.in_(SUBJECTS))
                .order_by(PortalMail.id)
            )
        )


def ask_for_link(app: Flask, username: str, client: FlaskClient | None = None) -> Any:
    """POST the form and wait for the after-answer thread, which stores the link and its
    mail once the answer is on its way."""
    client = client or app.test_client()
    response = post_form(
        client, "/password/forgot", data={"username": username}, form="/password/forgot"
    )
    finish_after_answer(app)
    return response


def finish_after_answer(app: Flask) -> None:
    services = app.extensions["qleads"]
    assert isinstance(services, Services)
    services.after_answer.submit(lambda: None).result(timeout=30)


def link_for(app: Flask, services: Services, username: str, address: str) -> str:
    """Ask for a link as ``username`` would, let the outbox deliver, read his mail."""
    before = len(mails_to(services, address))
    assert ask_for_link(app, username).status_code == 302
    run_once(services)
    mails = mails_to(services, address)
    assert len(mails) == before + 1
    found = LINK.search(mails[-1].text_body())
    assert found is not None, mails[-1].text_body()
    return found.group(1)


def set_password(app: Flask, token: str, password: str, repeat: str | None = None) -> Any:
    client = app.test_client()
    url = f"/password/reset/{token}"
    page = client.get(url)
    if page.status_code != 200:
        return page
    return post_form(
        client,
        url,
        data={"new": password, "repeat": password if repeat is None else repeat},
        form=url,
    )


class TestAdminEditsUsers:
    def edit(self, app: Flask, services: Services, who: str, **changes: str) -> Any:
        user = user_named(services, who)
        admin = app.test_client()
        log_in(admin, "admin")
        url = f"/admin/users/edit/?id={user.id}"
        data = {
            "username": user.username,
            "role": user.role,
            "actor_id": user.actor_id,
            "language": user.language,
            "active": "y",
            **changes,
        }
        return post_form(admin, url, data=data, form=url)

    def test_an_admin_saves_an_existing_user(self, app: Flask, services: Services) -> None:
        """Before, every save of an existing login failed with "Existiert bereits"."""
        response = self.edit(app, services, "installer2", language="en")
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
        assert user_named(services, "installer2").language == "en"

    def test_renaming_to_a_taken_name_is_still_refused(
        self, app: Flask, services: Services
    ) -> None:
        response = self.edit(app, services, "installer2", username="installer1")
        assert response.status_code == 200
        assert user_named(services, "installer2").actor_id == "installer2"

    def test_a_password_set_by_the_admin_needs_ten_characters(
        self, app: Flask, services: Services
    ) -> None:
        assert self.edit(app, services, "installer2", password="kurz-123").status_code == 200
        assert can_log_in(app, "installer2", "demo")
        assert self.edit(app, services, "installer2", password="lang-genug-1").status_code == 302
        assert can_log_in(app, "installer2", "lang-genug-1")
        assert not can_log_in(app, "installer2", "demo")


class TestOwnPassword:
    def change(self, client: FlaskClient, current: str, new: str, repeat: str | None = None) -> Any:
        return post_form(
            client,
            "/account/password",
            {"current": current, "new": new, "repeat": new if repeat is None else repeat},
        )

    @pytest.mark.parametrize("username", ["installer1", "rep1"])
    def test_installers_and_reps_change_their_password(
        self, app: Flask, client: FlaskClient, username: str
    ) -> None:
        log_in(client, username)
        assert "Passwort ändern" in client.get("/account/password").get_data(as_text=True)
        response = self.change(client, "demo", "mein-neues-passwort")
        assert response.status_code == 302
        assert can_log_in(app, username, "mein-neues-passwort")
        assert not can_log_in(app, username, "demo")

    def test_the_current_password_is_required(self, app: Flask, client: FlaskClient) -> None:
        log_in(client, "installer1")
        page = self.change(client, "falsch", "mein-neues-passwort").get_data(as_text=True)
        assert "Das aktuelle Passwort ist nicht richtig." in page
        assert can_log_in(app, "installer1", "demo")

    @pytest.mark.parametrize(
        ("new", "repeat", "message"),
        [
            ("kurz", None, "mindestens 10"),
            ("x" * 201, None, "höchstens 200"),
            ("mein-neues-passwort", "mein-anderes-passwort", "stimmen nicht überein"),
        ],
    )
    def test_a_bad_new_password_is_refused(
        self, app: Flask, client: FlaskClient, new: str, repeat: str | None, message: str
    ) -> None:
        log_in(client, "installer1")
        page = self.change(client, "demo", new, repeat).get_data(as_text=True)
        assert message in page
        assert can_log_in(app, "installer1", "demo")

    def test_guessing_the_current_password_is_throttled_like_the_login(
        self, app: Flask, client: FlaskClient
    ) -> None:
        """A stolen session is no faster way to guess: same bucket as failed logins."""
        log_in(client, "installer1")
        seen = [self.change(client, "falsch", "mein-neues-passwort").status_code for _ in range(11)]
        assert seen == [200] * 10 + [429]
        assert log_in(app.test_client(), "installer1", "demo").status_code == 429

    def test_anonymous_visitors_are_sent_to_the_login(self, client: FlaskClient) -> None:
        response = client.get("/account/password")
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


class TestForgottenPassword:
    def test_the_link_arrives_in_the_demo_mailbox_and_sets_a_new_password(
        self, app: Flask, services: Services
    ) -> None:
        token = link_for(app, services, "installer1", "installer1@example.com")
        # the demo mailbox shows it to its recipient
        reader = app.test_client()
        log_in(reader, "installer1")
        inbox = reader.get("/mails/").get_data(as_text=True)
        assert "Lead Management: Passwort zurücksetzen" in inbox
        response = set_password(app, token, "nach-dem-vergessen")
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
        assert can_log_in(app, "installer1", "nach-dem-vergessen")
        assert not can_log_in(app, "installer1", "demo")

    def test_the_mail_says_how_long_the_link_works(self, app: Flask, services: Services) -> None:
        link_for(app, services, "rep1", "rep1@example.com")
        mail = mails_to(services, "rep1@example.com")[-1]
        body = mail.text_body()
        assert "Guten Tag Sandra Vogel," in body
        assert "60 Minuten und nur einmal" in body
        assert mail.message()["To"] == "Sandra Vogel <rep1@example.com>"

    def test_an_english_user_gets_an_english_mail(self, app: Flask, services: Services) -> None:
        with services.sessions() as db, db.begin():
            user = db.scalar(sa.select(PortalUser).where(PortalUser.username == "installer2"))
            assert user is not None
            user.language = "en"
        link_for(app, services, "installer2", "installer2@example.com")
        mail = mails_to(services, "installer2@example.com")[-1]
        assert mail.subject == "Lead Management: reset your password"
        assert "works for 60 minutes and only once" in mail.text_body()

    def test_the_link_works_once(self, app: Flask, services: Services) -> None:
        token = link_for(app, services, "installer1", "installer1@example.com")
        assert set_password(app, token, "erstes-neues-passwort").status_code == 302
        again = set_password(app, token, "zweites-neues-passwort")
        assert again.status_code == 404
        assert "Link ungültig" in again.get_data(as_text=True)
        assert can_log_in(app, "installer1", "erstes-neues-passwort")

    def test_the_link_expires_after_an_hour(
        self, app: Flask, services: Services, clock: FrozenClock
    ) -> None:
        token = link_for(app, services, "installer1", "installer1@example.com")
        clock.advance(dt.timedelta(minutes=59))
        assert set_password(app, token, "x" * 12, "y" * 12).status_code == 200  # still valid
        clock.advance(dt.timedelta(minutes=1))
        assert set_password(app, token, "nach-einer-stunde").status_code == 404
        assert can_log_in(app, "installer1", "demo")

    def test_asking_again_voids_the_earlier_link(self, app: Flask, services: Services) -> None:
        first = link_for(app, services, "installer1", "installer1@example.com")
        second = link_for(app, services, "installer1", "installer1@example.com")
        assert set_password(app, first, "vom-ersten-link").status_code == 404
        assert set_password(app, second, "vom-zweiten-link").status_code == 302

    def test_the_token_is_stored_only_as_its_hash(self, app: Flask, services: Services) -> None:
        """Once its mail is sent, the token is nowhere in the database but as its hash:
        the outbox wiped the message (the demo mailbox, standing in for the recipient's
        mail server, is the one table left out)."""
        token = link_for(app, services, "installer1", "installer1@example.com")
        with services.read_sessions() as db:
            rows = db.scalars(sa.select(PasswordReset)).all()
        assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        assert token not in database_dump(services, leave_out={"portal_mails"})

    def test_until_it_is_sent_the_token_waits_in_the_outbox_alone(
        self, app: Flask, services: Services
    ) -> None:
        assert ask_for_link(app, "installer1").status_code == 302
        [pending] = reset_mails(services)
        assert pending.state is DeliveryState.PENDING
        content = pending.message.content if pending.message else None
        assert content is not None
        found = LINK.search(content.text)
        assert found is not None
        token = found.group(1)
        elsewhere = database_dump(services, leave_out={"portal_mails", "qleads_outbox"})
        assert token not in elsewhere
        assert hashlib.sha256(token.encode()).hexdigest() in elsewhere

    def test_the_admins_outbox_pages_list_the_mail_but_never_its_link(
        self, app: Flask, services: Services
    ) -> None:
        """The pending mail is a row of the outbox an admin reads (R10); its text, which
        holds the token, is on no page and in no export."""
        assert ask_for_link(app, "installer1").status_code == 302
        [pending] = reset_mails(services)
        content = pending.message.content if pending.message else None
        assert content is not None
        found = LINK.search(content.text)
        assert found is not None
        admin = app.test_client()
        log_in(admin, "admin")
        for url in ("/admin/outbox/", "/admin/failed_mails/", "/admin/outbox/export/csv/"):
            response = admin.get(url)
            assert response.status_code == 200, url
            assert found.group(1) not in response.get_data(as_text=True)

    def test_a_bad_new_password_keeps_the_link(self, app: Flask, services: Services) -> None:
        token = link_for(app, services, "installer1", "installer1@example.com")
        page = set_password(app, token, "kurz").get_data(as_text=True)
        assert "mindestens 10" in page
        assert set_password(app, token, "jetzt-lang-genug").status_code == 302

    @pytest.mark.parametrize("token", ["erfunden", "a" * 43, "a" * 500, "%00"])
    def test_an_unknown_link_is_refused(self, client: FlaskClient, token: str) -> None:
        response = client.get(f"/password/reset/{token}")
        assert response.status_code == 404
        assert "Neuen Link anfordern" in response.get_data(as_text=True)


class TestNothingAboutAccountsLeaks:
    def test_known_unknown_and_inactive_names_get_the_same_answer(
        self, app: Flask, services: Services
    ) -> None:
        with services.sessions() as db, db.begin():
            user = db.scalar(sa.select(PortalUser).where(PortalUser.username == "installer3"))
            assert user is not None
            user.active = False
        answers = []
        for username in ("installer1", "niemand", "installer3"):
            client = app.test_client()
            response = ask_for_link(app, username, client)
            answers.append(
                (
                    response.status_code,
                    response.headers["Location"],
                    client.get("/login").get_data(as_text=True).count("Wenn es zu diesem"),
                )
            )
        assert answers[0] == answers[1] == answers[2] == (302, "/login", 1)
        run_once(services)
        assert len(mails_to(services, "installer1@example.com")) == 1
        assert mails_to(services, "installer3@example.com") == []

    def test_the_answer_is_complete_before_the_account_is_looked_at(
        self, app: Flask, services: Services
    ) -> None:
        """The lookup, the token and the mail happen on the after-answer thread, so the
        answer's timing cannot tell a known name from an unknown one: the whole answer,
        for either, exists while the thread has not looked at the name yet."""
        held = threading.Event()
        services.after_answer.submit(held.wait, 30)
        responses = []
        for username in ("installer1", "niemand"):
            client = app.test_client()
            responses.append(
                post_form(
                    client, "/password/forgot", data={"username": username}, form="/password/forgot"
                )
            )
        known, unknown = ((r.status_code, r.headers["Location"], r.data) for r in responses)
        assert known == unknown
        assert reset_rows(services) == 0
        assert reset_mails(services) == []
        held.set()
        finish_after_answer(app)
        assert reset_rows(services) == 1
        assert [e.state for e in reset_mails(services)] == [DeliveryState.PENDING]

    def test_requests_are_throttled_per_user_name(self, app: Flask) -> None:
        """3 per hour and name (no mail bomb), however many addresses ask."""
        seen = []
        for n in range(4):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
            seen.append(ask_for_link(app, "installer1", client).status_code)
        assert seen == [302, 302, 302, 429]

    def test_requests_are_throttled_per_client(self, client: FlaskClient, app: Flask) -> None:
        seen = [ask_for_link(app, f"name{n}", client).status_code for n in range(11)]
        assert seen == [302] * 10 + [429]
