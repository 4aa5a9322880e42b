"""What ``pip install qleads`` alone promises, checked where only that is installed.

The ``wheel`` tox env installs the built wheel without extras into a virtualenv of its
own, with ``PYTHONTZPATH`` empty so that zoneinfo finds no system tz database, and runs
this script (``python tests/packaging/check_core_install.py``): the extras' modules are
absent (else the check proves nothing), the README's embedding example runs on the core
(business days need Europe/Berlin: the ``tzdata`` dependency), ``qleads --version`` names
the installed version, the labels read in English from the catalog in the wheel (without
Babel), and every command answers ``--help`` or says in one line which extra to install.
``tests/packaging/test_extras.py`` runs :data:`CORE_COMMANDS` in the full test env with
the extras' modules blocked.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tempfile
import zoneinfo
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Modules only the extras bring, and the test tools: none may be importable here.
EXTRAS_ONLY = (
    *("sqlalchemy", "alembic", "orjson", "psycopg", "babel", "flask"),
    *("hypothesis", "pytest", "pendulum"),
)

SQL = "qleads db needs the 'sql' extra: pip install 'qleads[sql]'"
SQL_AND_MAIL = "qleads {} needs the 'sql' and 'mail' extras: pip install 'qleads[sql,mail]'"

#: ``qleads`` arguments, the exit code and the one line on stderr (``None``: help on stdout).
CORE_COMMANDS: tuple[tuple[tuple[str, ...], int, str | None], ...] = (
    (("--help",), 0, None),
    (("db", "--help"), 0, None),
    (("db", "upgrade", "--help"), 0, None),
    (("db", "upgrade", "sqlite:///{tmp}/leads.db"), 2, SQL),
    (("sweep", "--help"), 2, SQL_AND_MAIL.format("sweep")),
    (("sweep", "sqlite:///{tmp}/leads.db"), 2, SQL_AND_MAIL.format("sweep")),
    (("mail", "--help"), 2, SQL_AND_MAIL.format("mail")),
    (("mail", "dispatch", "--help"), 2, SQL_AND_MAIL.format("mail")),
    (("mail", "failed", "sqlite:///{tmp}/leads.db"), 2, SQL_AND_MAIL.format("mail")),
    (("worker", "--help"), 2, SQL_AND_MAIL.format("worker")),
    (("worker", "sqlite:///{tmp}/leads.db", "--once"), 2, SQL_AND_MAIL.format("worker")),
    (("route", "explain", "--help"), 0, None),
    (
        ("route", "explain", "sqlite:///{tmp}/leads.db", "--postcode", "04107"),
        2,
        SQL.replace("db", "route", 1),
    ),
    (("gdpr", "--help"), 0, None),
    (("gdpr", "retention", "sqlite:///{tmp}/leads.db"), 2, SQL.replace(" db ", " gdpr ")),
)

Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def check_commands(run: Run, commands: Sequence[tuple[tuple[str, ...], int, str | None]]) -> None:
    """Each command exits as expected and prints help, or exactly its one line, never a
    traceback; and a command that could not run left no database file behind."""
    with tempfile.TemporaryDirectory() as tmp:
        for argv, code, line in commands:
            args = [a.replace("{tmp}", tmp) for a in argv]
            done = run(args)
            shown = f"qleads {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
            assert done.returncode == code, shown
            assert "Traceback" not in done.stderr, shown
            if line is None:
                assert done.stdout.startswith("usage: qleads"), shown
            else:
                assert (done.stdout, done.stderr) == ("", f"{line}\n"), shown
        assert not list(Path(tmp).iterdir()), "a command that could not run made a file"


def _console_script(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("qleads")
    return subprocess.run([script, *argv], capture_output=True, text=True, timeout=60, check=False)


def _readme_example() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert blocks, "README.md has no python block"
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"README.md (block {number})", "exec"), namespace)


def main() -> int:
    present = [name for name in EXTRAS_ONLY if importlib.util.find_spec(name) is not None]
    assert not present, f"not a core install: {present} importable"
    assert zoneinfo.TZPATH == (), "set PYTHONTZPATH empty: the tz data must come from tzdata"

    import qleads

    version = importlib.metadata.version("qleads")
    assert qleads.__version__ == version, (qleads.__version__, version)
    _readme_example()
    from qleads.lifecycle import Status

    # The labels' catalogs are in the wheel and need no Babel.
    assert Status.OFFER_SENT.label("en") == "Offer sent", "no English catalog in the wheel"
    shown = _console_script(["--version"])
    assert (shown.returncode, shown.stdout) == (0, f"qleads {version}\n"), shown
    check_commands(_console_script, CORE_COMMANDS)
    print(f"qleads {version}: the core install holds (no extras, no system tz database)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
