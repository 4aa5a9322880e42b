"""The pieces of the multi-instance test: the network it runs on, the processes it
starts (gunicorn portals, ``qleads worker``), and the users that drive the portals over
HTTP. ``test_multi_instance.py`` puts them together and checks the invariants."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import attrs
import requests
from werkzeug.security import generate_password_hash

from examples.admin_app.api.tokens import create_source_token
from examples.admin_app.migrations import upgrade_all
from examples.admin_app.models import PortalUser, save_policy
from qleads.adapters.sql import SqlAlchemyDirectory, make_engine
from qleads.model import Installer, LeadSource, Policy, SalesRep, Territory

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "rehearsal-password-2026"
METRICS_TOKEN = "rehearsal-metrics-token-0123456789"

#: What no log line may contain: the customers' data of the scenario.
NAME = "Zacharias Quellenfeldt"
EMAIL_DOMAIN = "quellenfeldt-kunde.example"
PHONE = "+49 351 90817263"

REPS = tuple(f"rep{r}" for r in range(5))
INSTALLERS = tuple(f"inst{i:02d}" for i in range(50))


def rep_of(installer: str) -> str:
    return REPS[int(installer[4:]) // 10]


def build_network(url: str, policy: Policy) -> str:
    """Schema, five reps with a territory each (postal codes starting with 0…4), ten
    installers under each, their logins, the policy and a lead source; returns the
    source's intake token."""
    engine = make_engine(url)
    try:
        upgrade_all(engine)
        directory = SqlAlchemyDirectory(engine)
        for number, rep in enumerate(REPS):
            directory.add_rep(SalesRep(rep, f"Vertrieb {number}", f"{rep}@example.org"))
            directory.add_territory(
                Territory(f"t{number}", f"Gebiet {number}", "DE", frozenset({str(number)}), rep)
            )
        for installer in INSTALLERS:
            directory.add_installer(
                Installer(
                    installer, f"Partner {installer}", f"{installer}@example.org", rep_of(installer)
                )
            )
        directory.add_source(LeadSource("calc", "Solarrechner"))
        token = create_source_token(directory, "calc")
        from sqlalchemy.orm import Session, sessionmaker

        sessions = sessionmaker(engine)
        password_hash = generate_password_hash(PASSWORD)
        with Session(engine) as session, session.begin():
            for username, role in (
                *((i, "installer") for i in INSTALLERS),
                *((r, "rep") for r in REPS),
            ):
                session.add(
                    PortalUser(
                        username=username,
                        password_hash=password_hash,
                        role=role,
                        actor_id=username,
                        language="de",
                    )
                )
        save_policy(sessions, policy)
    finally:
        engine.dispose()
    return token


def lead_payload(number: int) -> dict[str, Any]:
    """A lead for territory ``number % 5``, its contact the scenario's distinctive data."""
    return {
        "source_id": f"rehearsal-{number}",
        "contact": {
            "name": f"{NAME} {number}",
            "street": "Quellenweg 7",
            "postal_code": f"{number % 5}{number % 8999 + 1001:04d}",
            "city": "Musterstadt",
            "country": "DE",
            "email": f"kunde{number}@{EMAIL_DOMAIN}",
            "phone": PHONE,
        },
        "consumption": {"persons": 3, "annual_kwh": 3800, "price_ct_per_kwh": "29.00"},
        "roof": {
            "area_m2": 60, "tilt_deg": 30, "azimuth_deg": 180, "modules": "Q.PEAK DUO",
            "module_count": 16, "storage_interest": False,
        },
        "costs": {
            "per_month": {"with_pv": "15.00", "without_pv": "92.00"},
            "per_year": {"with_pv": "180.00", "without_pv": "1104.00"},
            "after_20_years": {"with_pv": "3600.00", "without_pv": "22080.00"},
        },
        "eco_balance": {"co2_saving_kg": 14365, "trees_planted": 195},
    }  # fmt: skip


# --- processes ----------------------------------------------------------------------


