"""Fit the logistic reader on the gold set's dev half: a thin wrapper of `rag fit-logistic`.

    python scripts/train_support.py [--gold tests/gold/qa.jsonl] [--write] [--report-test]

The procedure lives in rag.evaluation.fit_logistic; this script only keeps the old command line
working.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["fit-logistic", *sys.argv[1:]]))
