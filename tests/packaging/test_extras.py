"""Packaging: ``pip install qleads`` is the core (rules, in-memory adapters, the calendar);
the database, the mail rendering, the portal and the test support are extras. Every
``qleads`` command runs, or says in one line which extra to install; the declared
dependencies are the ones the code imports.

The built wheel itself is checked by the ``wheel`` tox env
(``tests/packaging/check_core_install.py``).
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest
from check_core_install import CORE_COMMANDS, check_commands
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import qleads
from qleads.cli import main

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

MAIL = "qleads {} needs the 'mail' extra: pip install 'qleads[mail]'"
POSTGRES = "qleads {} needs the 'postgres' extra: pip install 'qleads[postgres]'"
NO_SERVER = "postgresql://qleads@127.0.0.1:1/none"


def _without(*modules: str):  # type: ignore[no-untyped-def]
    """A runner of ``qleads ARGS`` in a fresh interpreter where ``modules`` cannot be
    imported, as if their distributions were not installed."""
    code = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    sys.modules[name] = None\n"
        "from qleads.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


class TestCommandsWithoutTheirExtra:
    def test_without_any_extra_every_command_answers_help_or_names_its_extras(self) -> None:
        """The core install: ``qleads --help`` and ``db --help`` work; the rest say in one
        line, exit 2, which extras to install — never a traceback."""
        check_commands(
            _without("sqlalchemy", "alembic", "orjson", "psycopg", "babel"), CORE_COMMANDS
        )

    def test_without_babel_sweep_and_mail_name_the_mail_extra_alone(self) -> None:
        """With the ``sql`` extra installed, the missing one is ``mail``: even ``--help``
        of a mail command says so rather than failing to import the mail code."""
        check_commands(
            _without("babel"),
            (
                (("--help",), 0, None),
                (("db", "upgrade", "--help"), 0, None),
                (("sweep", "--help"), 2, MAIL.format("sweep")),
                (("sweep", "sqlite:///{tmp}/leads.db"), 2, MAIL.format("sweep")),
                (("mail", "--help"), 2, MAIL.format("mail")),
                (("mail", "dispatch", "--help"), 2, MAIL.format("mail")),
                (("mail", "retry", "sqlite:///{tmp}/leads.db", "key"), 2, MAIL.format("mail")),
            ),
        )

    def test_a_postgresql_url_without_psycopg_names_the_postgres_extra(self) -> None:
        check_commands(
            _without("psycopg"),
            (
                (("db", "upgrade", NO_SERVER), 2, POSTGRES.format("db")),
                (("sweep", NO_SERVER), 2, POSTGRES.format("sweep")),
            ),
        )

    @pytest.mark.parametrize(
        "argv",
        [
            ["--help"],
            ["db", "--help"],
            ["db", "upgrade", "--help"],
            ["sweep", "--help"],
            ["mail", "--help"],
            ["mail", "dispatch", "--help"],
            ["mail", "failed", "--help"],
            ["mail", "retry", "--help"],
            ["gdpr", "--help"],
            ["gdpr", "export", "--help"],
            ["gdpr", "erase", "--help"],
            ["gdpr", "retention", "--help"],
        ],
    )
    def test_with_every_extra_every_command_shows_its_help(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(argv) == 0
        assert capsys.readouterr().out.startswith(f"usage: qleads {' '.join(argv[:-1])}".rstrip())


class TestVersion:
    def test_the_version_is_the_installed_distributions(self) -> None:
        assert qleads.__version__ == importlib.metadata.version("qleads")

    def test_qleads_version_prints_it(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--version"]) == 0
        assert capsys.readouterr().out == f"qleads {qleads.__version__}\n"

    def test_a_source_tree_that_was_never_installed_still_has_a_version(self) -> None:
        code = (
            "import importlib.metadata as metadata\n"
            "installed = metadata.version\n"
            "def version(name):\n"
            "    if name == 'qleads':\n"
            "        raise metadata.PackageNotFoundError(name)\n"
            "    return installed(name)\n"
            "metadata.version = version\n"
            "import qleads\n"
            "print(qleads.__version__)\n"
        )
        shown = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        assert shown.stdout == "0+unknown\n"


def _distributions_imported_by(package: Path) -> set[str]:
    """The distributions whose modules the ``.py`` files under ``package`` import,
    anywhere in the file (a function-level import is a dependency too)."""
    providers = importlib.metadata.packages_distributions()
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top in sys.stdlib_module_names or top == "qleads":
                    continue
                assert top in providers, f"{path}: {top} is not installed in the test env"
                found.update(canonicalize_name(dist) for dist in providers[top])
    return found


def _names(requirements: Sequence[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


CORE = _names(PYPROJECT["dependencies"])
EXTRAS = {extra: _names(reqs) for extra, reqs in PYPROJECT["optional-dependencies"].items()}
SRC = ROOT / "src" / "qleads"


class TestDependencies:
    def test_every_distribution_the_library_imports_is_declared(self) -> None:
        declared = CORE.union(*EXTRAS.values())
        assert _distributions_imported_by(SRC) <= declared

    def test_every_runtime_dependency_is_imported_by_the_library(self) -> None:
        """No runtime dependency rides along unused; ``tzdata`` is the exception:
        zoneinfo reads it where the system has no tz database."""
        assert CORE - _distributions_imported_by(SRC) == {"tzdata"}

    def test_pendulum_is_only_the_tests_and_benchmarks_yardstick(self) -> None:
        groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
        assert "pendulum" not in CORE.union(*EXTRAS.values())
        assert "pendulum" in _names(groups["test"]) & _names(groups["bench"])

    def test_qleads_testing_needs_the_testing_extra_and_nothing_else(self) -> None:
        assert _distributions_imported_by(SRC / "testing") <= CORE | EXTRAS["testing"]
        assert EXTRAS["testing"] == _distributions_imported_by(SRC / "testing") - CORE

    def test_the_postgres_extra_uses_the_systems_libpq_and_binary_is_a_choice(self) -> None:
        """Library users choose how psycopg finds libpq; only ``postgres-binary`` brings
        psycopg's own build (the test and bench envs use it)."""
        psycopg = {
            extra: [r.extras for r in map(Requirement, reqs) if r.name == "psycopg"]
            for extra, reqs in PYPROJECT["optional-dependencies"].items()
        }
        assert psycopg.pop("postgres") == [set()]
        assert psycopg.pop("postgres-binary") == [{"binary"}]
        assert all(not found for found in psycopg.values())
        assert EXTRAS["postgres-binary"] == EXTRAS["postgres"]

    def test_the_admin_extra_takes_flask_admin_with_its_sqlalchemy_extra(self) -> None:
        admin = [Requirement(r) for r in PYPROJECT["optional-dependencies"]["admin"]]
        flask_admin = [r for r in admin if canonicalize_name(r.name) == "flask-admin"]
        assert [r.extras for r in flask_admin] == [{"sqlalchemy"}]
        assert "flask-sqlalchemy" not in EXTRAS["admin"]

    def test_the_license_file_is_the_declared_mit_license(self) -> None:
        text = (ROOT / "LICENSE").read_text(encoding="utf-8")
        assert PYPROJECT["license"] == "MIT"
        assert PYPROJECT["license-files"] == ["LICENSE"]
        assert text.startswith("MIT License\n\nCopyright (c) ")
        assert "qleads contributors" in text.splitlines()[2]

    def test_the_readme_test_command_checks_the_built_wheel(self) -> None:
        """``tox`` with no arguments (the README's command) runs the ``wheel`` env, which
        installs the wheel without extras."""
        tox = configparser.ConfigParser()
        tox.read(ROOT / "tox.ini", encoding="utf-8")
        assert "wheel" in [e.strip() for e in tox["tox"]["env_list"].split(",")]
        wheel = tox["testenv:wheel"]
        assert wheel["package"] == "wheel"
        assert "extras" not in wheel
        assert "check_core_install.py" in wheel["commands"]
