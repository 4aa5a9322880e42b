"""``qleads gdpr export|erase|retention URL`` (R14) on a SQLite file: the export's
file, the erasure's summary without the person in it, the retention dry run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository
from qleads.cli import main
from qleads.lifecycle import Status
from qleads.testing.world import World, make_document, make_lead

EMAIL = "erika@example.org"


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'qleads.db'}"
    repository = SqlAlchemyLeadRepository.from_url(url)
    repository.upgrade_schema()
    world = World(repository, directory=SqlAlchemyDirectory(repository.engine))
    lead = world.desk.intake(world.source, make_document("cli-1")).lead
    world.desk.claim(world.anna, lead.id)
    old = make_lead("cli-old", received_at=dt.datetime(2020, 1, 6, 9, 0, tzinfo=dt.UTC))
    world.store(old)
    repository.close()
    return url


def test_export_writes_the_persons_leads_to_a_file(url: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "auskunft.json"
    assert main(["gdpr", "export", url, "--email", EMAIL, "--out", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [lead["source_id"] for lead in document["leads"]] == ["cli-1", "cli-old"]
    assert document["leads"][0]["status"] == Status.CLAIMED.value
    assert "Erika" not in capsys.readouterr().out


def test_erase_says_how_many_and_nothing_of_the_person(url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["gdpr", "erase", url, "--email", EMAIL, "--reason", "Brief vom 1.12."]) == 0
    said = capsys.readouterr().out
    assert said.startswith("qleads gdpr erase: 2 lead(s) erased (1, 2), 0 erased before")
    assert "erika" not in said.lower()
    assert main(["gdpr", "erase", url, "--email", EMAIL, "--reason", "again"]) == 0
    assert "0 lead(s) erased (none)" in capsys.readouterr().out


def test_retention_dry_run_counts_and_changes_nothing(url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """R14: the never-claimed lead of 2020 is past its 12 months; the claimed one not."""
    for _ in range(2):
        assert main(["gdpr", "retention", url, "--dry-run"]) == 0
        assert "would anonymise 1 lead(s)" in capsys.readouterr().out
    assert main(["gdpr", "retention", url]) == 0
    assert "anonymised 1 lead(s)" in capsys.readouterr().out
    assert main(["gdpr", "retention", url, "--dry-run"]) == 0
    assert "would anonymise 0 lead(s)" in capsys.readouterr().out


def test_an_unknown_admin_or_a_missing_reason_is_refused(url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["gdpr", "erase", url, "--email", EMAIL, "--reason", "x", "--as", "nobody"]) == 2
    assert "--as names no admin" in capsys.readouterr().err
    assert main(["gdpr", "erase", url, "--email", EMAIL]) == 2
    assert main(["gdpr", "erase", url, "--email", EMAIL, "--reason", " "]) == 1
    assert "reason" in capsys.readouterr().err
