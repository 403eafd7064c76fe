"""Tune a model's support threshold and prompt on the gold set's dev half: a thin wrapper of
`rag tune-model`.

    .venv/bin/python scripts/tune_model.py --model qwen2.5-coder-0.5b [--write]

The procedure lives in rag.evaluation.tune_model; with --write the chosen values go into the model
catalogue's data (rag/llm/tuned.json) and the report into bench/tune-NAME.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["tune-model", *sys.argv[1:]]))
