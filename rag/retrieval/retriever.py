"""Retrieval: find the paragraphs most likely to answer a question.

Both the dense index (cosine of MiniLM vectors) and BM25 rank every passage — paragraphs and
their sentences — for the question. A paragraph takes the rank of its best passage in each list,
and the two paragraph rankings are fused by reciprocal rank fusion (RRF, k=60 by default). Each hit
keeps its raw dense and BM25 scores and the dense score of each of its sentences, which the
answerers use to pick and check quotes.

Not done here: question rewriting (rag.chat.rewrite) or deciding whether the article answers
(answerers).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from rag.documents.passages import WHOLE_PARAGRAPH
from rag.embedding.model import Embedder
from rag.index.store import Index

CANDIDATES = 200  # passages taken from each ranking (dense and BM25) before fusion


@dataclass
class Hit:
    """One retrieved paragraph with the evidence of why."""

    doc: str
    paragraph: int
    fused: float
    dense: float  # best cosine among the paragraph's passages
    lexical: float  # best BM25 score among its passages
    sentence_dense: dict[int, float] = field(default_factory=dict)  # sentence index -> cosine


@dataclass
class Retrieval:
    question: str
    query_vector: np.ndarray
    hits: list[Hit]
    elapsed_ms: float

    def top(self, k: int) -> Retrieval:
        """The same retrieval cut to its first `k` paragraphs."""
        return Retrieval(self.question, self.query_vector, self.hits[:k], self.elapsed_ms)


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, rrf_k: int = 60) -> None:
        self.index = index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self._units_by_paragraph: dict[tuple[str, int], list[int]] = defaultdict(list)
        for i, unit in enumerate(index.units):
            self._units_by_paragraph[unit.key].append(i)

    def retrieve(self, question: str, k: int) -> Retrieval:
        started = time.perf_counter()
        query = self.embedder.embed_batch([question])[0]
        n_units = len(self.index.units)
        depth = min(n_units, max(CANDIDATES, k))
        dense_scores, dense_ids = self.index.dense_search(query, depth)
        lexical_scores = self.index.lexical.scores(question)
        lexical_ids = np.flatnonzero(lexical_scores > 0)
        if len(lexical_ids) > depth:
            best = np.argpartition(-lexical_scores[lexical_ids], depth - 1)[:depth]
            lexical_ids = lexical_ids[best]

        best_dense: dict[tuple[str, int], float] = {}
        for score, unit_id in zip(dense_scores.tolist(), dense_ids.tolist(), strict=True):
            key = self.index.units[unit_id].key
            best_dense[key] = max(best_dense.get(key, -1.0), score)
        best_lexical: dict[tuple[str, int], float] = {}
        for unit_id in lexical_ids.tolist():
            key = self.index.units[unit_id].key
            best_lexical[key] = max(best_lexical.get(key, 0.0), float(lexical_scores[unit_id]))

        fused: dict[tuple[str, int], float] = defaultdict(float)
        for ranking in (best_dense, best_lexical):
            ordered = sorted(ranking, key=lambda key: -ranking[key])
            for rank, key in enumerate(ordered, start=1):
                fused[key] += 1.0 / (self.rrf_k + rank)
        top = sorted(fused, key=lambda key: -fused[key])[:k]
        hits = [
            Hit(
                key[0],
                key[1],
                fused[key],
                best_dense[key] if key in best_dense else self._cosine(query, key),
                best_lexical.get(key, 0.0),
                self._sentence_scores(query, key),
            )
            for key in top
        ]
        return Retrieval(question, query, hits, (time.perf_counter() - started) * 1000)

    def _sentence_scores(self, query: np.ndarray, key: tuple[str, int]) -> dict[int, float]:
        """Cosine of the question with each sentence of a paragraph (or its only sentence)."""
        unit_ids = self._units_by_paragraph[key]
        vectors = self.index.vectors(unit_ids) @ query
        scores: dict[int, float] = {}
        for unit_id, score in zip(unit_ids, vectors.tolist(), strict=True):
            sentence = self.index.units[unit_id].sentence
            if sentence != WHOLE_PARAGRAPH or len(unit_ids) == 1:
                scores[max(sentence, 0)] = float(score)
        return scores

    def _cosine(self, query: np.ndarray, key: tuple[str, int]) -> float:
        first = self._units_by_paragraph[key][0]
        return float(self.index.vectors([first])[0] @ query)
