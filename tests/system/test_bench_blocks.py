"""The benchmark's one writer of generated blocks (scripts/benchmark/blocks.py) and its report.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType


def test_a_block_is_replaced_where_it_is(benchmark: ModuleType, tmp_path: Path) -> None:
    blocks = importlib.import_module("benchmark.blocks")
    (tmp_path / "README.md").write_text("# r\n\n<!-- x:start -->\nold\n<!-- x:end -->\nend\n")
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "benchmarks.md"
    page.write_text("# b\n<!-- bench:start -->\nold\n<!-- bench:end -->\n\nnotes\n")
    assert blocks.write_block("bench", "| new |\n", tmp_path) == page
    assert page.read_text() == "# b\n<!-- bench:start -->\n| new |\n<!-- bench:end -->\n\nnotes\n"
    assert blocks.write_block("x", "new", tmp_path) == tmp_path / "README.md"
    assert (tmp_path / "README.md").read_text() == (
        "# r\n\n<!-- x:start -->\nnew\n<!-- x:end -->\nend\n"
    )
    assert blocks.write_block("y", "added\n", tmp_path) == tmp_path / "README.md"
    assert (
        (tmp_path / "README.md")
        .read_text()
        .endswith("end\n\n<!-- y:start -->\nadded\n<!-- y:end -->\n")
    )
