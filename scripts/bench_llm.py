"""Benchmark the generative (LLM) path and document it in the README.

    .venv/bin/python scripts/bench_llm.py --write            # all models; README + bench/llm.json
    .venv/bin/python scripts/bench_llm.py --questions 5      # a short run; prints, writes nothing
    .venv/bin/python scripts/bench_llm.py --model YOUR.gguf  # your model; prints, writes nothing

The entry point of the LLM benchmark in the package scripts/benchmark/ (its `llm` module says
what is measured).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from benchmark.llm import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
