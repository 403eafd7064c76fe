"""Choose the citation check's support threshold on the gold set, and say how well it holds.

    python scripts/calibrate_support.py [--gold tests/gold/qa.jsonl] [--k 5] [--json OUT]

There is no real language model here, so generated claims are imitated from each answerable gold
case (see `claims`): the evidence sentence holding the answer, a clause around the answer, and a
question-plus-answer statement ("Co-ordination Framework nominated Al Sudani."). Each claim is
scored with rag.citations.CitationChecker.support:

* positives: against the evidence paragraph (a correct citation);
* negatives, wrong citation: against the other retrieved paragraphs (top `--k`) that neither hold
  the evidence nor contain an accepted answer;
* negatives, wrong fact: the question-plus-answer claim with the answer swapped for another case's
  answer (one absent from the evidence paragraph), against the evidence paragraph.

The threshold maximises balanced accuracy (mean of the share of positives kept and the share of
negatives rejected, each negative kind weighted equally), placed midway between neighbouring
scores and rounded to 2 decimals. Because the gold set both chooses and scores it, a
leave-one-case-out estimate is printed too (each case judged by a threshold chosen without it).
Copy the threshold into rag/config.py (`support_threshold`) by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from rag.citations import CitationChecker
from rag.config import Settings
from rag.evaluation import DEFAULT_GOLD, GoldCase, load_gold, normalise
from rag.pipeline import Pipeline

KINDS = ("positive", "wrong citation", "wrong fact")
_LEAD = re.compile(
    r"^(?:(?:in|on|at|after|under|according to|roughly|approximately)\b[^?]*?\s)?"
    r"(?:who|whom|whose|what|which|when|where|why|how(?:\s+(?:many|much))?)\b"
    r"(?:\s+(?:is|was|are|were|did|does|do|has|have|had))?\s*",
    re.IGNORECASE,
)


@dataclass
class Scored:
    case: str
    kind: str
    claim_type: str
    claim: str
    paragraph: int
    score: float


def claims(case: GoldCase, sentence: str) -> list[tuple[str, str]]:
    """(type, claim) pairs imitating what a model would write for this case."""
    answer = case.answers[0]
    out = [("evidence sentence", sentence)]
    words = sentence.split()
    lower = [normalise(w) for w in words]
    target = normalise(answer).split()
    for i in range(len(lower)):
        if lower[i : i + len(target)] == target or (
            target and lower[i].startswith(target[0]) and len(target) == 1
        ):
            clause = words[max(0, i - 7) : i + len(target) + 5]
            out.append(("clause", " ".join(clause).strip(',;:“”"') + "."))
            break
    out.append(("question + answer", statement(case.question, answer)))
    return out


def statement(question: str, answer: str) -> str:
    """A rough declarative claim from a question and its answer."""
    rest = _LEAD.sub("", question.strip().rstrip("?")).strip()
    rest = re.sub(r"^(?:the\s+)?(?:name|group|publication|agency|base|city)\s+", "", rest)
    if re.match(r"^(who|which)\b", question.strip(), re.IGNORECASE) and rest and rest[0].islower():
        return f"{answer} {rest}."
    return f"{rest[:1].upper()}{rest[1:]}: {answer}."


def evidence_paragraph(pipeline: Pipeline, case: GoldCase) -> tuple[str, int] | None:
    for document in pipeline.index.documents:
        for paragraph in document.paragraphs:
            if normalise(paragraph.text) == normalise(case.evidence):
                return document.name, paragraph.number
    return None


def collect(pipeline: Pipeline, cases: list[GoldCase], k: int) -> list[Scored]:
    checker = CitationChecker(pipeline.index, pipeline.embedder)
    answerable = [c for c in cases if c.answerable]
    rows: list[Scored] = []
    for case in answerable:
        where = evidence_paragraph(pipeline, case)
        if where is None:
            print(f"warning: {case.id}: evidence paragraph not found", file=sys.stderr)
            continue
        doc, number = where
        paragraph = pipeline.index.paragraph(doc, number)
        sentence = next(
            (
                s.text
                for s in paragraph.sentences
                if any(normalise(a) in normalise(s.text) for a in case.answers)
            ),
            paragraph.sentences[0].text,
        )
        made = claims(case, sentence)
        others = [
            c.answers[0]
            for c in answerable
            if c.id != case.id
            and c.type == case.type
            and not any(normalise(a) in normalise(paragraph.text) for a in c.answers)
        ][:3]
        swapped = [("wrong fact", statement(case.question, other)) for other in others]
        vectors = pipeline.embedder.embed_batch([c for _, c in made + swapped])
        retrieval = pipeline.trace(case.question, case.history, k=k).retrieval
        wrong = [
            (h.doc, h.paragraph)
            for h in retrieval.hits
            if (h.doc, h.paragraph) != where
            and not any(
                normalise(a) in normalise(pipeline.index.paragraph(h.doc, h.paragraph).text)
                for a in case.answers
            )
        ]
        for (claim_type, claim), vector in zip(made, vectors, strict=False):
            score = checker.support(claim, vector, doc, number).score
            rows.append(Scored(case.id, "positive", claim_type, claim, number, score))
            for other_doc, other in wrong:
                score = checker.support(claim, vector, other_doc, other).score
                rows.append(Scored(case.id, "wrong citation", claim_type, claim, other, score))
        for (_, claim), vector in zip(swapped, vectors[len(made) :], strict=True):
            score = checker.support(claim, vector, doc, number).score
            rows.append(Scored(case.id, "wrong fact", "question + answer", claim, number, score))
    return rows


def balanced_accuracy(rows: list[Scored], cut: float) -> float:
    rates = []
    for kind in KINDS:
        group = [r for r in rows if r.kind == kind]
        if not group:
            continue
        right = sum((r.score >= cut) == (kind == "positive") for r in group)
        rates.append(right / len(group))
    positive = rates[0] if rates else 0.0
    negative = sum(rates[1:]) / max(1, len(rates) - 1)
    return (positive + negative) / 2


def choose(rows: list[Scored]) -> float:
    values = sorted({r.score for r in rows})
    cuts = [values[0] - 0.01] + [(a + b) / 2 for a, b in pairwise(values)] + [values[-1] + 0.01]
    best = max(cuts, key=lambda c: (round(balanced_accuracy(rows, c), 9), -abs(c - 0.5)))
    return round(best, 2)


def rates(rows: list[Scored], cut: float) -> dict[str, tuple[int, int]]:
    out = {}
    for kind in KINDS:
        group = [r for r in rows if r.kind == kind]
        right = sum((r.score >= cut) == (kind == "positive") for r in group)
        out[kind] = (right, len(group))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--k", type=int, default=5, help="retrieved paragraphs per question")
    parser.add_argument("--json", type=Path, default=None, help="write every scored claim here")
    args = parser.parse_args()
    cases = load_gold(args.gold)
    pipeline = Pipeline.open(Settings.load({"model": ""}))
    rows = collect(pipeline, cases, args.k)
    for kind in KINDS:
        scores = sorted(r.score for r in rows if r.kind == kind)
        print(f"{kind:>14} (n={len(scores)}): " + " ".join(f"{s:.2f}" for s in scores))
    print()
    for claim_type in ("evidence sentence", "clause", "question + answer"):
        scores = sorted(
            r.score for r in rows if r.kind == "positive" and r.claim_type == claim_type
        )
        if scores:
            print(
                f"positive, {claim_type:<18} min {scores[0]:.2f}  median "
                f"{scores[len(scores) // 2]:.2f}"
            )
    threshold = choose(rows)
    print()
    print(
        f"chosen threshold: {threshold:.2f} (balanced accuracy "
        f"{balanced_accuracy(rows, threshold):.3f} on the gold claims)"
    )
    for kind, (right, total) in rates(rows, threshold).items():
        verb = "kept" if kind == "positive" else "rejected"
        print(f"  {kind:>14}: {verb} {right}/{total} ({right / max(1, total):.1%})")
    held: list[Scored] = []
    held_cuts: dict[str, float] = {}
    for case_id in dict.fromkeys(r.case for r in rows):
        cut = choose([r for r in rows if r.case != case_id])
        held_cuts[case_id] = cut
        held.extend(r for r in rows if r.case == case_id)
    print("leave-one-case-out:")
    for kind in KINDS:
        group = [r for r in held if r.kind == kind]
        right = sum((r.score >= held_cuts[r.case]) == (kind == "positive") for r in group)
        verb = "kept" if kind == "positive" else "rejected"
        print(f"  {kind:>14}: {verb} {right}/{len(group)} ({right / max(1, len(group)):.1%})")
    cuts = sorted(set(held_cuts.values()))
    print(f"  thresholds chosen across folds: {cuts[0]:.2f}–{cuts[-1]:.2f}")
    misses = [r for r in rows if (r.score >= threshold) != (r.kind == "positive")]
    if misses:
        print("\nmisclassified at the chosen threshold:")
        for r in sorted(misses, key=lambda r: (r.kind, r.case)):
            print(
                f"  {r.case} {r.kind} ({r.claim_type}) vs ¶{r.paragraph} "
                f"{r.score:.2f}: {r.claim[:90]}"
            )
    if args.json:
        args.json.write_text(
            json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
