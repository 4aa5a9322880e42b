"""``qleads route explain``: where a lead would go, printed, with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
from qleads.adapters.sql.migrations import upgrade
from qleads.cli import main
from qleads.tabs import Tab
from qleads.testing.world import LEIPZIG, World, lead_document


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A migrated SQLite database with the standard cast; Leipzig lets an installer
    hold one claim, and Anna holds one."""
    url = f"sqlite:///{tmp_path / 'route.db'}"
    engine = make_engine(url)
    upgrade(engine)
    world = World(SqlAlchemyLeadRepository(engine), directory=SqlAlchemyDirectory(engine))
    world.desk.set_territory_policy(world.admin, LEIPZIG.id, {"max_open_claims": 1})
    world.desk.claim(world.anna, world.intake("cli-1"))
    engine.dispose()
    return url


class TestRouteExplain:
    def test_postcode_prints_territory_installers_and_reasons(
        self, url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["route", "explain", url, "--postcode", "04107"]) == 0
        out = capsys.readouterr().out
        assert "Gebiet: Leipzig, Vertriebsmitarbeiter: Rita Ost" in out
        assert "Anna Solar (i-anna): sieht sie, kann nicht reservieren" in out
        assert "Ben Dach (i-ben): sieht sie und kann reservieren" in out
        assert "Carl Modul (i-carl): sieht sie nicht: anderes Gebiet" in out
        assert "max_open_claims=1" in out

    def test_a_document_in_english_and_nothing_is_stored(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "lead.json"
        path.write_text(json.dumps(lead_document("cli-2", "80331")), encoding="utf-8")
        assert main(["route", "explain", url, "--document", str(path), "--language", "en"]) == 0
        out = capsys.readouterr().out
        assert "Territory: München, sales rep: Sepp Süd" in out
        assert "Carl Modul (i-carl): would see it and could claim it" in out
        engine = make_engine(url)
        try:
            world = World(
                SqlAlchemyLeadRepository(engine),
                directory=SqlAlchemyDirectory(engine),
                enrol=False,
            )
            assert world.desk.tab(world.admin, Tab.ALL).total == 1
        finally:
            engine.dispose()

    def test_bad_input_is_one_line_and_a_failure_code(
        self, url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["route", "explain", url, "--postcode", "x"]) == 1
        assert "postal_code" in capsys.readouterr().err
        assert main(["route", "explain", url, "--postcode", "04107", "--policy", "[1]"]) == 2
        assert main(["route", "explain", url]) == 2
