"""Choose the extractive answerer's abstention threshold on a gold set, and say how well it holds.

    python scripts/calibrate_abstention.py [--gold tests/gold/qa.jsonl] [--max-false 0.10]

Runs every gold question with abstention switched off and records the support of the best
sentence (rag.extractive.ExtractiveAnswerer.support). The rule: the highest threshold that
wrongly abstains on at most `--max-false` of the answerable cases (the product target: at most 1
in 10), placed midway between neighbouring support values and rounded to 2 decimals. Because the
gold set both chooses and scores the threshold, the script also reports a leave-one-out estimate:
each case is classified by a threshold chosen on all the other cases, which is the figure to
expect on new questions. It prints the numbers; copy the threshold into rag/config.py by hand.
"""

from __future__ import annotations

import argparse
import math
import sys
from itertools import pairwise
from pathlib import Path

from rag.config import Settings
from rag.evaluation import DEFAULT_GOLD, gold_settings, load_gold
from rag.pipeline import Pipeline


def choose(answerable: list[float], unanswerable: list[float], max_false: float) -> float:
    """Highest threshold with false abstentions on answerable cases <= max_false."""
    candidates = sorted(set(answerable + unanswerable))
    cuts = [candidates[0] - 0.01] + [(a + b) / 2 for a, b in pairwise(candidates)]
    best = cuts[0]
    for cut in cuts:
        if sum(s < cut for s in answerable) <= max_false * len(answerable):
            best = cut
    return round(best, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--max-false", type=float, default=0.10)
    args = parser.parse_args()
    cases = load_gold(args.gold)
    settings = gold_settings(Settings.load({"abstain_threshold": -math.inf}), args.gold)
    pipeline = Pipeline.open(settings)
    supports = []
    for case in cases:
        answer = pipeline.ask(case.question, case.history)
        support = answer.citations[0].score if answer.citations else -math.inf
        supports.append((case, support))
    answerable = [s for c, s in supports if c.answerable]
    unanswerable = [s for c, s in supports if not c.answerable]
    threshold = choose(answerable, unanswerable, args.max_false)
    print(
        f"support, answerable   (n={len(answerable)}): "
        + " ".join(f"{s:.2f}" for s in sorted(answerable))
    )
    print(
        f"support, unanswerable (n={len(unanswerable)}): "
        + " ".join(f"{s:.2f}" for s in sorted(unanswerable))
    )
    print(f"chosen threshold: {threshold:.2f}  (max false abstention {args.max_false:.0%})")
    print(
        f"  on the gold set: abstains on {sum(s < threshold for s in unanswerable)}/"
        f"{len(unanswerable)} unanswerable, wrongly on {sum(s < threshold for s in answerable)}/"
        f"{len(answerable)} answerable"
    )
    held_out_right = held_out_wrong = 0
    for i, (case, support) in enumerate(supports):
        rest = [x for j, x in enumerate(supports) if j != i]
        cut = choose(
            [s for c, s in rest if c.answerable],
            [s for c, s in rest if not c.answerable],
            args.max_false,
        )
        if support < cut:
            held_out_right += not case.answerable
            held_out_wrong += case.answerable
    print(
        f"  leave-one-out: abstains on {held_out_right}/{len(unanswerable)} unanswerable, "
        f"wrongly on {held_out_wrong}/{len(answerable)} answerable"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
