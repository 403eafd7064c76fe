"""Fitting the logistic reader on the gold set's dev half: `rag fit-logistic`.

1. Every dev case is replayed as `rag eval` asks it (rag.evaluation.replay: follow-ups after the
   system's own answers) and each sentence of its top paragraphs is measured
   (rag.answer.logistic_reader.FEATURES). A sentence is a positive example when its paragraph is
   the case's evidence and it holds an accepted answer.
2. The number of paragraphs weighed (answer_k), the L2 strength and the abstention threshold are
   chosen by 5-fold cross-validation over dev cases, by a rule fixed beforehand: the highest
   balanced score, the mean of (answerable cases whose most probable sentence holds the answer
   and is not abstained) and (unanswerable cases abstained). Ties go to the smaller answer_k, the
   stronger L2, then the lower threshold.
3. The model is fitted on all of dev with that L2 (rag.answer.logistic_fit); the threshold is
   the cross-validated one.
4. The dev half, and on request the test half, are then answered with it
   (rag.evaluation.scoring.evaluate).

Test cases never take part in a choice. Not here: the features (rag.answer.logistic_reader),
the regression itself (rag.answer.logistic_fit), writing the parameters (`LogisticParameters.write`,
done by the command with --write).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answer.logistic_fit import logistic_fit
from rag.answer.logistic_reader import FEATURES, LogisticParameters, LogisticReader, probability
from rag.answer.reader import Question
from rag.config import Settings
from rag.evaluation.gold import CHECKOUT_GOLD, GoldCase, gold_settings, load_gold, select_split
from rag.evaluation.replay import replay
from rag.evaluation.scoring import evaluate, normalise
from rag.pipeline import Pipeline
from rag.retrieval.candidates import candidates_of

FOLDS = 5
L2_CHOICES = (10.0, 3.0, 1.0, 0.3, 0.1)
ANSWER_K_CHOICES = (3, 5, 8)  # paragraphs whose sentences are weighed
THRESHOLD_CHOICES = tuple(float(t) for t in np.round(np.arange(0.02, 0.98, 0.01), 2))
Model = tuple[np.ndarray, float]  # weights and bias


@dataclass(frozen=True)
class Measured:
    """One dev case as the fit sees it: a feature row per candidate sentence, which sentences
    are positive examples (`y`) and which hold an accepted answer at all (`holds`)."""

    id: str
    answerable: bool
    x: np.ndarray
    y: np.ndarray
    holds: np.ndarray


def measure(pipeline: Pipeline, cases: list[GoldCase]) -> list[Measured]:
    """Each case replayed through `pipeline` and its candidate sentences measured."""
    reader = LogisticReader.load(pipeline.index, pipeline.embedder)
    out = []
    for case in cases:
        traced = replay(pipeline, case)
        retrieval = traced.retrieval.top(max(pipeline.settings.k, pipeline.answer_k))
        candidates = candidates_of(retrieval, pipeline.index)
        evidence = normalise(case.evidence)
        holds = [any(normalise(a) in normalise(c.text) for a in case.answers) for c in candidates]
        positive = [
            bool(case.evidence)
            and normalise(pipeline.index.paragraph(c.doc, c.paragraph).text) == evidence
            and held
            for c, held in zip(candidates, holds, strict=True)
        ]
        rows = reader.features(Question.of(retrieval.question), candidates)
        out.append(
            Measured(
                case.id,
                case.answerable,
                rows,
                np.array(positive, dtype=np.float64),
                np.array(holds, dtype=bool),
            )
        )
    return out


def decisions(model: Model, cases: list[Measured]) -> list[tuple[float, bool]]:
    """Per case: the best sentence's probability and whether that sentence holds the answer."""
    out = []
    for case in cases:
        if len(case.x) == 0:
            out.append((0.0, False))
            continue
        p = probability(case.x, *model)
        best = int(np.argmax(p))
        out.append((float(p[best]), bool(case.holds[best])))
    return out


def balanced(cases: list[Measured], decided: list[tuple[float, bool]], threshold: float) -> float:
    """The mean of answerable cases answered right and unanswerable cases abstained."""
    answerable = [d for c, d in zip(cases, decided, strict=True) if c.answerable]
    unanswerable = [d for c, d in zip(cases, decided, strict=True) if not c.answerable]
    right = sum(p >= threshold and holds for p, holds in answerable) / max(1, len(answerable))
    abstained = sum(p < threshold for p, _ in unanswerable) / max(1, len(unanswerable))
    return (right + abstained) / 2


