"""Word coverage: the IDF-weighted share of a question's content words found in a text.

IDF comes from the index's BM25 statistics, so rare words (names, figures) count for more than
common ones. Question-shaping words ("what", "how many", "according") are not content. Not done:
synonyms or meaning (that is the embedding model's part).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rag.answer.question import QUESTION_WORDS
from rag.index.store import Index
from rag.text.tokens import tokenize


class Coverage:
    """IDF-weighted share of a question's content words found in a text."""

    def __init__(self, index: Index) -> None:
        self._lexical = index.lexical
        self._n = max(1, index.lexical.num_docs)

    def idf(self, token: str) -> float:
        return math.log(1 + self._n / (self._lexical.document_frequency(token) + 0.5))

    def content_words(self, question: str) -> list[str]:
        return [t for t in dict.fromkeys(tokenize(question)) if t not in QUESTION_WORDS]

    def share(self, question: str, text: str) -> float:
        present = set(tokenize(text))
        return self.share_of(self.content_words(question), present.__contains__)

    def share_of(self, words: Sequence[str], found: Callable[[str], bool]) -> float:
        """IDF-weighted share of `words` for which `found` holds (0.0 for no words)."""
        if not words:
            return 0.0
        total = sum(self.idf(w) for w in words)
        return sum(self.idf(w) for w in words if found(w)) / total
