"""What the portal offers operators: /healthz and /readyz, /metrics behind a bearer
token, the Flask CLI commands, and no development server outside the demo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from portal_support import NOW, copy_database, log_in, portal_config, post_form

from examples.admin_app import create_app
from examples.admin_app.__main__ import GUNICORN_COMMAND
from examples.admin_app.__main__ import main as portal_main
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.mail import OutboxMessage, RenderedMail

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def metrics_app(demo_database: Path, tmp_path: Path, clock: FrozenClock):
    database = tmp_path / "portal.sqlite"
    copy_database(demo_database, database)
    app = create_app(
        portal_config(database, clock, QLEADS_METRICS=True, QLEADS_METRICS_TOKEN=TOKEN)
    )
    yield app
    app.extensions["qleads"].close()


class TestHealth:
    def test_healthz_answers_without_login(self, app: Flask) -> None:
        response = app.test_client().get("/healthz")
        assert (response.status_code, response.json) == (200, {"status": "ok"})

    def test_readyz_is_ok_on_a_current_schema_with_a_fresh_outbox(
        self, app: Flask, services: Services
    ) -> None:
        services.dispatcher.dispatch_all()
        response = app.test_client().get("/readyz")
        assert response.status_code == 200, response.json
        assert response.json["status"] == "ok"

    def test_readyz_fails_when_the_outbox_is_not_delivered(
        self, app: Flask, services: Services, clock: FrozenClock
    ) -> None:
        services.outbox.enqueue_message(
            OutboxMessage(
                "ops-test", "ops@example.org", RenderedMail("Betreff", "Text"), clock.now()
            )
        )
        clock.advance(dt.timedelta(hours=2))
        app.config["QLEADS_READY_MAX_OUTBOX_AGE"] = 60.0
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json["reason"] == "outbox not delivered"
        assert response.json["oldest_pending_age_seconds"] > 60

    def test_readyz_fails_on_an_old_schema(self, app: Flask, services: Services) -> None:
        with services.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE portal_alembic_version SET version_num = 'p0000'")
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json == {
            "status": "unavailable",
            "reason": "schema not at the head revision",
        }

    def test_readyz_fails_when_the_database_is_gone(self, tmp_path: Path) -> None:
        database = tmp_path / "gone.sqlite"
        app = create_app(portal_config(database, FrozenClock(NOW), QLEADS_DEMO=False))
        services: Services = app.extensions["qleads"]
        services.engine.dispose()
        database.unlink()
        database.mkdir()  # a directory where the file was: nothing can open it
        try:
            response = app.test_client().get("/readyz")
        finally:
            services.close()
        assert response.status_code == 503
        assert response.json["reason"] == "database unreachable"


class TestMetrics:
    def test_off_by_default(self, app: Flask) -> None:
        assert app.test_client().get("/metrics").status_code == 404

    def test_needs_a_token_when_on(self, tmp_path: Path) -> None:
        from qleads.errors import ConfigurationError

        with pytest.raises(ConfigurationError, match="QLEADS_METRICS_TOKEN"):
            create_app(portal_config(tmp_path / "x.sqlite", FrozenClock(NOW), QLEADS_METRICS=True))

    def test_refused_without_the_bearer_token(self, metrics_app: Flask) -> None:
        client = metrics_app.test_client()
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401

    def test_counts_requests_claims_and_the_database(self, metrics_app: Flask) -> None:
        client = metrics_app.test_client()
        log_in(client, "installer1")
        services: Services = metrics_app.extensions["qleads"]
        with services.engine.connect() as conn:
            new = conn.exec_driver_sql(
                "SELECT id FROM qleads_lead WHERE status = 'new' AND territory_id IN "
                "(SELECT id FROM qleads_territory WHERE rep_id = "
                "(SELECT rep_id FROM qleads_installer WHERE id = 'installer1')) LIMIT 1"
            ).scalar()
        assert new is not None
        post_form(client, f"/leads/{new}/claim", form=f"/leads/{new}")
        post_form(client, f"/leads/{new}/claim", form=f"/leads/{new}")  # his already
        other = metrics_app.test_client()
        log_in(other, "installer2")  # shares the territory (the demo's logins)
        post_form(other, f"/leads/{new}/claim")  # taken: a conflict
        body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert body.status_code == 200
        text = body.get_data(as_text=True)
        assert 'qleads_http_request_duration_seconds_count{endpoint="auth.login"' in text
        assert 'qleads_leads{status="new"}' in text
        assert 'qleads_lead_events_total{kind="claimed"}' in text
        assert 'qleads_outbox_rows{state="pending"}' in text
        assert "qleads_outbox_oldest_pending_age_seconds" in text
        assert "qleads_mail_delivery_attempts_total" in text
        assert "qleads_deadline_lag_seconds" in text
        assert 'qleads_claim_attempts_total{outcome="won"} 1.0' in text
        assert 'qleads_claim_attempts_total{outcome="refused"} 1.0' in text
        assert 'qleads_claim_attempts_total{outcome="conflict"} 1.0' in text


class TestCommands:
    def _runner(self, app: Flask):
        return app.test_cli_runner()

    def test_create_admin_and_log_in(self, app: Flask, monkeypatch) -> None:
        monkeypatch.setenv("ADMIN_PW", "a-long-admin-password")
        result = self._runner(app).invoke(
            args=["create-admin", "boss", "--name", "Chef", "--password-env", "ADMIN_PW"]
        )
        assert result.exit_code == 0, result.output
        client = app.test_client()
        response = log_in(client, "boss", password="a-long-admin-password")
        assert response.status_code in (200, 302)
        assert client.get("/admin/").status_code == 200

    def test_create_admin_refuses_a_taken_name_and_a_short_password(
        self, app: Flask, monkeypatch
    ) -> None:
        monkeypatch.setenv("PW", "short")
        runner = self._runner(app)
        taken = runner.invoke(args=["create-admin", "admin", "--name", "X", "--password-env", "PW"])
        assert taken.exit_code == 1
        assert "taken" in taken.output
        short = runner.invoke(args=["create-admin", "new", "--name", "X", "--password-env", "PW"])
        assert short.exit_code == 1
        assert "12 characters" in short.output
        services: Services = app.extensions["qleads"]
        assert services.directory.admin("new") is None

    def test_create_a_rep_with_territory_and_an_installer_under_him(
        self, app: Flask, monkeypatch
    ) -> None:
        monkeypatch.setenv("PW", "a-long-enough-password")
        runner = self._runner(app)
        services: Services = app.extensions["qleads"]
        existing = services.directory.territories()[0].id
        clash = runner.invoke(
            args=["create-user", "nord", "--role", "rep", "--name", "Nora Nord",
                  "--email", "nora@example.org", "--territory", existing,
                  "--territory-name", "Hamburg", "--prefix", "20", "--password-env", "PW"]
        )  # fmt: skip
        assert clash.exit_code == 1
        assert "exists already" in clash.output
        assert services.directory.rep("nord") is None
        rep = runner.invoke(
            args=["create-user", "nord", "--role", "rep", "--name", "Nora Nord",
                  "--email", "nora@example.org", "--territory", "nordsee",
                  "--territory-name", "Hamburg", "--prefix", "20", "--prefix", "21",
                  "--password-env", "PW"]
        )  # fmt: skip
        assert rep.exit_code == 0, rep.output
        installer = runner.invoke(
            args=["create-user", "hh-solar", "--role", "installer", "--name", "HH Solar",
                  "--email", "hh@example.org", "--rep", "nord", "--password-env", "PW"]
        )  # fmt: skip
        assert installer.exit_code == 0, installer.output
        territory = services.directory.territory("nordsee")
        assert territory is not None
        assert territory.prefixes == frozenset({"20", "21"})
        assert services.directory.installer("hh-solar").rep_id == "nord"
        lonely = runner.invoke(
            args=["create-user", "x", "--role", "installer", "--name", "X",
                  "--email", "x@example.org", "--rep", "nobody", "--password-env", "PW"]
        )  # fmt: skip
        assert lonely.exit_code == 1
        assert "no rep" in lonely.output

    def test_issue_token_works_for_the_intake_api(self, app: Flask) -> None:
        runner = self._runner(app)
        missing = runner.invoke(args=["issue-token", "shop"])
        assert missing.exit_code == 1
        result = runner.invoke(args=["issue-token", "shop", "--name", "Webshop"])
        assert result.exit_code == 0, result.output
        token = result.output.strip()
        services: Services = app.extensions["qleads"]
        found = services.directory.source_by_token(token)
        assert found is not None
        assert found.id == "shop"

    def test_db_upgrade_reports_both_trees(self, app: Flask) -> None:
        result = self._runner(app).invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "qleads: up to date at" in result.output
        assert "portal: up to date at p0001" in result.output


def test_without_demo_the_development_server_is_refused(capsys) -> None:
    assert portal_main([]) == 2
    err = capsys.readouterr().err
    assert GUNICORN_COMMAND in err
    assert "qleads worker" in err


def test_outbox_age_is_measured_in_utc(services: Services) -> None:
    """SQLite keeps no offset: the age of a row written 90 s ago is 90 s, not 90 s plus
    the server's UTC offset."""
    from examples.admin_app.ops.health import oldest_pending_age

    assert oldest_pending_age(services.engine, NOW) == 0.0
    services.outbox.enqueue_message(
        OutboxMessage(
            "age-test", "ops@example.org", RenderedMail("S", "T"), NOW - dt.timedelta(seconds=90)
        )
    )
    assert oldest_pending_age(services.engine, NOW) == pytest.approx(90.0)


