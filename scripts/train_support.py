"""Fit the support model (rag.answer.logistic_reader) on the gold set's dev half; report the test
half.

    python scripts/train_support.py [--gold tests/gold/qa.jsonl] [--write]

1. Every dev question is retrieved as `rag eval` does (follow-ups after the system's own answers)
   and each sentence of its top-k paragraphs is measured (rag.answer.logistic_reader.FEATURES). A
   sentence is a
   positive example when its paragraph is the case's evidence and it holds an accepted answer.
2. The number of paragraphs weighed (answer_k), the L2 strength and the abstention threshold are
   chosen by 5-fold cross-validation over dev
   cases, by a rule fixed beforehand: the highest balanced score, the mean of (answerable cases
   whose most probable sentence holds the answer and is not abstained) and (unanswerable cases
   abstained). Ties go to the stronger L2, then the lower threshold.
3. The model is fitted on all of dev with that L2; the threshold is the cross-validated one.
4. With --report-test, the test half is answered with it (rag.evaluation.scoring.evaluate).

Test cases never take part in a choice. `--write` saves the weights to
rag/answer/logistic_reader.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from rag.answer.logistic_fit import logistic_fit
from rag.answer.logistic_reader import (
    FEATURES,
    PARAMETERS,
    LogisticParameters,
    LogisticReader,
    probability,
)
from rag.answer.reader import Question
from rag.config import Settings
from rag.evaluation.gold import CHECKOUT_GOLD, GoldCase, gold_settings, load_gold
from rag.evaluation.scoring import evaluate, normalise
from rag.pipeline import Pipeline
from rag.retrieval.candidates import candidates_of

FOLDS = 5
L2_CHOICES = (10.0, 3.0, 1.0, 0.3, 0.1)
ANSWER_K_CHOICES = (3, 5, 8)  # paragraphs whose sentences are weighed
Model = tuple[np.ndarray, float]  # weights and bias


def examples(pipeline: Pipeline, cases: list[GoldCase]) -> list[dict]:
    """Per case: the feature rows of its candidate sentences and which hold the answer."""
    reader = LogisticReader.load(pipeline.index, pipeline.embedder)
    out = []
    for case in cases:
        history: list[tuple[str, str]] = []
        for earlier, _ in case.history:
            history.append((earlier, pipeline.ask(earlier, history).text))
        traced = pipeline.trace(case.question, history)
        retrieval = traced.retrieval.top(max(pipeline.settings.k, pipeline.answer_k))
        candidates = candidates_of(retrieval, pipeline.index)
        labels = []
        for c in candidates:
            paragraph = pipeline.index.paragraph(c.doc, c.paragraph).text
            holds = any(normalise(a) in normalise(c.text) for a in case.answers)
            labels.append(
                bool(case.evidence) and normalise(paragraph) == normalise(case.evidence) and holds
            )
        rows = reader.features(Question.of(retrieval.question), candidates)
        out.append(
            {
                "id": case.id,
                "answerable": case.answerable,
                "x": rows,
                "y": np.array(labels, dtype=np.float64),
                "holds": np.array(
                    [
                        any(normalise(a) in normalise(c.text) for a in case.answers)
                        for c in candidates
                    ]
                ),
            }
        )
    return out


def decisions(model: Model, cases: list[dict]) -> list[tuple[float, bool]]:
    """Per case: the best sentence's probability and whether that sentence holds the answer."""
    out = []
    for case in cases:
        if len(case["x"]) == 0:
            out.append((0.0, False))
            continue
        p = probability(case["x"], *model)
        best = int(np.argmax(p))
        out.append((float(p[best]), bool(case["holds"][best])))
    return out


def balanced(cases: list[dict], decided: list[tuple[float, bool]], threshold: float) -> float:
    answerable = [d for c, d in zip(cases, decided, strict=True) if c["answerable"]]
    unanswerable = [d for c, d in zip(cases, decided, strict=True) if not c["answerable"]]
    right = sum(p >= threshold and holds for p, holds in answerable) / max(1, len(answerable))
    abstained = sum(p < threshold for p, _ in unanswerable) / max(1, len(unanswerable))
    return (right + abstained) / 2


