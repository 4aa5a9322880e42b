"""The package's layout keeps its promises: one service object made of its use-case
modules, the wire codec in one module, and the import paths of 0.1 that moved still
working — with a ``DeprecationWarning`` — until 0.3."""

from __future__ import annotations

import importlib

import pytest

import qleads.intake

MOVED_FROM_INTAKE = {
    "MAX_JSON_DEPTH": "qleads.documents",
    "decode_json": "qleads.documents",
    "document_fingerprint": "qleads.documents",
    "structure_stored_document": "qleads.documents",
    "unstructure_document": "qleads.documents",
    "route": "qleads.routing",
}


class TestOldPaths:
    @pytest.mark.parametrize("name", list(MOVED_FROM_INTAKE))
    def test_a_name_that_left_intake_still_works_and_warns(self, name: str) -> None:
        home = MOVED_FROM_INTAKE[name]
        with pytest.warns(DeprecationWarning, match=f"import it from {home}"):
            value = getattr(qleads.intake, name)
        assert value is getattr(importlib.import_module(home), name)

    def test_intake_keeps_validation_only(self) -> None:
        assert not set(MOVED_FROM_INTAKE) & set(qleads.intake.__all__)
        with pytest.raises(AttributeError):
            _ = qleads.intake.no_such_name  # type: ignore[attr-defined]
