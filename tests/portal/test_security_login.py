"""Guessing passwords and probing for accounts at the login.

Failed logins are throttled per user name and per client address (Flask-Limiter,
``throttle.py``); a throttled attempt gets a German/English 429 page with
``Retry-After``, the right password included. A user name without an account costs the
same password check as a wrong password and gets the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import limits.storage.memory
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from portal_support import NOW, copy_database, log_in, portal_config, post_form, without_csrf_token

from examples.admin_app import create_app, models
from examples.admin_app.config import load_config
from examples.admin_app.models import PortalUser
from examples.admin_app.security.throttle import account_key, client_address
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.errors import ConfigurationError

ACCOUNT_LIMIT = 10  # QLEADS_RATELIMIT_LOGIN_ACCOUNT: "10 per 15 minutes"
#: Smaller limits for the tests of the mechanism (each failed login costs a slow hash).
STRICT_ACCOUNT, STRICT_CLIENT = 3, 6


def attempt(client: FlaskClient, username: str, password: str) -> Any:
    return log_in(client, username, password)


def statuses(client: FlaskClient, username: str, tries: int, password: str = "falsch") -> list[int]:
    return [attempt(client, username, password).status_code for _ in range(tries)]


@pytest.fixture
def strict(demo_database: Path, tmp_path: Path) -> Iterator[Flask]:
    """A portal whose login limits are smaller, the same in kind."""
    database = tmp_path / "strict.sqlite"
    copy_database(demo_database, database)
    app = create_app(
        portal_config(
            database,
            FrozenClock(NOW),
            QLEADS_RATELIMIT_LOGIN_ACCOUNT=f"{STRICT_ACCOUNT} per 15 minutes",
            QLEADS_RATELIMIT_LOGIN_CLIENT=f"{STRICT_CLIENT} per 15 minutes",
        )
    )
    yield app
    app.extensions["qleads"].close()


class TestBruteForce:
    def test_forty_wrong_passwords_for_one_account_are_throttled(self, client: FlaskClient) -> None:
        seen = statuses(client, "installer1", 40)
        assert seen[:ACCOUNT_LIMIT] == [200] * ACCOUNT_LIMIT
        assert seen[ACCOUNT_LIMIT:] == [429] * (40 - ACCOUNT_LIMIT)

    def test_a_throttled_account_refuses_the_right_password_too(self, client: FlaskClient) -> None:
        """Otherwise the 429 would not stop guessing: a 302 would still confirm a hit."""
        statuses(client, "installer1", ACCOUNT_LIMIT)
        assert attempt(client, "installer1", "demo").status_code == 429

    def test_the_account_limit_holds_across_client_addresses(self, strict: Flask) -> None:
        """A botnet spreading guesses for one account over many addresses is held too."""
        app = strict
        for n in range(STRICT_ACCOUNT):
            bot = app.test_client()
            bot.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
            assert attempt(bot, "installer1", "falsch").status_code == 200
        last = app.test_client()
        last.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        assert attempt(last, "installer1", "falsch").status_code == 429

    def test_case_and_blanks_do_not_make_a_new_account_bucket(self, strict: Flask) -> None:
        client = strict.test_client()
        statuses(client, "installer1", STRICT_ACCOUNT)
        assert attempt(client, " INSTALLER1 ", "falsch").status_code == 429

    def test_one_client_guessing_across_accounts_is_throttled(self, strict: Flask) -> None:
        """Password spraying: one password against many user names from one address."""
        sprayer = strict.test_client()
        tries = STRICT_CLIENT + 3
        seen = [attempt(sprayer, f"user{n}", "Sommer2026!").status_code for n in range(tries)]
        assert seen == [200] * STRICT_CLIENT + [429] * 3
        # another address is not affected, and the accounts themselves are not locked
        colleague = strict.test_client()
        colleague.environ_base["REMOTE_ADDR"] = "192.0.2.44"
        assert attempt(colleague, "installer1", "demo").status_code == 302

    def test_successful_logins_do_not_count(self, strict: Flask) -> None:
        client = strict.test_client()
        for _ in range(STRICT_CLIENT + 1):
            assert attempt(client, "installer1", "demo").status_code == 302
            post_form(client, "/logout", form="/mails/")

    def test_the_window_moves_on(self, strict: Flask, monkeypatch: Any) -> None:
        """After 15 minutes without failures the account may try again."""
        clock = FakeTime(1_800_000_000.0)
        monkeypatch.setattr(limits.storage.memory, "time", clock)
        client = strict.test_client()
        statuses(client, "installer1", STRICT_ACCOUNT)
        assert attempt(client, "installer1", "demo").status_code == 429
        clock.now += 14 * 60
        assert attempt(client, "installer1", "demo").status_code == 429
        clock.now += 60 + 1
        assert attempt(client, "installer1", "demo").status_code == 302


class FakeTime:
    """Stands in for the ``time`` module inside the limiter's memory store."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


