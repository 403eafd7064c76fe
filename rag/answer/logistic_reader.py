"""Support: how likely a sentence is to answer a question, from what the question asks for.

Each sentence of the retrieved paragraphs is described by a few measurements (`FEATURES`):

- `dense`, `paragraph_dense`: MiniLM cosine of the question with the sentence and its paragraph;
- `coverage`, `paragraph_coverage`: IDF-weighted share of the question's words in them;
- `focus_words`: IDF-weighted share of the question's *focus* (rag.answer.question: the thing asked
  for, not the names it is about) found in the sentence or the sentences beside it;
- `focus_meaning`: MiniLM cosine of the focus phrase alone ("soldiers killed") with the sentence;
- `names_found`: share of the names the question mentions found in the paragraph;
- `kind_present` / `kind_missing`: whether the sentence holds something of the expected kind (a
  number, a date, a name the question does not already give, a reason) when one is expected;
- `kind_near`: how many of the question's words sit close around the best short-answer candidate
  (rag.answer.short_answer), up to 3, over 3: "138 out of 329 *seats*" for "how many seats";
- `new_words`: share of the sentence's words the question does not already say;
- `rank`: 1 / (1 + the paragraph's retrieval rank);
- `dense_gap`, `coverage_gap`: how far the sentence's `dense` and `coverage` fall short of the
  best sentence's for this question (0 for the best), so sentences compete within a question.

A logistic model turns them into a probability that the sentence answers. Its weights (by
feature name), bias, abstention threshold and answer_k are data, `logistic_reader.json` beside
this module, fitted on the gold set's dev half only (`rag.answer.logistic_fit`), with the sha256
of the gold file they were fitted on; a file whose features are not exactly `FEATURES` is refused
on load. Not here: which sentence is shown or how (rag.answer.extractive), or wording a short
answer (rag.answer.short_answer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answer.coverage import Coverage
from rag.answer.question import Asked, says_more, spans
from rag.answer.reader import Question
from rag.answer.short_answer import ranked_candidates
from rag.documents.passages import WHOLE_PARAGRAPH, labelled
from rag.embedding.model import Embedder
from rag.errors import ModelError
from rag.index.store import Index
from rag.retrieval.candidates import Candidate
from rag.text.names import finds
from rag.text.tokens import tokenize

PARAMETERS = Path(__file__).with_name("logistic_reader.json")
FORMAT = "rag logistic reader v1"
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


def holds_kind(sentence: str, asked: Asked) -> bool | None:
    """Whether `sentence` holds something of the kind asked for (None: no kind expected)."""
    if asked.kind is None:
        return None
    if asked.kind == "reason":
        return bool(_REASON.search(sentence))
    return any(says_more(sentence[start:end], asked) for start, end in spans(sentence, asked.kind))


@dataclass(frozen=True)
class LogisticParameters:
    """The fitted model: a weight per feature name, the bias, and what was chosen with them."""

    weights: dict[str, float]
    bias: float
    threshold: float
    answer_k: int
    fitted: dict[str, object]

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.weights[name] for name in FEATURES], dtype=np.float64)

    @classmethod
    def read(cls, path: Path = PARAMETERS) -> LogisticParameters:
        """The parameters in `path`; ModelError (one line) when unreadable or not for FEATURES."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            weights = {str(k): float(v) for k, v in raw["weights"].items()}
            params = cls(
                weights,
                float(raw["bias"]),
                float(raw["threshold"]),
                int(raw["answer_k"]),
                dict(raw.get("fitted", {})),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"logistic reader parameters {path} are unreadable ({exc})") from None
        if set(weights) != set(FEATURES):
            unknown = sorted(set(weights) - set(FEATURES))
            missing = sorted(set(FEATURES) - set(weights))
            raise ModelError(
                f"logistic reader parameters {path} do not fit its features "
                f"(unknown: {', '.join(unknown) or 'none'}; "
                f"missing: {', '.join(missing) or 'none'})"
            )
        return params

    def write(self, path: Path = PARAMETERS) -> Path:
        """Save the parameters to `path` (the shipped file by default); the path."""
        raw = {
            "format": FORMAT,
            "reader": "logistic",
            "weights": {name: round(self.weights[name], 4) for name in FEATURES},
            "bias": round(self.bias, 4),
            "threshold": self.threshold,
            "answer_k": self.answer_k,
            "fitted": self.fitted,
        }
        path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


