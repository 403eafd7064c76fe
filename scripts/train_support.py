"""Fit the support model (rag.support) on the gold set's dev half; report the test half.

    python scripts/train_support.py [--gold tests/gold/qa.jsonl] [--write]

1. Every dev question is retrieved as `rag eval` does (follow-ups after the system's own answers)
   and each sentence of its top-k paragraphs is measured (rag.support.FEATURES). A sentence is a
   positive example when its paragraph is the case's evidence and it holds an accepted answer.
2. The number of paragraphs weighed (answer_k), the L2 strength and the abstention threshold are
   chosen by 5-fold cross-validation over dev
   cases, by a rule fixed beforehand: the highest balanced score, the mean of (answerable cases
   whose most probable sentence holds the answer and is not abstained) and (unanswerable cases
   abstained). Ties go to the stronger L2, then the lower threshold.
3. The model is fitted on all of dev with that L2; the threshold is the cross-validated one.
4. With --report-test, the test half is answered with it (rag.evaluation.evaluate).

Test cases never take part in a choice. `--write` saves the weights to rag/support_weights.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.evaluation import evaluate, normalise
from rag.gold import CHECKOUT_GOLD, GoldCase, gold_settings, load_gold
from rag.pipeline import Pipeline
from rag.support import FEATURES, SupportModel, logistic_fit

FOLDS = 5
L2_CHOICES = (10.0, 3.0, 1.0, 0.3, 0.1)
ANSWER_K_CHOICES = (3, 5, 8)  # paragraphs whose sentences are weighed
WEIGHTS_FILE = Path(__file__).resolve().parent.parent / "rag" / "support_weights.py"


def examples(pipeline: Pipeline, cases: list[GoldCase]) -> list[dict]:
    """Per case: the feature rows of its candidate sentences and which hold the answer."""
    out = []
    for case in cases:
        history: list[tuple[str, str]] = []
        for earlier, _ in case.history:
            history.append((earlier, pipeline.ask(earlier, history).text))
        traced = pipeline.trace(case.question, history)
        retrieval = traced.retrieval.top(max(pipeline.settings.k, pipeline.settings.answer_k))
        _, candidates = pipeline.extractive.candidates(retrieval)
        labels = []
        for c in candidates:
            paragraph = pipeline.index.paragraph(c.doc, c.paragraph).text
            holds = any(normalise(a) in normalise(c.text) for a in case.answers)
            labels.append(
                bool(case.evidence) and normalise(paragraph) == normalise(case.evidence) and holds
            )
        rows = (
            np.vstack([c.features for c in candidates])
            if candidates
            else np.zeros((0, len(FEATURES)))
        )
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


def decisions(model: SupportModel, cases: list[dict]) -> list[tuple[float, bool]]:
    """Per case: the best sentence's probability and whether that sentence holds the answer."""
    out = []
    for case in cases:
        if len(case["x"]) == 0:
            out.append((0.0, False))
            continue
        p = model.probability(case["x"])
        best = int(np.argmax(p))
        out.append((float(p[best]), bool(case["holds"][best])))
    return out


def balanced(cases: list[dict], decided: list[tuple[float, bool]], threshold: float) -> float:
    answerable = [d for c, d in zip(cases, decided, strict=True) if c["answerable"]]
    unanswerable = [d for c, d in zip(cases, decided, strict=True) if not c["answerable"]]
    right = sum(p >= threshold and holds for p, holds in answerable) / max(1, len(answerable))
    abstained = sum(p < threshold for p, _ in unanswerable) / max(1, len(unanswerable))
    return (right + abstained) / 2


def fit(cases: list[dict], l2: float) -> SupportModel:
    x = np.vstack([c["x"] for c in cases if len(c["x"])])
    y = np.concatenate([c["y"] for c in cases if len(c["x"])])
    weights, bias = logistic_fit(x, y, l2)
    return SupportModel(weights, bias)


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


def write_weights(
    model: SupportModel, threshold: float, l2: float, cv: float, answer_k: int
) -> None:
    weights = "".join(f"\n    {w:.4f}," for w in model.weights)
    named = "\n".join(f"#   {n:<20} {w:+.3f}" for n, w in zip(FEATURES, model.weights, strict=True))
    WEIGHTS_FILE.write_text(
        '"""The support model\'s weights, fitted on the gold dev half by '
        "scripts/train_support.py.\n\n"
        "Generated; do not edit by hand. Run `python scripts/train_support.py --write` again\n"
        'after changing rag.support\'s features or the gold set.\n"""\n\n'
        f"# L2 {l2}; answer_k, threshold and L2 chosen by 5-fold cross-validation on dev "
        f"(balanced {cv:.3f}).\n"
        f"{named}\n"
        f"WEIGHTS = ({weights}\n)\n"
        f"BIAS = {model.bias:.4f}\n"
        f"THRESHOLD = {threshold:.2f}\n"
        f"ANSWER_K = {answer_k}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=CHECKOUT_GOLD)
    parser.add_argument("--write", action="store_true", help="save rag/support_weights.py")
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
    print(
        f"chosen on dev by {FOLDS}-fold CV: answer_k={answer_k} l2={l2} "
        f"threshold={threshold:.2f} balanced={cv:.3f}"
    )
    for name, weight in zip(FEATURES, model.weights, strict=True):
        print(f"  {name:<20} {weight:+.3f}")
    print(f"  {'bias':<20} {model.bias:+.3f}")
    pipeline.extractive.model = model
    pipeline.extractive.abstain_threshold = threshold
    splits = [("dev (fitted on)", dev)] + ([("test", test)] if args.report_test else [])
    for name, split in splits:
        report = evaluate(pipeline, split)
        print(f"{name}: {json.dumps(report['metrics'])}")
        print(f"  by type: {json.dumps(report['by_type'])}")
    if args.write:
        write_weights(model, threshold, l2, cv, answer_k)
        print(f"wrote {WEIGHTS_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
