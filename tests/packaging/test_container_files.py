"""The container files, checked without a container runtime: the Dockerfile and
compose.yaml parse, and every command they name exists in the installed package and
starts far enough to answer ``--help`` (the schema command even runs, on SQLite)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def _dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if line.endswith("\\"):
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QLEADS_DATABASE_URL": f"sqlite:///{tmp_path / 'container.db'}",
        "QLEADS_SECRET_KEY": "a-secret-key-for-the-container-check",
        "QLEADS_AUTO_UPGRADE": "0",
        "QLEADS_BASE_URL": "http://127.0.0.1:8000",
        # The checkout for the portal, then whatever path gave this test its qleads.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _commands() -> list[list[str]]:
    """Every command the files name: the image's CMD, the compose services' commands."""
    found = []
    for keyword, rest in _dockerfile():
        if keyword == "CMD":
            found.append(json.loads(rest))
    services = _compose()["services"]
    assert isinstance(services, dict)
    for service in services.values():
        command = service.get("command")
        if command is not None:
            found.append(command if isinstance(command, list) else shlex.split(command))
    return found


def test_the_dockerfile_parses_and_keeps_its_promises() -> None:
    instructions = _dockerfile()
    keywords = [k for k, _ in instructions]
    assert set(keywords) <= _INSTRUCTIONS
    assert keywords[0] == "FROM"
    assert all("-slim" in rest for k, rest in instructions if k == "FROM" and "AS" not in rest)
    users = [rest for k, rest in instructions if k == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    healthcheck = " ".join(rest for k, rest in instructions if k == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    for keyword, rest in instructions:
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, _target = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_compose_names_the_topology() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    assert {"postgres", "migrate", "portal1", "portal2", "worker", "mail"} <= set(services)
    for name in ("portal1", "portal2", "worker"):
        environment = services[name]["environment"]
        assert environment["QLEADS_AUTO_UPGRADE"] == "0"
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_every_named_command_exists_and_answers_help(tmp_path: Path) -> None:
    commands = _commands()
    programs = {command[0] for command in commands}
    assert programs == {"gunicorn", "flask", "qleads"}
    env = _environment(tmp_path)
    for command in commands:
        program = BIN / command[0]
        assert program.exists(), f"{command[0]} is not installed with the package's extras"
        options = [a for a in command[1:] if not a.startswith("-") or a == "--app"]
        if command[0] == "gunicorn":
            # --check-config loads the config file and the app, and starts nothing.
            args = [str(program), *command[1:], "--check-config"]
        elif command[0] == "flask":
            args = [str(program), *command[1:], "--help"]
        else:
            args = [str(program), *[a for a in options if a in {"worker", "sweep", "db"}],
                    "--help"]  # fmt: skip
        done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def test_the_schema_command_of_compose_runs_on_an_empty_database(tmp_path: Path) -> None:
    """The ``migrate`` service's command, as the container runs it (no auto-upgrade)."""
    services = _compose()["services"]
    assert isinstance(services, dict)
    command = services["migrate"]["command"]
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=_environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "qleads: upgraded from nothing to" in done.stdout
    assert "portal: upgraded from nothing to p0001" in done.stdout


@pytest.mark.parametrize("name", ["Dockerfile", "compose.yaml"])
def test_the_deployment_guide_documents_the_file(name: str) -> None:
    assert name in (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
