"""Support: how likely a sentence is to answer a question, from what the question asks for.

Each sentence of the retrieved paragraphs is described by a few measurements (`FEATURES`):

- `dense`, `paragraph_dense`: MiniLM cosine of the question with the sentence and its paragraph;
- `coverage`, `paragraph_coverage`: IDF-weighted share of the question's words in them;
- `focus_words`: IDF-weighted share of the question's *focus* (rag.question: the thing asked
  for, not the names it is about) found in the sentence or the sentences beside it;
- `focus_meaning`: MiniLM cosine of the focus phrase alone ("soldiers killed") with the sentence;
- `names_found`: share of the names the question mentions found in the paragraph;
- `kind_present` / `kind_missing`: whether the sentence holds something of the expected kind (a
  number, a date, a name the question does not already give, a reason) when one is expected;
- `kind_near`: how many of the question's words sit close around the best short-answer candidate
  (rag.short_answer), up to 3, over 3: "138 out of 329 *seats*" for "how many seats";
- `new_words`: share of the sentence's words the question does not already say;
- `rank`: 1 / (1 + the paragraph's retrieval rank);
- `dense_gap`, `coverage_gap`: how far the sentence's `dense` and `coverage` fall short of the
  best sentence's for this question (0 for the best), so sentences compete within a question.

A logistic model turns them into a probability that the sentence answers. Its weights and the
abstention threshold are fitted on the gold set's dev half only (scripts/train_support.py, which
writes rag/support_weights.py and prints the test figures). Not here: which sentence is shown
or how (rag.extractive), or wording a short answer (rag.short_answer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.coverage import Coverage
from rag.index import Index
from rag.injection import addresses_the_system
from rag.lexical import tokenize
from rag.passages import WHOLE_PARAGRAPH, labelled
from rag.question import Asked, says_more, spans
from rag.retrieval import Retrieval
from rag.short_answer import ranked_candidates
from rag.support_weights import BIAS, WEIGHTS

FEATURES = (
    "dense",
    "paragraph_dense",
    "coverage",
    "paragraph_coverage",
    "focus_words",
    "focus_meaning",
    "names_found",
    "kind_present",
    "kind_missing",
    "kind_near",
    "new_words",
    "rank",
    "dense_gap",
    "coverage_gap",
)
PREFIX = 5  # focus words match on their first letters, a rough lemma
_REASON = re.compile(
    r"\b(because|due to|in order to|so that|so as to|aimed at|in a bid to|reason|to punish|"
    r"to protest|to counter|caused by|blamed|after|amid|over)\b",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    """One sentence of a retrieved paragraph, measured against the question."""

    doc: str
    paragraph: int
    index: int
    text: str
    start: int
    end: int
    features: np.ndarray
    score: float = 0.0  # probability that it answers, once the model has weighed it


def holds_kind(sentence: str, asked: Asked) -> bool | None:
    """Whether `sentence` holds something of the kind asked for (None: no kind expected)."""
    if asked.kind is None:
        return None
    if asked.kind == "reason":
        return bool(_REASON.search(sentence))
    return any(says_more(sentence[start:end], asked) for start, end in spans(sentence, asked.kind))


class SupportModel:
    """The logistic model over `FEATURES`; weights from rag.support_weights by default."""

    def __init__(
        self, weights: Sequence[float] | np.ndarray | None = None, bias: float | None = None
    ) -> None:
        self.weights = np.asarray(WEIGHTS if weights is None else weights, dtype=np.float64)
        self.bias = BIAS if bias is None else bias

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = features @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


class Measurer:
    """Measures every sentence of a retrieval against the question (`FEATURES`)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.coverage = Coverage(index)
        self._unit_of: dict[tuple[str, int, int], int] = {}
        for unit_id, unit in enumerate(index.units):
            key = (unit.doc, unit.paragraph, max(unit.sentence, 0))
            if unit.sentence != WHOLE_PARAGRAPH or key not in self._unit_of:
                self._unit_of[key] = unit_id

    def measure(
        self, retrieval: Retrieval, asked: Asked, focus_vector: np.ndarray | None
    ) -> list[Candidate]:
        question = retrieval.question
        question_words = set(tokenize(question))
        candidates: list[Candidate] = []
        for rank, hit in enumerate(retrieval.hits):
            paragraph = self.index.paragraph(hit.doc, hit.paragraph)
            paragraph_text = labelled(paragraph, paragraph.text)
            paragraph_share = self._share(question, paragraph_text)
            names_found = _names_found(asked, paragraph_text)
            texts = [s.text for s in paragraph.sentences]
            focus_cosines = self._focus_cosines(hit.doc, hit.paragraph, len(texts), focus_vector)
            for i, sentence in enumerate(paragraph.sentences):
                if addresses_the_system(sentence.text):
                    continue  # "ignore previous instructions…" is never an answer
                dense = hit.sentence_dense.get(i, hit.dense)
                context = " ".join(texts[max(0, i - 1) : i + 2])
                words = tokenize(sentence.text)
                kind = holds_kind(sentence.text, asked)
                features = np.array(
                    [
                        dense,
                        hit.dense,
                        self._share(question, labelled(paragraph, sentence.text)),
                        paragraph_share,
                        self._focus_share(asked, context),
                        dense if focus_cosines is None else focus_cosines[i],
                        names_found,
                        1.0 if kind is True else 0.0,
                        1.0 if kind is False else 0.0,
                        _kind_near(asked, sentence.text),
                        sum(w not in question_words for w in words) / max(1, len(words)),
                        1.0 / (1 + rank),
                    ]
                )
                candidates.append(
                    Candidate(
                        hit.doc,
                        hit.paragraph,
                        i,
                        sentence.text,
                        sentence.start,
                        sentence.end,
                        features,
                    )
                )
        if candidates:
            top_dense = max(c.features[0] for c in candidates)
            top_coverage = max(c.features[2] for c in candidates)
            for c in candidates:
                c.features = np.append(
                    c.features, [c.features[0] - top_dense, c.features[2] - top_coverage]
                )
        return candidates

    def _share(self, question: str, text: str) -> float:
        """rag.coverage's share, with words matched as `_found` does ("Iraq" finds "Iraqi")."""
        present = set(tokenize(text))
        words = self.coverage.content_words(question)
        return self.coverage.share_of(words, lambda w: _found(w, present))

    def _focus_share(self, asked: Asked, text: str) -> float:
        if not asked.focus:
            return 1.0
        present = {w[:PREFIX] for w in tokenize(text)}  # "nominated" finds "nominee"
        return self.coverage.share_of(asked.focus, lambda w: w[:PREFIX] in present)

    def _focus_cosines(
        self, doc: str, paragraph: int, count: int, focus_vector: np.ndarray | None
    ) -> list[float] | None:
        if focus_vector is None:
            return None
        ids = [self._unit_of.get((doc, paragraph, i), -1) for i in range(count)]
        if any(i < 0 for i in ids):
            return None
        return [float(v) for v in self.index.vectors(ids) @ focus_vector]


def _names_found(asked: Asked, text: str) -> float:
    if not asked.names:
        return 1.0
    present = set(tokenize(text))
    found = 0
    for name in asked.names:
        tokens = tokenize(name)
        found += bool(tokens) and all(_found(t, present) for t in tokens)
    return found / len(asked.names)


def _found(token: str, present: set[str]) -> bool:
    """`token` or a word it begins or is begun by ("Iraq" / "Iraqi"), four letters at least."""
    if token in present:
        return True
    return len(token) >= 4 and any(
        len(word) >= 4 and (word.startswith(token) or token.startswith(word)) for word in present
    )


def _kind_near(asked: Asked, sentence: str) -> float:
    ranked = ranked_candidates(asked, sentence)
    return min(ranked[0][0], 3) / 3 if ranked else 0.0


def logistic_fit(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if math.sqrt(float(step @ step)) < 1e-8:
            break
    return theta[:-1], float(theta[-1])
