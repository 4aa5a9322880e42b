"""How long the portal takes to refuse a login, by what was wrong (account enumeration).

    python bench/login_timing.py [--rounds N] [--json PATH]

A user name without an account must cost what a wrong password costs (one scrypt
check), or the answer's time tells which accounts exist; the same for "Passwort
vergessen", which answers without waiting for the name to be looked at and does its work
(storing the link and its mail in the outbox) on the portal's after-answer thread. This
script builds a portal on a fresh SQLite file with a few logins, then times, through the
Flask test client and interleaved round by round, a login with a wrong password, with an
unknown user name and with an inactive account, and a reset request for a known and an
unknown name: its answer (``reset_request_*``) and, apart, the time until the
after-answer thread has done the work (``reset_work_*``). The throttle is set high enough not to
interfere.

Prints a table (case, median and p95 in ms, median relative to the wrong password) and
writes a flat JSON object; the numbers are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from examples.admin_app import create_app  # noqa: E402
from examples.admin_app.models import PortalUser  # noqa: E402
from qleads.model import Admin  # noqa: E402

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_HIGH = "1000000 per minute"
_LIMITS = (
    "QLEADS_RATELIMIT_LOGIN_ACCOUNT",
    "QLEADS_RATELIMIT_LOGIN_CLIENT",
    "QLEADS_RATELIMIT_RESET_ACCOUNT",
    "QLEADS_RATELIMIT_RESET_CLIENT",
)


def _token(client: Any, url: str) -> str:
    found = _CSRF.search(client.get(url).get_data(as_text=True))
    assert found is not None
    return found.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", type=Path, default=HERE / "out" / "login_timing.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SECRET_KEY": secrets.token_urlsafe(32),
                "QLEADS_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
                **dict.fromkeys(_LIMITS, _HIGH),
            }
        )
        services = app.extensions["qleads"]
        # The known login's actor has an address: its reset requests store a link and a mail.
        services.directory.add_admin(Admin("admin", "Bench Admin", "admin@example.org"))
        with services.sessions() as db, db.begin():
            for name, active in (("known", True), ("inactive", False)):
                user = PortalUser(
                    username=name, role="admin", actor_id="admin", language="de", active=active
                )
                user.set_password("das-richtige-passwort")
                db.add(user)
        client = app.test_client()
        login_token = _token(client, "/login")
        forgot_token = _token(client, "/password/forgot")

        def login(username: str) -> Callable[[], Any]:
            data = {"username": username, "password": "falsch", "csrf_token": login_token}
            return lambda: client.post("/login", data=data)

        def forgot(username: str) -> Callable[[], Any]:
            data = {"username": username, "csrf_token": forgot_token}
            return lambda: client.post("/password/forgot", data=data)

        cases = {
            "login_wrong_password": login("known"),
            "login_unknown_user": login("unknown"),
            "login_inactive_account": login("inactive"),
            "reset_request_known": forgot("known"),
            "reset_request_unknown": forgot("unknown"),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for call in cases.values():  # warm up: templates, the dummy hash
            call().close()
        times["reset_work_known"] = []
        times["reset_work_unknown"] = []
        for _ in range(args.rounds):
            for name, call in cases.items():
                start = time.perf_counter()
                response = call()
                times[name].append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                response.close()
                services.after_answer.submit(lambda: None).result()  # the work handed on
                if name.startswith("reset_request_"):
                    work = name.replace("request", "work")
                    times[work].append((time.perf_counter() - start) * 1000)
        services.close()

    base = statistics.median(times["login_wrong_password"])
    result: dict[str, float] = {}
    print(f"{'case':<26}{'median ms':>11}{'p95 ms':>9}{'× wrong pw':>12}")
    for name, samples in times.items():
        median = statistics.median(samples)
        p95 = sorted(samples)[int(0.95 * (len(samples) - 1))]
        reference = (
            base if name.startswith("login") else statistics.median(times["reset_request_known"])
        )
        print(f"{name:<26}{median:>11.2f}{p95:>9.2f}{median / reference:>12.2f}")
        result[f"{name}_median_ms"] = round(median, 3)
        result[f"{name}_p95_ms"] = round(p95, 3)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
