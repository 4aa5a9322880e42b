"""The per-app service objects: storage, directory, desk, outbox, mail.

``create_app`` builds one :class:`Services` and keeps it in ``app.extensions``; request
code reaches it through :func:`current_services`. Nothing here runs at import time, so two
apps (two tests) never share a database, a clock or a mailer.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qleads.adapters.clock import clock_from_environment
from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.desk import LeadDesk
from qleads.mail import Dispatcher, Mailer, Renderer
from qleads.model import Policy
from qleads.ports import Clock

from .models import load_policy, save_policy

__all__ = ["EXTENSION_KEY", "Services", "Settings", "build_services", "current_services"]

EXTENSION_KEY = "qleads"


@attrs.define
class Settings:
    """The editable settings. Saving the policy takes effect at once: the desk reads its
    ``policy`` attribute on every use case."""

    sessions: sessionmaker[Session]
    desk: LeadDesk
    renderer: Renderer
    config: Mapping[str, Any]

    @property
    def policy(self) -> Policy:
        return self.desk.policy

    def save_policy(self, policy: Policy) -> None:
        save_policy(self.sessions, policy)
        self.desk.policy = policy
        self.renderer.policy = policy

    def reload(self) -> None:
        self.desk.policy = self.renderer.policy = load_policy(self.sessions)
        self.desk.reload_territory_policies()


@attrs.define
class Services:
    """Everything a request needs. ``outbox`` and ``dispatcher`` deliver the mails (R10).

    ``sessions`` opens ORM sessions on the portal's own tables (``models.py``) that may
    write: on SQLite they take the write lock up front (``BEGIN IMMEDIATE``) so that they
    queue behind other writers instead of failing; ``read_sessions`` are for reading only.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    repository: SqlAlchemyLeadRepository
    directory: SqlAlchemyDirectory
    desk: LeadDesk
    outbox: SqlAlchemyOutbox
    dispatcher: Dispatcher
    mailer: Mailer
    clock: Clock
    settings: Settings
    #: Work a request hands on so that its answer does not wait for it (the reset link).
    after_answer: ThreadPoolExecutor = attrs.field(
        factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="after-answer")
    )

    def close(self) -> None:
        """Finish the work handed on, then let go of the database connections and the
        mail server's connection."""
        self.after_answer.shutdown(wait=True)
        close_mailer = getattr(self.mailer, "close", None)
        if callable(close_mailer):
            close_mailer()
        self.engine.dispose()


def current_services() -> Services:
    """The services of the app handling the current request (or app context)."""
    services = current_app.extensions[EXTENSION_KEY]
    assert isinstance(services, Services)
    return services


def build_services(config: Mapping[str, Any]) -> Services:
    """Open the database named by ``QLEADS_DATABASE_URL`` and wire the desk, outbox and
    mailer. With ``QLEADS_AUTO_UPGRADE`` (the default; production turns it off and runs
    ``flask db upgrade`` before starting new instances) the schema is created or
    upgraded first: qleads' migrations, then the portal's."""
    from qleads.adapters.sql import WRITE_OPTION, make_engine

    from .mailing import build_delivery
    from .storage import open_storage

    # The system's clock, or a rehearsal's fast one (qleads.adapters.clock).
    clock: Clock = config.get("QLEADS_CLOCK") or clock_from_environment()
    engine = make_engine(str(config["QLEADS_DATABASE_URL"]))
    if config.get("QLEADS_AUTO_UPGRADE", True):
        from .migrations import upgrade_all

        upgrade_all(engine)
    storage = open_storage(engine)
    sessions = sessionmaker(
        engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
    )
    read_sessions = sessionmaker(engine, expire_on_commit=False)
    desk = LeadDesk(storage.repository, storage.directory, clock, load_policy(read_sessions))
    # R14: an erasure clears the portal's own copies too, in the same transaction.
    from .personal_data import erase_portal_copies

    storage.repository.personal_data.hooks.append(erase_portal_copies)
    mailer, dispatcher = build_delivery(config, storage, desk, sessions, clock)
    return Services(
        engine=engine,
        sessions=sessions,
        read_sessions=read_sessions,
        repository=storage.repository,
        directory=storage.directory,
        desk=desk,
        outbox=storage.outbox,
        dispatcher=dispatcher,
        mailer=mailer,
        clock=clock,
        settings=Settings(
            sessions=sessions, desk=desk, renderer=dispatcher.renderer, config=config
        ),
    )