@attrs.define
class Process:
    """A child process in a session of its own, its output in ``log``."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = None

    def start(self) -> None:
        self._out = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL to the whole process group (a gunicorn master and its workers)."""
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float) -> int:
        """SIGTERM to the process; its exit code (raises if it outlives ``timeout``)."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def stop_quietly(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)
        if self._out is not None:
            self._out.close()


def wait_until_ready(base: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not become ready")


# --- the users ----------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_LEAD = re.compile(r'href="/leads/(\d+)"')
_COUNT = re.compile(r'data-tab="(\w+)">[^<]*<span class="count">\((\d+)\)</span>')


@attrs.define
class Answer:
    at: float
    method: str
    path: str
    status: int  # 0: no connection, -1: no answer in time (a load symptom, not an error)
    seconds: float = 0.0


@attrs.define
class Journal:
    """Every answer the users got (thread-safe)."""

    answers: list[Answer] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)


class User:
    """One person in a browser: logs in on one portal, goes to the other one when his
    portal does not answer (the proxy's job in production)."""

    def __init__(self, username: str, bases: list[str], journal: Journal, seed: int) -> None:
        self.username = username
        self.bases = bases
        self.journal = journal
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.token = ""
        #: The leads this installer claimed himself: he works on those; the ones his
        #: rep assigns him he leaves alone, so that their reminders and escalations
        #: fall due (R5).
        self.claimed: set[int] = set()

    def request(self, method: str, path: str, **kw: Any) -> requests.Response | None:
        for attempt in range(4):
            base = self.bases[attempt % 2]
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, base + path, timeout=30, allow_redirects=False, **kw
                )
            except requests.Timeout:
                self.journal.add(Answer(time.monotonic(), method, path, -1))
                continue
            except requests.RequestException:
                self.journal.add(Answer(time.monotonic(), method, path, 0))
                time.sleep(0.2)
                continue
            self.journal.add(
                Answer(
                    time.monotonic(),
                    method,
                    path,
                    response.status_code,
                    time.monotonic() - started,
                )
            )
            if response.status_code == 503:
                time.sleep(0.2)
                continue
            found = _CSRF.search(response.text)
            if found:
                self.token = found.group(1)
            return response
        return None

    def post(self, path: str, data: dict[str, str]) -> requests.Response | None:
        return self.request("POST", path, data={"csrf_token": self.token, **data})

    def log_in(self) -> None:
        self.request("GET", "/login")
        answer = self.post("/login", {"username": self.username, "password": PASSWORD})
        assert answer is not None
        assert answer.status_code == 302, (self.username, answer.status_code)
        self.request("GET", "/")

    def counts(self) -> dict[str, int]:
        """The tab counts his pages show: the tab bar, and the start page's two lists."""
        if self.username.startswith("rep"):
            page = self.request("GET", "/rep/?tab=all")
            assert page is not None
            return {tab: int(n) for tab, n in _COUNT.findall(page.text)}
        start = self.request("GET", "/installer/")
        assert start is not None
        counts = {tab: int(n) for tab, n in _COUNT.findall(start.text)}
        for section in ("available", "mine"):
            found = re.search(
                rf'<section class="list" id="{section}">\s*<h2>[^<]*<span class="count">\((\d+)\)',
                start.text,
            )
            assert found is not None, section
            counts[section] = int(found.group(1))
        return counts

    # --- what an installer does ---

    def installer_step(self) -> None:
        start = self.request("GET", "/installer/")
        if start is None or start.status_code != 200:
            return
        text = start.text
        mine_at = text.find('id="mine"')
        available = [int(i) for i in _LEAD.findall(text[:mine_at])]
        mine = [int(i) for i in _LEAD.findall(text[mine_at:]) if int(i) in self.claimed]
        roll = self.rng.random()
        if available and roll < 0.5:
            # The hot lead: the oldest one, which his colleagues also go for.
            lead = min(available) if self.rng.random() < 0.7 else self.rng.choice(available)
            self.request("GET", f"/leads/{lead}")
            claimed = self.post(f"/leads/{lead}/claim", {})
            if claimed is not None and claimed.headers.get("Location", "").endswith("/status"):
                self.claimed.add(lead)
        elif mine and roll < 0.8:
            lead = self.rng.choice(mine)
            self.request("GET", f"/leads/{lead}/status")
            if self.rng.random() < 0.25:
                self.post(f"/leads/{lead}/status", {"status": "release", "reason": "no_time"})
                self.claimed.discard(lead)
            else:
                status = self.rng.choice(["contact_attempted", "first_contact", "offer_sent"])
                self.post(
                    f"/leads/{lead}/status",
                    {"status": status, "channel": "phone", "note": "Rückruf vereinbart."},
                )
        else:
            tab = self.rng.choice(["all", "new", "follow_up", "in_progress", "closed"])
            # A search for the customer's phone: its query string must reach no log line.
            self.request("GET", f"/installer/tab/{tab}?q={PHONE}")

    # --- what a rep does ---

    def park(self, installer: str) -> int:
        """Assigns one new lead of his territory to ``installer`` and returns it: a lead
        nobody touches again, so that its reminder and escalation fall due whatever
        else happens under load (R5)."""
        page = self.request("GET", "/rep/?tab=available")
        assert page is not None
        assert page.status_code == 200
        lead = min(int(i) for i in _LEAD.findall(page.text))
        self.request("GET", f"/leads/{lead}")
        answer = self.post(f"/leads/{lead}/assign", {"installer_id": installer})
        assert answer is not None
        assert answer.status_code == 302, answer.status_code
        return lead

    def rep_step(self, installers: list[str], parked: frozenset[int] = frozenset()) -> None:
        page = self.request("GET", "/rep/?tab=new")
        if page is None or page.status_code != 200:
            return
        new = [int(i) for i in _LEAD.findall(page.text) if int(i) not in parked]
        if new and self.rng.random() < 0.9:
            lead = self.rng.choice(new)
            self.request("GET", f"/leads/{lead}")
            self.post(f"/leads/{lead}/assign", {"installer_id": self.rng.choice(installers)})
        else:
            tab = self.rng.choice(["all", "available", "follow_up", "in_progress", "closed"])
            self.request("GET", f"/rep/?tab={tab}")

    def run(self, until: float, step: Callable[[], None]) -> None:
        self.log_in()
        while time.monotonic() < until:
            step()
            time.sleep(self.rng.uniform(0.2, 0.8))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
