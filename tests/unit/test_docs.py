"""The docs' code is code: every ``python`` block of the how-to and the README runs here,
in order, in one namespace, as a reader would paste it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(path: Path) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["docs/embedding.md", "README.md"])
def test_every_python_block_runs(name: str) -> None:
    """R1–R16 as documented: the examples must stay true."""
    blocks = _blocks(ROOT / name)
    assert blocks, f"{name} has no python blocks"
    namespace: dict[str, object] = {"__name__": f"docs:{name}"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{name} (block {number})", "exec")
        exec(code, namespace)
