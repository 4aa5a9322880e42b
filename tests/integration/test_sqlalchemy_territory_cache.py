"""SqlAlchemyDirectory's territory and team caches: the whole territory table
(territory_ids_of, territory, territories) read at once and each rep's team
(installers_of), kept for TERRITORY_CACHE_SECONDS, dropped by writes through the engine."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import attrs

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository
from qleads.adapters.sql.territory_cache import TERRITORY_CACHE_SECONDS
from qleads.model import Installer, SalesRep, Territory


def _directory(tmp_path: Path) -> tuple[SqlAlchemyDirectory, Path]:
    path = tmp_path / "d.db"
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}", checkpoint_interval=None)
    repository.upgrade_schema()
    directory = SqlAlchemyDirectory(repository.engine)
    for rep in ("r-ost", "r-sued", "r-leer"):
        directory.add_rep(SalesRep(rep, rep, f"{rep}@example.org"))
    directory.add_territory(Territory("t-leipzig", "Leipzig", "DE", frozenset({"04"}), "r-ost"))
    directory.add_territory(Territory("t-dresden", "Dresden", "DE", frozenset({"01"}), "r-ost"))
    directory.add_territory(Territory("t-muenchen", "München", "DE", frozenset({"80"}), "r-sued"))
    return directory, path


def test_each_rep_gets_his_territories(tmp_path: Path) -> None:
    directory, _ = _directory(tmp_path)
    assert directory.territory_ids_of("r-ost") == {"t-leipzig", "t-dresden"}
    assert directory.territory_ids_of("r-sued") == {"t-muenchen"}
    assert directory.territory_ids_of("r-leer") == frozenset()
    assert directory.territory_ids_of("r-unknown") == frozenset()


def test_a_write_through_the_engine_shows_at_once(tmp_path: Path) -> None:
    directory, _ = _directory(tmp_path)
    assert directory.territory_ids_of("r-leer") == frozenset()
    directory.add_territory(Territory("t-kiel", "Kiel", "DE", frozenset({"24"}), "r-leer"))
    assert directory.territory_ids_of("r-leer") == {"t-kiel"}


def test_a_write_elsewhere_shows_within_the_second(tmp_path: Path) -> None:
    """One read answers every rep until it expires: a territory another process adds
    for a rep nobody asked about yet is still unknown within the second, then shows."""
    directory, path = _directory(tmp_path)
    assert directory.territory_ids_of("r-ost") == {"t-leipzig", "t-dresden"}
    asked = time.monotonic()
    outside = sqlite3.connect(path)
    with outside:
        outside.execute(
            "INSERT INTO qleads_territory (id, name, country, rep_id) "
            "VALUES ('t-kiel', 'Kiel', 'DE', 'r-leer')"
        )
    outside.close()
    if time.monotonic() - asked < TERRITORY_CACHE_SECONDS / 2:
        assert directory.territory_ids_of("r-leer") == frozenset()
    time.sleep(TERRITORY_CACHE_SECONDS + 0.05)
    assert directory.territory_ids_of("r-leer") == {"t-kiel"}


def test_routing_reads_come_from_the_same_copy(tmp_path: Path) -> None:
    """R1/R10: territories() (routing) and territory() (new-lead notices) answer with
    prefixes and rep, and follow a write through the engine at once."""
    directory, _ = _directory(tmp_path)
    assert [t.id for t in directory.territories()] == ["t-dresden", "t-leipzig", "t-muenchen"]
    assert directory.territory("t-leipzig") == Territory(
        "t-leipzig", "Leipzig", "DE", frozenset({"04"}), "r-ost"
    )
    assert directory.territory("t-unknown") is None
    directory.update_territory(
        Territory("t-leipzig", "Leipzig", "DE", frozenset({"04", "06"}), "r-sued")
    )
    assert directory.territory("t-leipzig") == Territory(
        "t-leipzig", "Leipzig", "DE", frozenset({"04", "06"}), "r-sued"
    )
    assert directory.territory_ids_of("r-sued") == {"t-leipzig", "t-muenchen"}
    assert next(t for t in directory.territories() if t.id == "t-leipzig").prefixes == {
        "04",
        "06",
    }


def test_a_prefix_added_elsewhere_routes_within_the_second(tmp_path: Path) -> None:
    """R1: a prefix another process adds is routed to once the copy expires."""
    directory, path = _directory(tmp_path)
    assert directory.territory("t-dresden") is not None
    outside = sqlite3.connect(path)
    with outside:
        outside.execute(
            "INSERT INTO qleads_territory_prefix (territory_id, prefix) VALUES ('t-dresden', '02')"
        )
    outside.close()
    time.sleep(TERRITORY_CACHE_SECONDS + 0.05)
    dresden = directory.territory("t-dresden")
    assert dresden is not None
    assert dresden.prefixes == {"01", "02"}


def test_a_team_follows_a_write_through_the_engine_at_once(tmp_path: Path) -> None:
    """R10: the new-lead notices go to the rep's team as it is now: an installer added,
    moved to another rep or deactivated through the engine counts at once."""
    directory, _ = _directory(tmp_path)
    assert directory.installers_of("r-ost") == []
    anna = Installer("i-anna", "Anna", "anna@example.org", "r-ost")
    directory.add_installer(anna)
    directory.add_installer(Installer("i-ben", "Ben", "ben@example.org", "r-ost"))
    assert [i.id for i in directory.installers_of("r-ost")] == ["i-anna", "i-ben"]
    directory.update_installer(attrs.evolve(anna, active=False))
    assert [(i.id, i.active) for i in directory.installers_of("r-ost")] == [
        ("i-anna", False),
        ("i-ben", True),
    ]
    directory.update_installer(attrs.evolve(anna, rep_id="r-sued"))
    assert [i.id for i in directory.installers_of("r-ost")] == ["i-ben"]
    assert [i.id for i in directory.installers_of("r-sued")] == ["i-anna"]


def test_a_team_changed_elsewhere_shows_within_the_second(tmp_path: Path) -> None:
    directory, path = _directory(tmp_path)
    directory.add_installer(Installer("i-anna", "Anna", "anna@example.org", "r-ost"))
    assert [i.id for i in directory.installers_of("r-ost")] == ["i-anna"]
    asked = time.monotonic()
    outside = sqlite3.connect(path)
    with outside:
        outside.execute("UPDATE qleads_installer SET active = 0 WHERE id = 'i-anna'")
    outside.close()
    if time.monotonic() - asked < TERRITORY_CACHE_SECONDS / 2:
        assert [i.active for i in directory.installers_of("r-ost")] == [True]
    time.sleep(TERRITORY_CACHE_SECONDS + 0.05)
    assert [i.active for i in directory.installers_of("r-ost")] == [False]
