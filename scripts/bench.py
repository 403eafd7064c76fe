"""Benchmark: cold start, warm latency, indexing and scale, written to bench/ and the README.

    .venv/bin/python scripts/bench.py                 # full run (tiers 1k, 10k, 100k)
    .venv/bin/python scripts/bench.py --quick         # fewer runs, tiers 1k and 10k
    .venv/bin/python scripts/bench.py --tiers 1000,10000 --no-readme
    .venv/bin/python scripts/bench.py --from-json bench/results.json --no-readme  # report only
    RAG_READER=logistic .venv/bin/python scripts/bench.py --tiers 1000 --no-readme  # a reader

The entry point of the benchmark package scripts/benchmark/ (its `run` module says what is
measured).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from benchmark.run import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