def fit(cases: list[Measured], l2: float) -> Model:
    x = np.vstack([c.x for c in cases if len(c.x)])
    y = np.concatenate([c.y for c in cases if len(c.x)])
    return logistic_fit(x, y, l2)


def cross_validate(cases: list[Measured]) -> tuple[float, float, float]:
    """(l2, threshold, balanced score) chosen on out-of-fold decisions."""
    folds = [cases[i::FOLDS] for i in range(FOLDS)]
    best = (-1.0, 0.0, 0.0)
    for l2 in L2_CHOICES:
        decided_by_case: dict[str, tuple[float, bool]] = {}
        for i, held_out in enumerate(folds):
            training = [c for j, fold in enumerate(folds) if j != i for c in fold]
            for case, d in zip(held_out, decisions(fit(training, l2), held_out), strict=True):
                decided_by_case[case.id] = d
        decided = [decided_by_case[c.id] for c in cases]
        for threshold in THRESHOLD_CHOICES:
            score = balanced(cases, decided, threshold)
            if score > best[0] + 1e-9:
                best = (score, l2, threshold)
    return best[1], best[2], best[0]


def _shown(gold: Path) -> str:
    """The gold file as the parameters name it: relative to the checkout when inside it."""
    root = CHECKOUT_GOLD.parents[2]
    try:
        return str(gold.resolve().relative_to(root))
    except ValueError:
        return gold.name


def fit_logistic(
    gold: Path = CHECKOUT_GOLD,
    report_test: bool = False,
    say: Callable[[str], None] = lambda _: None,
    settings: Settings | None = None,
) -> LogisticParameters:
    """The logistic reader's parameters fitted and chosen on `gold`'s dev half. `say` is given
    each line of the report (choices, weights, dev figures, and the test figures when
    `report_test`: look at those only once the choices are final, or they are tuned on)."""
    cases = load_gold(gold)
    dev = select_split(cases, "dev")
    base = settings or Settings.load()
    best: tuple[float, int, float, float, Pipeline, list[Measured]] | None = None
    for answer_k in ANSWER_K_CHOICES:
        pipeline = Pipeline.open(gold_settings(base.replace(answer_k=answer_k), gold))
        measured = measure(pipeline, dev)
        answerable = [c for c in measured if c.answerable]
        reachable = sum(bool(c.holds.any()) for c in answerable) / max(1, len(answerable))
        l2, threshold, cv = cross_validate(measured)
        say(
            f"answer_k={answer_k}: a weighed sentence holds the answer for {reachable:.1%}; "
            f"cross-validated balanced {cv:.3f} (l2={l2}, threshold={threshold:.2f})"
        )
        if best is None or cv > best[0] + 1e-9:
            best = (cv, answer_k, l2, threshold, pipeline, measured)
    assert best is not None
    cv, answer_k, l2, threshold, pipeline, measured = best
    weights, bias = fit(measured, l2)
    fitted = LogisticParameters(
        dict(zip(FEATURES, (float(w) for w in weights), strict=True)),
        float(bias),
        round(threshold, 2),
        answer_k,
        {
            "on": f"{_shown(gold)}, split dev ({len(dev)} cases)",
            "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
            "how": "L2-regularised logistic regression (Newton); answer_k, L2 and threshold "
            f"chosen by {FOLDS}-fold cross-validation on dev, rule: best mean of "
            "answerable-answered-right and unanswerable-abstained",
            "l2": l2,
            "cv_balanced": round(cv, 3),
            "command": "rag fit-logistic --write",
        },
    )
    say(
        f"chosen on dev by {FOLDS}-fold CV: answer_k={answer_k} l2={l2} "
        f"threshold={threshold:.2f} balanced={cv:.3f}"
    )
    for name, weight in fitted.weights.items():
        say(f"  {name:<20} {weight:+.3f}")
    say(f"  {'bias':<20} {fitted.bias:+.3f}")
    pipeline.extractive.reader = LogisticReader(pipeline.index, pipeline.embedder, fitted)
    pipeline.extractive.abstain_threshold = threshold
    splits = [("dev (fitted on)", dev)]
    if report_test:
        splits.append(("test", select_split(cases, "test")))
    for name, split in splits:
        report = evaluate(pipeline, split)
        say(f"{name}: {json.dumps(report['metrics'])}")
        say(f"  by type: {json.dumps(report['by_type'])}")
    return fitted