def test_outside_the_demo_no_thread_sweeps(tmp_path: Path) -> None:
    """Production leaves sweeping and mail to ``qleads worker``."""
    config = portal_config(tmp_path / "p.sqlite", FrozenClock(NOW), QLEADS_DEMO=False)
    del config["QLEADS_BACKGROUND"]
    app = create_app(config)
    try:
        assert "qleads.background" not in app.extensions
    finally:
        app.extensions["qleads"].close()


def test_a_worker_freezes_what_its_app_holds_out_of_the_collector() -> None:
    """Once the app is built the worker's long-lived objects leave the garbage
    collector's full passes (``gc.freeze``)."""
    import gc
    import runpy

    settings = runpy.run_path(
        str(Path(__file__).parents[2] / "examples/admin_app/gunicorn.conf.py")
    )
    try:
        settings["post_worker_init"](object())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_gunicorn_settings_come_from_the_environment(monkeypatch) -> None:
    """Workers, threads and bind from the environment; an access log without query
    strings; forwarded headers trusted from the configured proxies only."""
    import runpy

    for key, value in {
        "QLEADS_WEB_WORKERS": "3",
        "QLEADS_WEB_THREADS": "6",
        "QLEADS_BIND": "127.0.0.1:9001",
        "QLEADS_FORWARDED_ALLOW_IPS": "10.0.0.2",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("QLEADS_METRICS", raising=False)
    settings = runpy.run_path(
        str(Path(__file__).parents[2] / "examples/admin_app/gunicorn.conf.py")
    )
    assert (settings["workers"], settings["threads"]) == (3, 6)
    assert settings["bind"] == "127.0.0.1:9001"
    assert settings["forwarded_allow_ips"] == "10.0.0.2"
    assert settings["preload_app"] is False
    fmt = settings["access_log_format"]
    assert "%(U)s" in fmt
    for with_query in ("%(r)s", "%(q)s", "raw_uri"):
        assert with_query not in fmt
