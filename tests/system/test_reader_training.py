"""`rag train-reader` end to end on a small seeded run: the ONNX file and card it writes are read
by the run-time reader, and the same seed gives the same card figures.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer.cross_encoder_reader import CrossEncoderReader, ReaderCard
from rag.answer.reader import Question
from rag.evaluation.squad import BUNDLED, SPLIT
from rag.retrieval.candidates import candidates_of

pytestmark = pytest.mark.slow

TRAIN_ARTICLE = "Sino-Tibetan_relations_during_the_Ming_dynasty"


def small_squad(folder: Path) -> Path:
    """One train article and the two dev articles, each cut to its first paragraphs."""
    raw = json.loads(BUNDLED.read_text(encoding="utf-8"))
    keep = []
    for article in raw["data"]:
        if article["title"] == TRAIN_ARTICLE or SPLIT.get(article["title"]) == "dev":
            keep.append({**article, "paragraphs": article["paragraphs"][:6]})
    path = folder / "small.json"
    path.write_text(json.dumps({"version": "v2.0", "data": keep}), encoding="utf-8")
    return path


def run(squad: Path, out: Path) -> dict:
    from rag.answer.reader_training.run import train_reader
    from rag.answer.reader_training.train import Recipe

    recipe = Recipe(max_questions=40, epochs=0.5, seed=5, batch_size=8)
    card = train_reader(squad, out, recipe, lambda _: None, dev_questions=20)
    return json.loads(card.read_text(encoding="utf-8"))


def test_a_small_seeded_run_writes_a_reader_the_product_reads(tmp_path: Path, pipeline) -> None:
    squad = small_squad(tmp_path)
    first = run(squad, tmp_path / "a")
    assert (tmp_path / "a" / "reader.int8.onnx").stat().st_size > 1_000_000
    card = ReaderCard.read(tmp_path / "a")
    assert card.max_length == 96 and card.shortlist == 15 and 0.0 <= card.threshold <= 1.0
    assert len(first["training_data"]["squad_sha256"]) == 64
    assert first["training_data"]["pairs"] > 40
    assert first["dev"]["questions"] == 20
    assert first["dev"]["reader_int8"]["threshold"] == pytest.approx(card.threshold, abs=1e-4)

    reader = CrossEncoderReader.load(pipeline.index, pipeline.embedder, folder=tmp_path / "a")
    question = "Who ruled?"
    retrieval = pipeline.retriever.retrieve(question, 5)
    candidates = candidates_of(retrieval, pipeline.index)
    p = reader.score(Question.of(question), candidates)
    assert len(candidates) > 0 and p.shape == (len(candidates),)
    assert ((p >= 0) & (p <= 1)).all() and p.max() > 0

    second = run(squad, tmp_path / "b")
    assert second["training_data"] == first["training_data"]
    assert second["dev"] == first["dev"]
    assert second["threshold"] == first["threshold"]
