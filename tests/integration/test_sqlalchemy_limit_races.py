"""Claim limits under concurrency on SQLite and PostgreSQL: one installer claiming many
leads at the same instant never ends above his limit (``qleads.limits``: SQLite's write
lock, PostgreSQL's advisory lock on the installer)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository
from qleads.errors import ClaimLimitReached, DailyClaimLimitReached
from qleads.lifecycle import Status
from qleads.model import Policy
from qleads.tabs import Tab
from qleads.testing.world import World, make_document

pytestmark = pytest.mark.slow

PARALLEL = 12
ROUNDS = 5


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'limits.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    repository = SqlAlchemyLeadRepository.from_url(
        url, pool_size=PARALLEL, max_overflow=2, pool_timeout=120
    )
    repository.upgrade_schema()
    built = World(
        repository,
        directory=SqlAlchemyDirectory(repository.engine),
        policy=Policy(max_open_claims=2, max_claims_per_day=3 * ROUNDS),
    )
    yield built
    repository.close()


class TestLimitRace:
    def test_parallel_claims_of_one_installer_stop_at_his_limit(self, world: World) -> None:
        """Twelve claims of one installer at once, five times over: each round exactly
        as many win as his limit leaves, the others are refused by the limit; he never
        holds more than two claimed leads."""
        barrier = threading.Barrier(PARALLEL, timeout=120)

        def claim(lead_id: int) -> str:
            barrier.wait()
            try:
                world.desk.claim(world.anna, lead_id)
            except (ClaimLimitReached, DailyClaimLimitReached) as refused:
                return refused.code
            return "won"

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            for round_ in range(ROUNDS):
                leads = [
                    world.desk.intake(world.source, make_document(f"lim-{round_}-{n}")).lead.id
                    for n in range(PARALLEL)
                ]
                outcomes = Counter(
                    f.result(timeout=300) for f in [pool.submit(claim, i) for i in leads]
                )
                assert outcomes == {"won": 2, "claim_limit_open": PARALLEL - 2}, (round_, outcomes)
                mine = world.desk.tab(world.anna, Tab.MINE, per_page=500).items
                held = [v.lead.id for v in mine if v.lead.status is Status.CLAIMED]
                assert len(held) == 2
                for lead_id in held:
                    world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
