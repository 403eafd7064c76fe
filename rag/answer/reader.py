"""The reader seam: what decides which sentence answers a question, and whether any does.

A `Reader` is given the question (with what it asks for, rag.answer.question) and the candidate
sentences of the retrieved paragraphs (rag.retrieval.candidates), and returns for each the
calibrated probability that it answers. It carries its own abstention threshold and how many
paragraphs it weighs (`answer_k`), fitted with it and stored with its parameters, never in code.
Both answerers, extractive and generative, ask the same reader (rag.answer.extractive).

Readers are chosen by name (`Settings.reader`, `open_reader`): `logistic` is a logistic model over
hand-made features (rag.answer.logistic_reader); `cross-encoder` a MiniLM cross-encoder trained
on SQuAD 2.0 articles (rag.answer.cross_encoder_reader).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer.question import Asked, analyse
from rag.embedding.model import Embedder
from rag.errors import InputError
from rag.index.store import Index
from rag.retrieval.candidates import Candidate

READERS = ("logistic", "cross-encoder")


@dataclass(frozen=True)
class Question:
    """The question as a reader sees it: its text and what it asks for."""

    text: str
    asked: Asked

    @classmethod
    def of(cls, text: str) -> Question:
        return cls(text, analyse(text))


class Reader(Protocol):
    """Scores candidates: P(the sentence answers the question), one per candidate."""

    @property
    def name(self) -> str: ...

    @property
    def threshold(self) -> float: ...  # abstain when no candidate reaches it

    @property
    def answer_k(self) -> int: ...  # paragraphs whose sentences it weighs

    def score(self, question: Question, candidates: Sequence[Candidate]) -> np.ndarray: ...


def open_reader(name: str, index: Index, embedder: Embedder | None, threads: int = 1) -> Reader:
    """The reader called `name`, with its shipped parameters checked on load."""
    if name == "logistic":
        from rag.answer.logistic_reader import LogisticReader

        return LogisticReader.load(index, embedder)
    if name == "cross-encoder":
        from rag.answer.cross_encoder_reader import CrossEncoderReader

        return CrossEncoderReader.load(index, embedder, threads)
    raise InputError(f"unknown reader {name!r} (known: {', '.join(READERS)})")
