"""The repository contract (qleads.testing.contract) on the in-memory adapter."""

from __future__ import annotations

import pytest

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.ports import LeadRepository
from qleads.testing.contract import RepositoryContract


class TestInMemoryLeadRepository(RepositoryContract):
    @pytest.fixture
    def repository(self) -> LeadRepository:
        return InMemoryLeadRepository()
