"""The contract suites (qleads.testing.contract) on the in-memory adapters."""

from __future__ import annotations

import pytest

from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository
from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.ports import LeadRepository
from qleads.testing.contract import DirectoryContract, OutboxContract, RepositoryContract


class TestInMemoryLeadRepository(RepositoryContract):
    @pytest.fixture
    def repository(self) -> LeadRepository:
        return InMemoryLeadRepository()


class TestInMemoryDirectory(DirectoryContract):
    @pytest.fixture
    def directory(self) -> InMemoryDirectory:
        return InMemoryDirectory()


class TestInMemoryOutbox(OutboxContract):
    @pytest.fixture
    def repository(self) -> InMemoryLeadRepository:
        return InMemoryLeadRepository()

    @pytest.fixture
    def outbox(self, repository: InMemoryLeadRepository) -> InMemoryOutbox:
        return InMemoryOutbox(repository)
