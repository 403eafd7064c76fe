"""The benchmark's one writer of generated blocks (scripts/benchmark/blocks.py) and its report.

A block between `<!-- NAME:start -->` and `<!-- NAME:end -->` is replaced in whichever file holds
it, README.md or a page of docs/, and appended to the README when no file does. The `bench`
block, wherever it lives, is what the report makes of bench/results.json (`scripts/bench.py
--from-json bench/results.json` redraws it without measuring).

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import importlib
import json
import re
from types import ModuleType

from ..fakes import ROOT


def test_the_bench_block_is_the_report_of_the_recorded_results(benchmark: ModuleType) -> None:
    blocks = importlib.import_module("benchmark.blocks")
    report = importlib.import_module("benchmark.report")
    holder = blocks.holder("bench")
    assert holder is not None
    start, end = blocks.markers("bench")
    shown = holder.read_text(encoding="utf-8").split(start, 1)[1].split(end, 1)[0]
    results = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    made = "\n" + report.markdown(results)

    # The footnotes' wording may be newer than the recorded block (the gold set's size is no
    # longer written into them); the tables are compared whole.
    def tables(text: str) -> list[str]:
        return [line for line in text.splitlines() if not re.match(r"[¹²³⁴⁵]", line)]

    assert tables(made) == tables(shown)
    assert any(line.startswith("| ") for line in tables(made))
