"""Train the cross-encoder reader on SQuAD 2.0 train articles: a thin wrapper of
`rag train-reader`.

    .venv/bin/python scripts/train_reader.py [--max-questions N] [--epochs E] [--seed S] [--write]

The procedure lives in rag.answer.reader_training; its output goes to ./trained-reader/ (or
--out FOLDER), and into the shipped rag/answer/cross_encoder/ only with --write.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train-reader", *sys.argv[1:]]))
