"""Word coverage: the IDF-weighted share of a question's content words found in a text.

IDF comes from the index's BM25 statistics, so rare words (names, figures) count for more than
common ones. Question-shaping words ("what", "how many", "according") are not content. Not done:
synonyms or meaning (that is the embedding model's part).
"""

from __future__ import annotations

import math

from rag.index import Index
from rag.lexical import tokenize

# Words that shape a question but say nothing about its subject.
_SHAPE_WORDS = """what which who whom whose when where why how many much name names kind type
    happen happened happens according article tell told describe mention mentioned one ones
    did do does done get got give given make made thing things people person"""
QUESTION_WORDS = frozenset([*tokenize(_SHAPE_WORDS), *_SHAPE_WORDS.split()])


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
        words = self.content_words(question)
        if not words:
            return 0.0
        present = set(tokenize(text))
        total = sum(self.idf(w) for w in words)
        return sum(self.idf(w) for w in words if w in present) / total
