"""PostgreSQL through a libpq without pipeline mode (before 14): the statements that
travel together in a pipeline go one round trip each, with the same outcome — an intake,
a claim, a sweep batch of several leads, a batch that lost one lead."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, driver
from qleads.errors import StaleUpdate
from qleads.model import NotificationKind
from qleads.testing.world import World

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def world(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(driver, "pipelines_supported", lambda: False)
    repository = SqlAlchemyLeadRepository.from_url(postgres_url)
    repository.upgrade_schema()
    world = World(repository, directory=SqlAlchemyDirectory(repository.engine))
    yield world
    repository.close()


def test_intake_claim_and_sweep_without_a_pipeline(world: World) -> None:
    ids = [world.intake(f"np-{n}") for n in range(4)]
    assert world.intake("np-0") == ids[0]  # a replay: the same lead
    for lead_id in ids[:3]:
        world.desk.claim(world.anna, lead_id)
    world.advance(days=10)
    report = world.desk.sweep(batch_size=2)
    assert report.expired == 3
    assert len(world.notices(NotificationKind.CLAIM_EXPIRED)) == 3
    assert world.desk.sweep().total == 0


def test_a_batch_that_lost_one_lead_names_it_without_a_pipeline(world: World) -> None:
    ids = [world.intake(f"nl-{n}") for n in range(3)]

    def update_all_late() -> None:
        with world.repository.unit_of_work() as late:
            seen = [late.get(lead_id) for lead_id in ids]
            world.desk.claim(world.ben, ids[1])  # moves one of them on meanwhile
            for lead in seen:
                late.update(attrs.evolve(lead, version=lead.version + 1), expected_version=1)
            late.commit()

    with pytest.raises(StaleUpdate) as raised:
        update_all_late()
    assert raised.value.lead_id == ids[1]
