"""card.json for a trained reader: the format the run-time reader reads (ReaderCard.read: the
files and their sha256, pair length, shortlist, threshold, answer_k) and how it was made (the
recipe, the data's sha256, the figures on dev), plus MODEL_CARD.md saying the same for people.
Not here: choosing the threshold (run) or the figures themselves (figures).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.answer.cross_encoder_reader import FORMAT
from rag.answer.reader_training.data import RETRIEVE_K
from rag.answer.reader_training.train import Recipe

PROBABILITY = (
    "sigmoid(logit + log(p/(1-p))), p = the logistic support model's probability for the same "
    "candidate, clipped to [1e-4, 1-1e-4]"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_card(
    folder: Path,
    model: Path,
    tokenizer: Path,
    recipe: Recipe,
    threshold: float,
    training_data: dict[str, Any],
    dev: dict[str, Any],
) -> Path:
    """Write `folder`/card.json, and MODEL_CARD.md once `dev` holds the figures; returns the
    card's path."""
    card = {
        "format": FORMAT,
        "reader": "cross-encoder",
        "name": f"minilm-reader-offset-seed{recipe.seed}",
        "model": model.name,
        "sha256": sha256(model),
        "tokenizer": tokenizer.name,
        "tokenizer_sha256": sha256(tokenizer),
        "max_length": recipe.max_length,
        "shortlist": recipe.shortlist,
        "residual": "logistic",
        "probability": PROBABILITY,
        "threshold": round(threshold, 4),
        "threshold_rule": "max overall right on dev",
        "answer_k": RETRIEVE_K,
        "base_model": "the bundled all-MiniLM-L6-v2, all weights fine-tuned, mean pooling, "
        "one-logit head",
        "training_data": training_data,
        "recipe": asdict(recipe),
        "dev": dev,
        "licence": "the weights are derived from SQuAD 2.0 (CC BY-SA 4.0; Rajpurkar, Jia and "
        "Liang 2018) and all-MiniLM-L6-v2 (Apache-2.0)",
    }
    path = folder / "card.json"
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not dev:
        return path
    reader, logistic = dev["reader_int8"], dev["logistic_same_candidates"]
    lines = [
        f"# {card['name']}",
        "",
        "A MiniLM cross-encoder reader for `rag` (`--reader cross-encoder`), trained by "
        "`rag train-reader` as a correction of the logistic reader's log-odds.",
        "",
        f"- SQuAD file sha256 {training_data['squad_sha256']}; training records sha256 "
        f"{training_data['records_sha256']}, {training_data['pairs']} pairs; recipe in card.json.",
        f"- Dev ({dev['questions']} questions): reader first {reader['first']:.1%}, AUROC "
        f"{reader['auroc']:.3f}, overall {reader['overall']:.1%} at t = {threshold:.3f}; the "
        f"logistic reader on the same candidates: first {logistic['first']:.1%}, AUROC "
        f"{logistic['auroc']:.3f}, overall {logistic['overall']:.1%}.",
        f"- Licence: {card['licence']}.",
        "",
    ]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")
    return path
