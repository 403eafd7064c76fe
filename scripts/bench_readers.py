"""Warm `Pipeline.ask` latency of every reader, interleaved question by question in one process,
so that load on the machine falls on all of them alike (scripts/bench.py measures one reader per
run).

    .venv/bin/python scripts/bench_readers.py [--rounds 2]

Uses the gold set's questions (follow-ups left out) over the index `rag eval` builds for them
(built first if needed); prints p50 and p95 per reader and the load average as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import Pipeline, Settings
from rag.answer.reader import READERS
from rag.evaluation.gold import CHECKOUT_GOLD, gold_settings, load_gold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    questions = [c.question for c in load_gold(CHECKOUT_GOLD) if not c.history]
    base = gold_settings(Settings.load(), CHECKOUT_GOLD)
    pipelines = {name: Pipeline.open(base.replace(reader=name)) for name in READERS}
    for pipeline in pipelines.values():  # warm-up
        for question in questions[:3]:
            pipeline.ask(question)
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for round_ in range(args.rounds):
        order = list(pipelines.items())
        for question in questions:
            for name, pipeline in order if round_ % 2 == 0 else reversed(order):
                started = time.perf_counter()
                pipeline.ask(question)
                times[name].append((time.perf_counter() - started) * 1000)
    report: dict[str, object] = {}
    for name, measured in times.items():
        measured.sort()
        report[name] = {
            "asks": len(measured),
            "p50_ms": round(measured[len(measured) // 2], 1),
            "p95_ms": round(measured[int(0.95 * len(measured))], 1),
        }
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
