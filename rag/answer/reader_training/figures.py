"""The reader's figures on dev: questions, each with its candidate sentences scored.

Per question the reader's answer is its most probable candidate and its confidence the maximum
probability. Figures:

- `first`: share of answerable questions whose top candidate holds a gold answer (questions
  whose answer is not among the candidates count as wrong); `first_found`: the same among
  questions whose answer is among the candidates; `recall`: share of answerable questions whose
  answer is among the candidates;
- `auroc`: AUROC of the maximum probability, answerable (positive) vs unanswerable;
- at a threshold t on the maximum: `overall` right (answerable: top holds an answer and max ≥ t;
  unanswerable: max < t), `answered_right` (answerable), `abstained` (unanswerable), and
  `balanced`, the mean of the last two;
- `choose_threshold`: the t maximising `overall` (ties to the lower t), or `balanced`.

Not here: scoring (train, the run-time reader) or candidates (data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.reader_training.data import Record


@dataclass(frozen=True)
class Decided:
    """One question: whether it is answerable, its maximum probability, whether the top
    candidate holds an answer, and whether any candidate does."""

    answerable: bool
    best: float
    top_right: bool
    found: bool


def decide(answerable: bool, scores: Sequence[float], labels: Sequence[int]) -> Decided:
    if len(scores) == 0:
        return Decided(answerable, 0.0, False, False)
    s = np.asarray(scores, dtype=np.float64)
    top = int(np.argmax(s))  # first of equals: candidates come in retrieval order
    return Decided(answerable, float(s[top]), bool(labels[top]), bool(any(labels)))


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Probability that a positive scores above a negative (ties count one half)."""
    if not len(positive) or not len(negative):
        return float("nan")
    p = np.asarray(positive, dtype=np.float64)
    n = np.asarray(negative, dtype=np.float64)
    values = np.concatenate([p, n])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    while i < len(values):  # average ranks of ties
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(p)].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(n)))


def at_threshold(decided: Sequence[Decided], t: float) -> dict[str, float]:
    answerable = [d for d in decided if d.answerable]
    unanswerable = [d for d in decided if not d.answerable]
    right = sum(d.top_right and d.best >= t for d in answerable)
    abstained = sum(d.best < t for d in unanswerable)
    a = right / max(1, len(answerable))
    u = abstained / max(1, len(unanswerable)) if unanswerable else float("nan")
    return {
        "threshold": float(t),
        "overall": (right + abstained) / max(1, len(decided)),
        "answered_right": a,
        "abstained": u,
        "balanced": (a + u) / 2 if unanswerable else a,
    }


def choose_threshold(decided: Sequence[Decided], rule: str = "overall") -> float:
    """The threshold maximising `rule` ("overall" or "balanced") among the midpoints between
    the distinct maxima (and 0); ties go to the lower threshold."""
    values = np.unique([d.best for d in decided])
    options = np.concatenate([[0.0], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-6]])
    best_t, best_v = 0.0, -1.0
    for t in options:
        v = at_threshold(decided, float(t))[rule]
        if v > best_v + 1e-12:
            best_t, best_v = float(t), v
    return best_t


def figures(
    decided: Sequence[Decided], threshold: float | None = None, rule: str = "overall"
) -> dict[str, float]:
    """All figures; at `threshold` when given, else at the one `choose_threshold` picks."""
    answerable = [d for d in decided if d.answerable]
    unanswerable = [d for d in decided if not d.answerable]
    found = [d for d in answerable if d.found]
    t = choose_threshold(decided, rule) if threshold is None else threshold
    out = {
        "questions": float(len(decided)),
        "answerable": float(len(answerable)),
        "unanswerable": float(len(unanswerable)),
        "recall": len(found) / max(1, len(answerable)),
        "first": sum(d.top_right for d in answerable) / max(1, len(answerable)),
        "first_found": sum(d.top_right for d in found) / max(1, len(found)),
        "auroc": auroc([d.best for d in answerable], [d.best for d in unanswerable]),
        "always_abstain": len(unanswerable) / max(1, len(decided)),
    }
    out.update(at_threshold(decided, t))
    return out


def per_question(records: Sequence[Record], scores: Sequence[Sequence[float]]) -> list[Decided]:
    """One probability per candidate of each record, in the same order."""
    return [
        decide(r.answerable, s, [c.label for c in r.candidates])
        for r, s in zip(records, scores, strict=True)
    ]


def report(name: str, fig: dict[str, float]) -> str:
    return (
        f"{name}: first {fig['first']:.1%} (found {fig['first_found']:.1%}, recall "
        f"{fig['recall']:.1%}), AUROC {fig['auroc']:.3f}, at t={fig['threshold']:.3f}: overall "
        f"{fig['overall']:.1%}, answered right {fig['answered_right']:.1%}, abstained "
        f"{fig['abstained']:.1%} (always abstain {fig['always_abstain']:.1%})"
    )
