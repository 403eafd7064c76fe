"""`rag train-reader` as a library function: data, training, export, dev figures and the card.

1. The SQuAD file's train articles (rag.evaluation.squad.SPLIT) with seeded synthetic
   unanswerable questions, and the gold set's dev cases, become training records (data,
   synthetic); the dev articles become dev records. Test articles are never read.
2. The model is trained (train) and exported to int8 ONNX with its tokenizer (export).
3. Dev is scored through the run-time reader (CrossEncoderReader.logits on the exported file):
   the threshold is the one with most questions right overall (figures.choose_threshold); the
   logistic reader is scored on the same candidates for comparison.
4. card.json and MODEL_CARD.md are written beside the weights (card).

Seeded throughout: the same file, arguments and seed give the same card figures.
The indexes are built in a temporary folder, removed afterwards.
Not here: the command line (rag.cli) or where the output goes (the caller's `out`).
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.cross_encoder_reader import CrossEncoderReader, ReaderCard
from rag.answer.reader_training import figures
from rag.answer.reader_training.card import write_card
from rag.answer.reader_training.data import (
    Record,
    digest,
    file_sha256,
    gold_records,
    open_article,
    records_of,
    squad_cases,
)
from rag.answer.reader_training.export import export
from rag.answer.reader_training.synthetic import SimilarNames, article_names, make_synthetic
from rag.answer.reader_training.train import (
    Recipe,
    pair_of,
    prior,
    shortlisted,
    train,
    training_pairs,
)
from rag.config import Settings
from rag.embedding.model import bundled_model_dir
from rag.evaluation.squad import SquadArticle, read_squad, select

SYNTHETIC_SHARE = 0.5  # of the answerable train questions tried for a synthetic twin


def train_reader(
    squad: Path,
    out: Path,
    recipe: Recipe,
    say: Callable[[str], None],
    *,
    gold: Path | None = None,
    train_articles: int = 0,
    dev_questions: int = 0,
) -> Path:
    """Train, export and card a reader into `out`; returns card.json's path. `gold`: the gold
    file whose dev cases join training (None: none); `train_articles` / `dev_questions`: only the
    first N train articles / a seeded sample of N dev questions (0: all)."""
    articles = read_squad(squad)
    with tempfile.TemporaryDirectory(prefix="rag-train-reader-") as tmp:
        return _train_reader(
            articles, squad, out, recipe, say, gold, train_articles, dev_questions, Path(tmp)
        )


def _train_reader(
    articles: list[SquadArticle],
    squad: Path,
    out: Path,
    recipe: Recipe,
    say: Callable[[str], None],
    gold: Path | None,
    train_articles: int,
    dev_questions: int,
    work: Path,
) -> Path:
    train_set = select(articles, "train")[: train_articles or None]
    records: list[Record] = []
    for article in train_set:
        records += _train_records(article, work, recipe.seed)
        say(f"{article.title}: {len(records)} train questions so far")
    if gold is not None:
        records += gold_records(gold, Settings(index_dir=work / "gold-index"))
    if recipe.max_questions:
        records = random.Random(recipe.seed).sample(
            records, min(recipe.max_questions, len(records))
        )
    dev, opened = _dev_records(select(articles, "dev"), work, recipe.seed, dev_questions)
    examples = training_pairs(records, recipe)
    say(f"{len(records)} train questions, {len(examples)} pairs; {len(dev)} dev questions")
    model, tokenizer = train(examples, recipe, bundled_model_dir(), say)
    model_path = export(model, tokenizer, out, recipe.max_length)
    tokenizer_path = out / "tokenizer.json"
    data = {
        "squad": str(squad),
        "squad_sha256": file_sha256(squad),
        "gold_sha256": file_sha256(gold) if gold is not None else None,
        "train_articles": [a.title for a in train_set],
        "train_questions": len(records),
        "synthetic": sum(bool(r.synthetic) for r in records),
        "records_sha256": digest(records),
        "dev_sha256": digest(dev),
        "pairs": len(examples),
    }
    # A first card (no figures yet) lets the run-time reader open the exported files.
    write_card(out, model_path, tokenizer_path, recipe, 0.5, data, {})
    reader = CrossEncoderReader(opened.index, opened.embedder, ReaderCard.read(out), recipe.threads)
    ours = figures.per_question(dev, [_read(reader, r, recipe) for r in dev])
    logistic = figures.per_question(dev, [[c.logistic for c in r.candidates] for r in dev])
    threshold = figures.choose_threshold(ours)
    reader_figures = figures.figures(ours, threshold)
    logistic_figures = figures.figures(logistic)
    say(figures.report("reader (int8) on dev", reader_figures))
    say(figures.report("logistic on dev", logistic_figures))
    dev_figures = {
        "questions": len(dev),
        "reader_int8": reader_figures,
        "logistic_same_candidates": logistic_figures,
    }
    return write_card(out, model_path, tokenizer_path, recipe, threshold, data, dev_figures)


def _train_records(article: SquadArticle, work: Path, seed: int) -> list[Record]:
    pipeline = open_article(article, work)
    cases = squad_cases(article)
    similar = SimilarNames(pipeline.embedder.embed_batch, article_names(article.contexts))
    rng = random.Random(f"{seed}:{article.title}")
    cases += make_synthetic(cases, article.contexts, similar, SYNTHETIC_SHARE, rng)
    return records_of(pipeline, article, cases)


def _dev_records(
    articles: Sequence[SquadArticle], work: Path, seed: int, limit: int
) -> tuple[list[Record], Any]:
    records: list[Record] = []
    pipeline: Any = None
    for article in articles:
        cases = squad_cases(article)
        if limit:
            cases = random.Random(f"{seed}:{article.title}").sample(
                cases, min(len(cases), max(1, limit // len(articles)))
            )
        pipeline = open_article(article, work)
        records += records_of(pipeline, article, cases)
    return records, pipeline


def _read(reader: CrossEncoderReader, record: Record, recipe: Recipe) -> list[float]:
    """P(answers) per candidate as the run-time reader gives it: the shortlist read by the
    exported model as a correction of the logistic log-odds, the others 0."""
    chosen = shortlisted(record, recipe.shortlist)
    if not chosen:
        return [0.0 for _ in record.candidates]
    z = reader.logits([pair_of(record, c) for c in chosen]).astype(np.float64)
    z += np.array([prior(c) for c in chosen])
    p = {id(c): float(v) for c, v in zip(chosen, 1 / (1 + np.exp(-z)), strict=True)}
    return [p.get(id(c), 0.0) for c in record.candidates]