def fit(cases: list[dict], l2: float) -> Model:
    x = np.vstack([c["x"] for c in cases if len(c["x"])])
    y = np.concatenate([c["y"] for c in cases if len(c["x"])])
    weights, bias = logistic_fit(x, y, l2)
    return weights, bias


def cross_validate(cases: list[dict]) -> tuple[float, float, float]:
    """(l2, threshold, balanced score) chosen on out-of-fold decisions."""
    folds = [cases[i::FOLDS] for i in range(FOLDS)]
    best = (-1.0, 0.0, 0.0)
    for l2 in L2_CHOICES:
        decided_by_case: dict[str, tuple[float, bool]] = {}
        for i, held_out in enumerate(folds):
            training = [c for j, fold in enumerate(folds) if j != i for c in fold]
            model = fit(training, l2)
            for case, d in zip(held_out, decisions(model, held_out), strict=True):
                decided_by_case[case["id"]] = d
        decided = [decided_by_case[c["id"]] for c in cases]
        for threshold in np.round(np.arange(0.02, 0.98, 0.01), 2):
            score = balanced(cases, decided, float(threshold))
            if score > best[0] + 1e-9:
                best = (score, l2, float(threshold))
    return best[1], best[2], best[0]


def parameters(
    model: Model, threshold: float, l2: float, cv: float, answer_k: int, gold: Path
) -> LogisticParameters:
    weights, bias = model
    return LogisticParameters(
        dict(zip(FEATURES, (float(w) for w in weights), strict=True)),
        float(bias),
        round(threshold, 2),
        answer_k,
        {
            "on": f"{gold.name}, split dev",
            "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
            "how": "L2-regularised logistic regression (Newton); answer_k, L2 and threshold chosen "
            "by 5-fold cross-validation on dev, rule: best mean of answerable-answered-right and "
            "unanswerable-abstained",
            "l2": l2,
            "cv_balanced": round(cv, 3),
            "command": "python scripts/train_support.py --write",
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=CHECKOUT_GOLD)
    parser.add_argument("--write", action="store_true", help="save rag/answer/logistic_reader.json")
    parser.add_argument(
        "--report-test",
        action="store_true",
        help="also answer the test half (once choices are final: looking at it while changing "
        "features would tune on it)",
    )
    args = parser.parse_args()
    cases = load_gold(args.gold)
    dev = [c for c in cases if c.split == "dev"]
    test = [c for c in cases if c.split == "test"]
    best = None
    for answer_k in ANSWER_K_CHOICES:
        settings = gold_settings(Settings.load({"answer_k": answer_k}), args.gold)
        pipeline = Pipeline.open(settings)
        measured = examples(pipeline, dev)
        answerable = [c for c in measured if c["answerable"]]
        reachable = sum(bool(c["holds"].any()) for c in answerable) / max(1, len(answerable))
        l2, threshold, cv = cross_validate(measured)
        print(
            f"answer_k={answer_k}: a weighed sentence holds the answer for {reachable:.1%}; "
            f"cross-validated balanced {cv:.3f} (l2={l2}, threshold={threshold:.2f})"
        )
        if best is None or cv > best[0] + 1e-9:
            best = (cv, answer_k, l2, threshold, pipeline, measured)
    assert best is not None
    cv, answer_k, l2, threshold, pipeline, measured = best
    model = fit(measured, l2)
    fitted = parameters(model, threshold, l2, cv, answer_k, args.gold)
    print(
        f"chosen on dev by {FOLDS}-fold CV: answer_k={answer_k} l2={l2} "
        f"threshold={threshold:.2f} balanced={cv:.3f}"
    )
    for name, weight in fitted.weights.items():
        print(f"  {name:<20} {weight:+.3f}")
    print(f"  {'bias':<20} {fitted.bias:+.3f}")
    pipeline.extractive.reader = LogisticReader(pipeline.index, pipeline.embedder, fitted)
    pipeline.extractive.abstain_threshold = threshold
    splits = [("dev (fitted on)", dev)] + ([("test", test)] if args.report_test else [])
    for name, split in splits:
        report = evaluate(pipeline, split)
        print(f"{name}: {json.dumps(report['metrics'])}")
        print(f"  by type: {json.dumps(report['by_type'])}")
    if args.write:
        fitted.write()
        print(f"wrote {PARAMETERS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
