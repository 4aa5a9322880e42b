"""docs/policy.md's examples run, and its worked examples of business hours are true."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from qleads.calendar import Calendar
from qleads.model import Policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
_SECTIONS = ("## Escalation ladder", "## Decline reasons", "## Duplicates")
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_ROW = re.compile(
    r"^\| (\w{3}) (\d{4}-\d\d-\d\d) (\d\d:\d\d)(, Bavaria)? \| (\d+) business (hours|days) "
    r"\| \w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d)",
    re.MULTILINE,
)


def _section(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(heading)
    following = [text.find(h, start + 1) for h in _SECTIONS if text.find(h, start + 1) > 0]
    return text[start : min(following, default=len(text))]


@pytest.mark.parametrize("heading", _SECTIONS)
def test_the_examples_make_policies(heading: str) -> None:
    blocks = _BLOCK.findall(_section(heading))
    assert blocks
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, f"docs/policy.md {heading}", "exec"), namespace)
        assert isinstance(namespace["policy"], Policy)


def test_the_worked_examples_of_business_hours_and_days() -> None:
    rows = _ROW.findall(_section("## Escalation ladder"))
    assert len(rows) == 6
    berlin = ZoneInfo("Europe/Berlin")
    for _day, date, time, bavaria, n, unit, end_date, end_time in rows:
        calendar = Calendar("DE", "BY" if bavaria else "SN")
        start = dt.datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=berlin)
        utc = start.astimezone(dt.UTC)
        add = calendar.add_business_hours if unit == "hours" else calendar.add_business_days
        result = add(utc, int(n)).astimezone(berlin)
        assert result.strftime("%Y-%m-%d %H:%M") == f"{end_date} {end_time}", (date, time)
