"""Shared pieces of the mail tests: a real SMTP server (aiosmtpd) on a free port, and the
world builder of ``qleads.testing.world`` with the mail tests' people."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import attrs
from aiosmtpd.controller import Controller

from qleads.calendar import Calendar
from qleads.model import (
    Admin,
    Consumption,
    Contact,
    CostRow,
    Costs,
    EcoBalance,
    Installer,
    LeadDocument,
    LeadSource,
    Roof,
    SalesRep,
    Territory,
)
from qleads.ports import LeadRepository
from qleads.testing import world
from qleads.testing.world import Cast

#: Friday 2026-11-13 15:00 UTC = 16:00 in Leipzig: the claim hold runs to Tue 17.11. 16:00 (R9).
FRIDAY_4PM = dt.datetime(2026, 11, 13, 15, 0, tzinfo=dt.UTC)
BASE_URL = "https://leads.example.com"


def free_port() -> int:
    """A port nobody listens on right now (bind to 0, read it, let go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class RecordingHandler:
    """Keeps every accepted envelope; answers 550 for the addresses in ``reject``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.envelopes: list[Envelope] = []
        self.reject: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 and a fixed free port, which can be stopped and
    started again on the same port (a mail server that goes down and comes back)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    def start(self) -> None:
        controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def envelopes(self) -> list[Envelope]:
        with self.handler.lock:
            return list(self.handler.envelopes)

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [e.message for e in self.envelopes if address in e.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Envelope]:
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.envelopes


class HangUpServer:
    """Listens on ``port`` and closes every connection at once, before any greeting: a
    server that is there for TCP but not for SMTP. ``connections`` counts the accepts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen()
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HangUpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def document(
    source_id: str,
    *,
    name: str = "Erika Mustermann",
    postal_code: str = "04107",
    city: str = "Leipzig",
    received_at: dt.datetime | None = None,
    module_count: int = 24,
    storage_interest: bool = True,
) -> LeadDocument:
    """A lead document built directly (bypassing intake's validation on purpose, so
    that tests can also feed what intake would refuse)."""
    return LeadDocument(
        source_id=source_id,
        contact=Contact(
            name=name,
            street="Hauptstraße 1",
            postal_code=postal_code,
            city=city,
            country="DE",
            email="kunde@example.net",
        ),
        consumption=Consumption(persons=4, annual_kwh=4500, price_ct_per_kwh=Decimal("32.00")),
        roof=Roof(
            area_m2=Decimal("48.00"),
            tilt_deg=30,
            azimuth_deg=180,
            modules="Q.PEAK DUO",
            module_count=module_count,
            storage_interest=storage_interest,
        ),
        costs=Costs(
            per_month=CostRow(Decimal("15.00"), Decimal("92.00")),
            per_year=CostRow(Decimal("180.00"), Decimal("1104.00")),
            after_20_years=CostRow(Decimal("3600.00"), Decimal("22080.00")),
        ),
        eco_balance=EcoBalance(co2_saving_kg=42000, trees_planted=300),
        received_at=received_at,
    )


_SAXONY = Calendar("DE", "SN")

#: The mail tests' network: a rep with the Leipzig territory (04…), a German and an
#: English installer, an admin with an address and the calculator.
MAIL_CAST = Cast(
    reps=(SalesRep("rep", "Rita Vertrieb", "rita@example.org"),),
    territories=(Territory("leipzig", "Leipzig", "DE", frozenset({"04"}), "rep"),),
    installers=(
        Installer("anna", "Anna Solar", "anna@example.org", "rep", language="de", calendar=_SAXONY),
        Installer("bob", "Bob Sun", "bob@example.org", "rep", language="en", calendar=_SAXONY),
    ),
    admins=(Admin("root", "Root", "root@example.org"),),
    sources=(LeadSource("calc", "Solarrechner"),),
)


class World(world.World):
    """:data:`MAIL_CAST` around a desk with a frozen clock (qleads.testing.world)."""

    @classmethod
    def build(
        cls,
        repository: LeadRepository,
        now: dt.datetime = FRIDAY_4PM,
        *,
        tweak: Callable[[Installer], Installer] | None = None,
        directory: world.WritableDirectory | None = None,
    ) -> World:
        """The world on ``repository`` (and ``directory``, in memory if not given) at
        ``now``; ``tweak`` changes both installers (a digest hour, another calendar)
        before they are enrolled."""
        cast = MAIL_CAST
        if tweak is not None:
            cast = cast.replacing(*(tweak(i) for i in cast.installers))
        return cls(repository, directory=directory, now=now, cast=cast)

    @property
    def rep(self) -> SalesRep:
        return self.cast.rep("rep")

    @property
    def anna(self) -> Installer:
        return self.cast.installer("anna")

    @property
    def bob(self) -> Installer:
        return self.cast.installer("bob")
