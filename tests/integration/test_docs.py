"""The docs' code is code: every ``python`` block of the how-to and the README runs here,
in order, in one namespace, as a reader would paste it. And the docs keep their other
promises: the rules R1–R16 are in the repository, with R9's worked examples true; every
file they name exists; every command they show works with the README's setup."""

from __future__ import annotations

import configparser
import datetime as dt
import functools
import re
import shlex
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from qleads.adapters.sql import SqlAlchemyDirectory
from qleads.calendar import Calendar

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
TOX = configparser.ConfigParser()
TOX.read(ROOT / "tox.ini", encoding="utf-8")
TOX_ENVS = {section.removeprefix("testenv:") for section in TOX.sections()} - {"tox"}


def _blocks(path: Path) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


@functools.cache
def _run(name: str) -> dict[str, object]:
    blocks = _blocks(ROOT / name)
    assert blocks, f"{name} has no python blocks"
    namespace: dict[str, object] = {"__name__": f"docs:{name}"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{name} (block {number})", "exec")
        exec(code, namespace)
    return namespace


@pytest.mark.parametrize("name", ["docs/embedding.md", "README.md"])
def test_every_python_block_runs(name: str) -> None:
    """R1–R16 as documented: the examples must stay true."""
    _run(name)


def test_the_how_to_keeps_its_people_in_the_upgraded_database() -> None:
    """Step 6 of the how-to runs the desk on SQL alone: the schema upgraded first, the
    people of step 1 in a ``SqlAlchemyDirectory``."""
    namespace = _run("docs/embedding.md")
    directories = [v for v in namespace.values() if isinstance(v, SqlAlchemyDirectory)]
    assert len(directories) == 1, "the how-to shows one SqlAlchemyDirectory"
    people = directories[0]
    assert [i.id for i in people.installers()] == ["anna", "bernd"]
    assert [t.id for t in people.territories()] == ["de-sn"]


# --- the rules -------------------------------------------------------------------------------

RULES = ROOT / "docs" / "rules.md"


def test_every_rule_has_its_section_in_order() -> None:
    numbers = re.findall(r"^## R(\d+) ", RULES.read_text(encoding="utf-8"), re.MULTILINE)
    assert [int(n) for n in numbers] == list(range(1, 17))


_WHEN = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{4}-\d\d-\d\d) (\d\d:\d\d)(?: ([+-]\d\d:\d\d))?"
_R9_ROW = re.compile(rf"^\| {_WHEN}(?:, (\w+))? \| (\d+) \| {_WHEN}(?: \(.*\))? \|$", re.MULTILINE)
_SUBDIVISIONS = {None: "SN", "Bavaria": "BY"}
_BERLIN = ZoneInfo("Europe/Berlin")


def test_the_worked_examples_of_r9_hold() -> None:
    """Each row of R9's table: start + n business days is the result, to the minute, in
    Saxony unless the row names another Land; the weekdays and offsets shown are right."""
    rows = _R9_ROW.findall(RULES.read_text(encoding="utf-8"))
    assert len(rows) == 8, "R9 has eight worked examples"
    for day, date, time, offset, land, n, day2, date2, time2, offset2 in rows:
        start = dt.datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=_BERLIN)
        calendar = Calendar("DE", _SUBDIVISIONS[land or None])
        result = calendar.add_business_days(start, int(n)).astimezone(_BERLIN)
        row = f"{day} {date} {time} + {n}"
        assert result.strftime("%a %Y-%m-%d %H:%M") == f"{day2} {date2} {time2}", row
        assert start.strftime("%a") == day, row
        for shown, instant in ((offset, start), (offset2, result)):
            assert not shown or instant.strftime("%z") == shown.replace(":", ""), row


# --- names and commands ----------------------------------------------------------------------

_MD_NAME = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
_LINK = re.compile(r"\]\(([^)\s#]+\.md)?(?:#([^)\s]+))?\)")


def _slug(heading: str) -> str:
    """The anchor a heading gets on GitHub."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def _texts() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")]
    for folder in ("src", "tests", "examples", "bench"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".md", ".html", ".txt"} and ".tox" not in path.parts:
                found.append(path)
    return found


def test_every_markdown_file_named_anywhere_is_in_the_repository() -> None:
    """Docs, docstrings and comments point only to files a reader has."""
    missing = []
    for path in _texts():
        for name in _MD_NAME.findall(path.read_text(encoding="utf-8", errors="replace")):
            places = (path.parent / name, ROOT / name, ROOT / "docs" / name)
            if not any(place.is_file() for place in places):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing


def test_every_link_of_the_docs_leads_to_a_file_and_heading() -> None:
    broken = []
    for path in DOCS:
        for target, anchor in _LINK.findall(path.read_text(encoding="utf-8")):
            file = (path.parent / target).resolve() if target else path
            if not file.is_file() or (anchor and anchor not in _anchors(file)):
                broken.append(f"{path.relative_to(ROOT)}: {target}#{anchor}")
    assert not broken


def _commands() -> list[tuple[Path, list[str]]]:
    """Every command line the docs show on our own virtualenv or tox envs."""
    found = []
    for path in DOCS:
        for line in path.read_text(encoding="utf-8").splitlines():
            for command in re.findall(r"(?:^|[\s`$&])((?:\.venv|\.tox/\w+)/bin/[^`#&]+)", line):
                found.append((path, shlex.split(command)))
    return found


def test_the_docs_commands_use_only_what_the_readme_installs() -> None:
    """The README's virtualenv holds pip and tox, nothing else; every other program
    runs from a tox env that tox.ini defines."""
    commands = _commands()
    assert commands
    for path, (program, *args) in commands:
        where = f"{path.relative_to(ROOT)}: {program} {' '.join(args)}"
        if program.startswith(".venv/"):
            assert program in {".venv/bin/pip", ".venv/bin/tox"}, where
        else:
            assert program.split("/")[1] in TOX_ENVS, where
        if program == ".venv/bin/tox" and "-e" in args:
            assert set(args[args.index("-e") + 1].split(",")) <= TOX_ENVS, where


def _demo_arguments() -> list[list[str]]:
    """The portal's arguments in each demo command of the docs, as the portal gets them."""
    shown = []
    for _, (program, *args) in _commands():
        if program == ".venv/bin/tox" and args[:2] == ["-e", "demo"]:
            shown.append(["--demo", *args[args.index("--") + 1 :]] if "--" in args else ["--demo"])
        elif program == ".tox/demo/bin/python" and args[:2] == ["-m", "examples.admin_app"]:
            shown.append(args[2:])
    return shown


def test_the_demo_takes_the_arguments_the_docs_pass_through_tox(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``tox -e demo -- --port 8080`` reaches the portal: tox.ini hands it the arguments
    after ``--``, and the portal's parser accepts them (it checks every argument before
    it shows ``--help``, so nothing starts)."""
    from examples.admin_app.__main__ import main as portal

    assert "{posargs}" in TOX["testenv:demo"]["commands"]
    shown = _demo_arguments()
    assert ["--demo", "--port", "8080", "--db", "sqlite:///demo.sqlite"] in shown
    for args in shown:
        with pytest.raises(SystemExit) as done:
            portal([*args, "--help"])
        assert done.value.code == 0, args
    with pytest.raises(SystemExit) as refused:  # and the check is real
        portal(["--demo", "--port", "eighty", "--help"])
    assert refused.value.code == 2
    capsys.readouterr()