def probability(features: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    z = features @ weights + bias
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


class LogisticReader:
    """The reader `logistic`: `FEATURES` of each candidate through the fitted logistic model."""

    name = "logistic"

    def __init__(self, index: Index, embedder: Embedder | None, params: LogisticParameters) -> None:
        """`embedder` encodes the question's focus phrase; without one the question's own
        vector stands in for it."""
        self.index = index
        self.embedder = embedder
        self.params = params
        self._weights = params.vector
        self.coverage = Coverage(index)
        self._unit_of: dict[tuple[str, int, int], int] = {}
        for unit_id, unit in enumerate(index.units):
            key = (unit.doc, unit.paragraph, max(unit.sentence, 0))
            if unit.sentence != WHOLE_PARAGRAPH or key not in self._unit_of:
                self._unit_of[key] = unit_id

    @classmethod
    def load(cls, index: Index, embedder: Embedder | None) -> LogisticReader:
        return cls(index, embedder, LogisticParameters.read())

    @property
    def threshold(self) -> float:
        return self.params.threshold

    @property
    def answer_k(self) -> int:
        return self.params.answer_k

    def score(self, question: Question, candidates: Sequence[Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        return probability(self.features(question, candidates), self._weights, self.params.bias)

    def features(self, question: Question, candidates: Sequence[Candidate]) -> np.ndarray:
        """One row of `FEATURES` per candidate."""
        if not candidates:
            return np.zeros((0, len(FEATURES)))
        asked, text = question.asked, question.text
        focus_vector = None
        if self.embedder is not None and asked.focus_text != text:
            focus_vector = self.embedder.embed_batch([asked.focus_text])[0]
        question_words = set(tokenize(text))
        per_paragraph: dict[tuple[str, int], tuple[float, float, list[str], list[float] | None]]
        per_paragraph = {}
        rows = []
        for c in candidates:
            if c.key not in per_paragraph:
                paragraph = self.index.paragraph(c.doc, c.paragraph)
                paragraph_text = labelled(paragraph, paragraph.text)
                texts = [s.text for s in paragraph.sentences]
                per_paragraph[c.key] = (
                    self._share(text, paragraph_text),
                    _names_found(asked, paragraph_text),
                    texts,
                    self._focus_cosines(c.doc, c.paragraph, len(texts), focus_vector),
                )
            paragraph_share, names_found, texts, focus_cosines = per_paragraph[c.key]
            paragraph = self.index.paragraph(c.doc, c.paragraph)
            context = " ".join(texts[max(0, c.index - 1) : c.index + 2])
            words = tokenize(c.text)
            kind = holds_kind(c.text, asked)
            rows.append(
                [
                    c.dense,
                    c.paragraph_dense,
                    self._share(text, labelled(paragraph, c.text)),
                    paragraph_share,
                    self._focus_share(asked, context),
                    c.dense if focus_cosines is None else focus_cosines[c.index],
                    names_found,
                    1.0 if kind is True else 0.0,
                    1.0 if kind is False else 0.0,
                    _kind_near(asked, c.text),
                    sum(w not in question_words for w in words) / max(1, len(words)),
                    1.0 / (1 + c.rank),
                ]
            )
        matrix = np.array(rows, dtype=np.float64)
        gaps = np.column_stack(
            [matrix[:, 0] - matrix[:, 0].max(), matrix[:, 2] - matrix[:, 2].max()]
        )
        return np.hstack([matrix, gaps])

    def _share(self, question: str, text: str) -> float:
        """rag.answer.coverage's share, with words matched as rag.text.names.finds does ("Iraq"
        finds "Iraqi")."""
        present = set(tokenize(text))
        words = self.coverage.content_words(question)
        return self.coverage.share_of(words, lambda w: finds(w, present))

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
        found += bool(tokens) and all(finds(t, present) for t in tokens)
    return found / len(asked.names)


def _kind_near(asked: Asked, sentence: str) -> float:
    ranked = ranked_candidates(asked, sentence)
    return min(ranked[0][0], 3) / 3 if ranked else 0.0
