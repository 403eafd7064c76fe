"""The reader's training and dev data: SQuAD articles indexed by the product, each question's
candidates as the product's logistic reader sees them, each candidate labelled.

Per SQuAD article (rag.evaluation.squad: read_squad, article_text, SPLIT) a document is written
and indexed with the product's own indexer (build_index), and a Pipeline opened over it. Per
question the top `RETRIEVE_K` paragraphs are retrieved, their sentences are the candidates
(candidates_of) with the logistic reader's probability, and a candidate is labelled 1 when it
overlaps an answer span of its context; `hard` marks a plausible answer of an unanswerable
question (and a synthetic question's former answer, rag.answer.reader_training.synthetic).
The gold set's dev cases (replayed as `rag eval` asks them) are added to training.

Not here: the model (train), synthetic questions (synthetic), the pair text (reader_pairs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.answer.logistic_reader import LogisticReader
from rag.answer.reader import Question
from rag.config import Settings
from rag.evaluation.squad import SquadArticle, article_text
from rag.index.build import build_index
from rag.pipeline import Pipeline
from rag.retrieval.candidates import candidates_of

RETRIEVE_K = 5  # paragraphs whose sentences are the candidates (the product's answer_k)
Span = tuple[int, int, int]  # context number (0-based), start, end in the context


@dataclass
class Cand:
    """One candidate sentence as the trainer reads it."""

    paragraph: str  # the paragraph's text
    title: str
    start: int
    end: int
    logistic: float  # the logistic reader's probability
    label: int = 0
    hard: int = 0


@dataclass
class Record:
    """One question with its candidates."""

    qid: str
    question: str
    answerable: bool
    split: str
    candidates: list[Cand] = field(default_factory=list)
    synthetic: str = ""


@dataclass
class Case:
    """A question before retrieval: its answer and plausible-answer spans."""

    qid: str
    question: str
    answers: list[Span]
    hard: list[Span]
    synthetic: str = ""


def squad_cases(article: SquadArticle) -> list[Case]:
    out = []
    for q in article.questions:
        answers = [
            (q.context, s, s + len(a)) for a, s in zip(q.answers, q.answer_starts, strict=True)
        ]
        hard = [
            (q.context, s, s + len(a)) for a, s in zip(q.plausible, q.plausible_starts, strict=True)
        ]
        out.append(Case(q.id, " ".join(q.question.split()), answers, hard))
    return out


def open_article(article: SquadArticle, work: Path, threads: int = 2) -> Pipeline:
    """The product's pipeline over one article, indexed under `work`."""
    folder = work / article.name
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{article.name}.txt"
    source.write_text(article_text(article), encoding="utf-8")
    settings = Settings(sources=(source,), index_dir=folder / "index", threads=threads)
    build_index(settings, [source])
    return Pipeline.open(settings)


def _overlaps(spans: Sequence[Span], context: int, start: int, end: int) -> bool:
    return any(c == context and s < end and start < e for c, s, e in spans)


def records_of(pipeline: Pipeline, article: SquadArticle, cases: Sequence[Case]) -> list[Record]:
    """Each case's top-`RETRIEVE_K` candidates, scored by the logistic reader and labelled."""
    reader = LogisticReader.load(pipeline.index, pipeline.embedder)
    context_of = {text: i for i, text in enumerate(article.contexts)}
    titles = {d.name: d.headline for d in pipeline.index.documents}
    out = []
    for case in cases:
        retrieval = pipeline.retriever.retrieve(case.question, RETRIEVE_K).top(RETRIEVE_K)
        candidates = candidates_of(retrieval, pipeline.index)
        scores = reader.score(Question.of(retrieval.question), candidates)
        record = Record(case.qid, case.question, bool(case.answers), article.split)
        record.synthetic = case.synthetic
        for c, p in zip(candidates, scores.tolist(), strict=True):
            text = pipeline.index.paragraph(c.doc, c.paragraph).text
            context = context_of.get(text, -1)
            label = _overlaps(case.answers, context, c.start, c.end)
            hard = _overlaps(case.hard, context, c.start, c.end)
            record.candidates.append(
                Cand(text, titles[c.doc], c.start, c.end, round(p, 6), int(label), int(hard))
            )
        out.append(record)
    return out


def gold_records(gold: Path, settings: Settings) -> list[Record]:
    """The gold set's dev cases, replayed as `rag eval` asks them, as training records: a
    candidate is positive when its paragraph is the evidence and it holds an answer."""
    from rag.evaluation.gold import gold_settings, load_gold, select_split
    from rag.evaluation.replay import replay
    from rag.evaluation.scoring import normalise

    pipeline = Pipeline.open(gold_settings(settings, gold))
    reader = LogisticReader.load(pipeline.index, pipeline.embedder)
    titles = {d.name: d.headline for d in pipeline.index.documents}
    out = []
    for case in select_split(load_gold(gold), "dev"):
        retrieval = replay(pipeline, case).retrieval.top(RETRIEVE_K)
        candidates = candidates_of(retrieval, pipeline.index)
        scores = reader.score(Question.of(retrieval.question), candidates)
        record = Record(f"gold-{case.id}", retrieval.question, case.answerable, "train")
        for c, p in zip(candidates, scores.tolist(), strict=True):
            text = pipeline.index.paragraph(c.doc, c.paragraph).text
            holds = any(normalise(a) in normalise(c.text) for a in case.answers)
            label = bool(case.evidence) and normalise(text) == normalise(case.evidence) and holds
            record.candidates.append(
                Cand(text, titles[c.doc], c.start, c.end, round(p, 6), int(label))
            )
        out.append(record)
    return out


def digest(records: Sequence[Record]) -> str:
    """sha256 of the records as JSON lines: the data a model was trained or judged on."""
    h = hashlib.sha256()
    for r in records:
        h.update(json.dumps(asdict(r), ensure_ascii=False, sort_keys=True).encode() + b"\n")
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