class TestTooManyRequestsPage:
    def test_the_page_is_german_with_retry_after(self, strict: Flask) -> None:
        client = strict.test_client()
        statuses(client, "installer1", STRICT_ACCOUNT)
        response = attempt(client, "installer1", "falsch")
        assert response.status_code == 429
        assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
        page = response.get_data(as_text=True)
        assert "Zu viele Versuche" in page
        assert "Passwort vergessen?" in page
        assert response.headers["Cache-Control"] == "no-store"

    def test_the_page_is_english_for_an_english_session(self, strict: Flask) -> None:
        client = strict.test_client()
        post_form(client, "/language", data={"language": "en"}, form="/login")
        statuses(client, "installer1", STRICT_ACCOUNT)
        page = attempt(client, "installer1", "falsch").get_data(as_text=True)
        assert "Too many attempts" in page
        assert "Forgot your password?" in page


class TestUnknownAccounts:
    @pytest.fixture
    def checks(self, monkeypatch: Any) -> list[str]:
        """Every password hash the portal checks against, in order."""
        seen: list[str] = []
        real = models.check_password_hash

        def spy(password_hash: str, password: str) -> bool:
            seen.append(password_hash)
            return real(password_hash, password)

        monkeypatch.setattr(models, "check_password_hash", spy)
        return seen

    @staticmethod
    def method(password_hash: str) -> str:
        """``scrypt:32768:8:1`` — the algorithm and its cost, before the salt."""
        return password_hash.split("$", 1)[0]

    def test_an_unknown_user_costs_the_same_password_check(
        self, client: FlaskClient, services: Services, checks: list[str]
    ) -> None:
        with services.read_sessions() as db:
            stored = db.scalar(
                sa.select(PortalUser.password_hash).where(PortalUser.username == "installer1")
            )
        assert stored is not None
        attempt(client, "niemand", "falsch")
        assert len(checks) == 1
        assert self.method(checks[0]) == self.method(stored)
        assert checks[0] != stored

    def test_a_wrong_password_costs_one_check(self, client: FlaskClient, checks: list[str]) -> None:
        attempt(client, "installer1", "falsch")
        assert len(checks) == 1

    def test_an_inactive_account_is_checked_like_any_other(
        self, client: FlaskClient, services: Services, checks: list[str]
    ) -> None:
        with services.sessions() as db, db.begin():
            user = db.scalar(sa.select(PortalUser).where(PortalUser.username == "installer2"))
            assert user is not None
            user.active = False
        assert attempt(client, "installer2", "demo").status_code == 200
        assert len(checks) == 1

    def test_the_answer_names_no_account(self, app: Flask) -> None:
        """Unknown user and wrong password: the same page, byte for byte (but the
        form's token and the echoed user name)."""
        pages = []
        for username in ("niemand", "installer1"):
            page = attempt(app.test_client(), username, "falsch").get_data(as_text=True)
            pages.append(without_csrf_token(page).replace(f'value="{username}"', 'value=""'))
        assert pages[0] == pages[1]
        assert "Benutzername oder Passwort ist falsch." in pages[0]


class TestSettings:
    def test_a_bad_limit_is_refused_when_the_app_is_made(self) -> None:
        with pytest.raises(ConfigurationError, match="QLEADS_RATELIMIT_LOGIN_ACCOUNT"):
            load_config(
                {"SECRET_KEY": "x", "QLEADS_RATELIMIT_LOGIN_ACCOUNT": "zehn pro Stunde"},
                environ={},
            )

    def test_limits_and_store_come_from_the_environment(self) -> None:
        config = load_config(
            {"SECRET_KEY": "x"},
            environ={
                "QLEADS_RATELIMIT_STORAGE_URI": "redis://limits.internal:6379/0",
                "QLEADS_RATELIMIT_API_TOKEN": "600 per minute",
            },
        )
        assert config["QLEADS_RATELIMIT_STORAGE_URI"] == "redis://limits.internal:6379/0"
        assert config["QLEADS_RATELIMIT_API_TOKEN"] == "600 per minute"

    def test_a_stricter_limit_takes_effect(self, strict: Flask) -> None:
        seen = statuses(strict.test_client(), "rep1", STRICT_ACCOUNT + 1)
        assert seen == [200] * STRICT_ACCOUNT + [429]


class TestKeys:
    @pytest.mark.parametrize(
        ("remote", "key"),
        [
            ("203.0.113.9", "203.0.113.9"),
            ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ],
    )
    def test_an_ipv6_client_counts_as_its_64_network(
        self, app: Flask, remote: str, key: str
    ) -> None:
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": remote}):
            assert client_address() == key

    def test_a_user_name_reaches_the_store_only_as_a_digest(self) -> None:
        key = account_key("Installer1 ")
        assert key == account_key("installer1")
        assert "installer1" not in key.lower()
