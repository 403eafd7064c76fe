"""Evaluation: score the pipeline on the cases of a gold file (read by rag.evaluation.gold).

Metrics, over answerable cases unless said otherwise:
- retrieval recall@1, recall@3 and MRR (@10): rank of the evidence paragraph among retrieved ones;
- answer containment: an accepted answer appears in the (non-abstained) answer text;
- citation accuracy: a cited paragraph holds the evidence;
- abstention precision (abstentions that were right) and recall (unanswerable cases abstained),
  and the false-abstention rate on answerable cases;
- short-answer exact match, on the cases marked `short`: the answer's `short_answer` equals an
  accepted answer once normalised (`exact_form`).
Follow-up cases are asked after the system's own answers to their earlier questions
(rag.evaluation.replay). Text is compared
case-insensitively with quotes, dashes and spaces normalised. Not measured:
fluency or faithfulness of generated wording beyond containment and the citation check.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from rag import Pipeline
from rag.answer.attribution import split_claims
from rag.errors import InputError
from rag.evaluation.gold import TYPES, GoldCase
from rag.evaluation.replay import replay
from rag.progress import Bar
from rag.text.numbers import HEDGES

MRR_DEPTH = 10


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"[‐‑–—]", "-", text)
    return " ".join(text.split())


_HEDGES = rf"\b(?:a|an|the|{'|'.join(HEDGES)})\b"  # the number hedges of rag.text.numbers


def exact_form(text: str) -> str:
    """A short answer as compared for exact match: normalised, without articles, hedges
    ("nearly 5,000" = "5,000") or punctuation (SQuAD's rule, plus the hedges)."""
    text = re.sub(_HEDGES, " ", normalise(text))
    return " ".join(re.sub(r"[^\w\s]", "", text).split())


def evaluate(pipeline: Pipeline, cases: list[GoldCase], bar: Bar | None = None) -> dict[str, Any]:
    """Run every case through the pipeline and compute the metrics and per-case rows."""
    indexed = {document.name for document in pipeline.index.documents}
    missing = sorted({case.doc for case in cases if case.doc and case.doc not in indexed})
    if missing:
        raise InputError(
            f"the index does not hold the document(s) {', '.join(missing)} that gold cases are "
            "about: index them beside the article (rag index ARTICLE FOLDER) or pass --index-dir"
        )
    for case in cases:  # every question is checked before any is asked
        for question in (case.question, *(earlier for earlier, _ in case.history)):
            try:
                pipeline.check_question(question)
            except InputError as exc:
                raise InputError(f"gold case {case.id} (line {case.line}): {exc}") from None
    rows = []
    for case in bar(cases, len(cases)) if bar else cases:
        traced = replay(pipeline, case, depth=MRR_DEPTH)
        answer = traced.answer
        rank = None
        if case.evidence:
            for position, hit in enumerate(traced.retrieval.hits, start=1):
                text = pipeline.index.paragraph(hit.doc, hit.paragraph).text
                if normalise(case.evidence) == normalise(text):
                    rank = position
                    break
        answer_text = normalise(answer.text)
        contained = (not answer.abstained) and any(
            normalise(a) in answer_text for a in case.answers
        )
        cited = (
            any(normalise(case.evidence) in normalise(c.text) for c in answer.citations)
            if case.evidence
            else False
        )
        short_exact = None
        if case.short and case.answerable:
            accepted = {exact_form(a) for a in case.answers}
            short_exact = answer.short_answer is not None and (
                exact_form(answer.short_answer) in accepted
            )
        model_row: dict[str, Any] = {}
        if answer.mode == "llm":
            written = answer.fallback is None and not answer.abstained
            as_json = answer.to_dict()  # fallback and dropped as `rag ask --json` gives them
            model_row = {
                "model_written": written,
                "sentences_kept": len(split_claims(answer.text)) if written else 0,
                "sentences_dropped": len(answer.dropped),
                "first_token_ms": answer.timings_ms.get("first_token"),
                "answer_ms": answer.timings_ms.get("answer"),
                "fallback": as_json["fallback"],
                "dropped": as_json["dropped"],
            }
        rows.append(
            {
                **model_row,
                "id": case.id,
                "type": case.type,
                "question": case.question,
                "standalone_question": answer.standalone_question,
                "answerable": case.answerable,
                "rank": rank,
                "abstained": answer.abstained,
                "contained": contained,
                "cited": cited,
                "answer": answer.text,
                "short_answer": answer.short_answer,
                "short_exact": short_exact,
            }
        )
    metrics = _metrics(rows)
    if any("model_written" in r for r in rows):
        metrics.update(_model_metrics(rows))
    return {"metrics": metrics, "by_type": _by_type(rows), "cases": rows}


def _percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def _model_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the model did: answers it wrote (kept, not fallen back), sentences kept and
    dropped, and its latency over the questions it was asked (abstained ones skip the model)."""
    answerable = [r for r in rows if r["answerable"]]
    asked = [r for r in rows if r.get("first_token_ms") is not None]
    first = [float(r["first_token_ms"]) for r in asked]
    whole = [float(r["answer_ms"]) for r in asked]
    return {
        "model_written": _ratio(sum(r["model_written"] for r in rows), len(rows)),
        "model_written_answerable": _ratio(
            sum(r["model_written"] for r in answerable), len(answerable)
        ),
        "model_asked": len(asked),
        "sentences_kept": sum(r["sentences_kept"] for r in rows),
        "sentences_dropped": sum(r["sentences_dropped"] for r in rows),
        "first_token_ms_p50": _percentile(first, 50),
        "first_token_ms_p95": _percentile(first, 95),
        "answer_ms_p50": _percentile(whole, 50),
        "answer_ms_p95": _percentile(whole, 95),
    }


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    abstained = [r for r in rows if r["abstained"]]
    ranks = [r["rank"] for r in answerable]
    shorts = [r["short_exact"] for r in rows if r.get("short_exact") is not None]
    return {
        "cases": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "recall@1": _ratio(sum(1 for k in ranks if k == 1), len(ranks)),
        "recall@3": _ratio(sum(1 for k in ranks if k is not None and k <= 3), len(ranks)),
        "mrr": round(sum(1 / k for k in ranks if k) / len(ranks), 4) if ranks else None,
        "answer_containment": _ratio(sum(r["contained"] for r in answerable), len(answerable)),
        "citation_accuracy": _ratio(sum(r["cited"] for r in answerable), len(answerable)),
        "abstention_precision": _ratio(sum(not r["answerable"] for r in abstained), len(abstained)),
        "abstention_recall": _ratio(sum(r["abstained"] for r in unanswerable), len(unanswerable)),
        "false_abstention_rate": _ratio(sum(r["abstained"] for r in answerable), len(answerable)),
        "short_answer_cases": len(shorts),
        "short_answer_exact_match": _ratio(sum(shorts), len(shorts)),
    }


def _by_type(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["type"]].append(row)
    out = {}
    for kind, group in groups.items():
        if kind == "unanswerable":
            out[kind] = {
                "cases": len(group),
                "abstained": _ratio(sum(r["abstained"] for r in group), len(group)),
            }
        else:
            out[kind] = {
                "cases": len(group),
                "contained": _ratio(sum(r["contained"] for r in group), len(group)),
                "cited": _ratio(sum(r["cited"] for r in group), len(group)),
                "recall@3": _ratio(
                    sum(1 for r in group if r["rank"] and r["rank"] <= 3), len(group)
                ),
            }
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1000:.2f} s"


def format_report(report: dict[str, Any]) -> str:
    m = report["metrics"]
    lines = [
        f"{m['cases']} cases ({m['answerable']} answerable, {m['unanswerable']} unanswerable)",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| retrieval recall@1 | {_pct(m['recall@1'])} |",
        f"| retrieval recall@3 | {_pct(m['recall@3'])} |",
        f"| retrieval MRR | {m['mrr']:.3f} |"
        if m["mrr"] is not None
        else "| retrieval MRR | n/a |",
        f"| answer containment | {_pct(m['answer_containment'])} |",
        f"| citation accuracy | {_pct(m['citation_accuracy'])} |",
        f"| abstention precision | {_pct(m['abstention_precision'])} |",
        f"| abstention recall | {_pct(m['abstention_recall'])} |",
        f"| false abstentions (answerable) | {_pct(m['false_abstention_rate'])} |",
        f"| short answer exact match ({m['short_answer_cases']} cases) | "
        f"{_pct(m['short_answer_exact_match'])} |",
        "",
        "| type | cases | contained / abstained | cited | recall@3 |",
        "| --- | --- | --- | --- | --- |",
    ]
    if "model_written" in m:
        lines[-3:-3] = [
            f"| answers written by the model (kept, not fallen back) | "
            f"{_pct(m['model_written'])} of all, {_pct(m['model_written_answerable'])} of "
            "answerable |",
            f"| model sentences kept / dropped | {m['sentences_kept']} / "
            f"{m['sentences_dropped']} |",
            f"| time to first token, p50 / p95 ({m['model_asked']} asked) | "
            f"{_ms(m['first_token_ms_p50'])} / {_ms(m['first_token_ms_p95'])} |",
            f"| whole answer, p50 / p95 | {_ms(m['answer_ms_p50'])} / {_ms(m['answer_ms_p95'])} |",
        ]
    for kind in TYPES:
        row = report["by_type"].get(kind)
        if row is None:
            continue
        if kind == "unanswerable":
            lines.append(f"| {kind} | {row['cases']} | {_pct(row['abstained'])} abstained | | |")
        else:
            lines.append(
                f"| {kind} | {row['cases']} | {_pct(row['contained'])} | "
                f"{_pct(row['cited'])} | {_pct(row['recall@3'])} |"
            )
    failures = [
        r
        for r in report["cases"]
        if (r["answerable"] and not r["contained"]) or (not r["answerable"] and not r["abstained"])
    ]
    if failures:
        lines += ["", "misses:"]
        lines += [f"  {r['id']} ({r['type']}): {r['question']}" for r in failures]
    return "\n".join(lines)
