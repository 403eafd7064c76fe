"""Scoring SQuAD 2.0 articles through the pipeline, as a user would meet them.

Each article (rag.evaluation.squad) is written as a document, indexed on its own (in
`<index_dir>-squad/<article>/`, so the everyday index is untouched) and every question is asked
over the whole article through the same `Pipeline` the CLI uses. Per question, with SQuAD's own
normalisation (lower case, no punctuation, no articles, single spaces):
- right: an answerable question answered (not abstained) with a gold answer inside the answer's
  text; an unanswerable one abstained;
- contained: the answer's text holds a gold answer (answerable, not abstained);
- cited: a citation's paragraph is the question's own context (answerable);
- short-answer exact match and F1 against the gold answers (answerable; an abstention or a
  missing short answer scores 0).
Reported per article and in total, with ms per question. Not measured: fluency of model wording.
"""

from __future__ import annotations

import collections
import re
import string
import time
from collections.abc import Iterable
from typing import Any, TypeVar

from rag import Pipeline, Settings
from rag.errors import InputError
from rag.evaluation.squad import SquadArticle, SquadQuestion, article_text
from rag.progress import Bar, Progress, no_progress

T = TypeVar("T")


def squad_normalise(text: str) -> str:
    """SQuAD's answer normalisation: lower case, punctuation and articles removed."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1(prediction: str, gold: str) -> float:
    """SQuAD's token F1 of a predicted answer against one gold answer."""
    predicted, expected = squad_normalise(prediction).split(), squad_normalise(gold).split()
    common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if not predicted or not expected:
        return float(predicted == expected)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_settings(settings: Settings, article: SquadArticle) -> Settings:
    """Settings whose index is the article's own, beside the everyday index."""
    root = settings.index_dir.with_name(f"{settings.index_dir.name}-squad") / article.name
    root.mkdir(parents=True, exist_ok=True)
    source = root / f"{article.name}.txt"
    text = article_text(article)
    if not source.is_file() or source.read_text(encoding="utf-8") != text:
        source.write_text(text, encoding="utf-8")
    return settings.replace(index_dir=root / "index", sources=(source,))


def score_question(pipeline: Pipeline, article: SquadArticle, case: SquadQuestion) -> dict:
    started = time.perf_counter()
    try:
        answer = pipeline.ask(case.question)
    except InputError as exc:  # a question the pipeline refuses counts as not answered
        return {"id": case.id, "answerable": case.answerable, "error": str(exc), "right": False}
    ms = (time.perf_counter() - started) * 1000
    context = squad_normalise(article.contexts[case.context])
    text = squad_normalise(answer.text)
    row: dict[str, Any] = {
        "id": case.id,
        "question": case.question,
        "answerable": case.answerable,
        "abstained": answer.abstained,
        "answer": answer.text,
        "short_answer": answer.short_answer,
        "ms": round(ms, 2),
    }
    if case.answerable:
        contained = not answer.abstained and any(squad_normalise(a) in text for a in case.answers)
        short = "" if answer.abstained else answer.short_answer or ""
        row.update(
            contained=contained,
            cited=any(squad_normalise(c.text) == context for c in answer.citations),
            exact=max(float(squad_normalise(short) == squad_normalise(a)) for a in case.answers),
            f1=max(f1(short, a) for a in case.answers),
            right=contained,
        )
    else:
        row["right"] = answer.abstained
    return row


def metrics(rows: list[dict]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def share(items: list[dict], key: str) -> float | None:
        return round(sum(bool(r.get(key)) for r in items) / len(items), 4) if items else None

    def mean(items: list[dict], key: str) -> float | None:
        return round(sum(r.get(key, 0.0) for r in items) / len(items), 4) if items else None

    timed = sorted(r["ms"] for r in rows if "ms" in r)
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "overall_right": share(rows, "right"),
        "always_abstaining": round(len(unanswerable) / len(rows), 4) if rows else None,
        "answerable_contained": share(answerable, "contained"),
        "answerable_cited": share(answerable, "cited"),
        "wrongly_abstained": share(answerable, "abstained"),
        "unanswerable_abstained": share(unanswerable, "abstained"),
        "short_exact_match": mean(answerable, "exact"),
        "short_f1": mean(answerable, "f1"),
        "ms_p50": round(timed[len(timed) // 2], 2) if timed else None,
        "ms_p95": round(timed[min(len(timed) - 1, int(0.95 * len(timed)))], 2) if timed else None,
        "errors": sum("error" in r for r in rows),
    }


def evaluate_squad(
    settings: Settings,
    articles: list[SquadArticle],
    progress: Progress = no_progress,
    bar: Bar | None = None,
) -> dict[str, Any]:
    """Every question of every article asked over its whole article; metrics per article and
    in total, and the rows. `bar` wraps the questions in a progress bar (the CLI's, on a
    terminal)."""
    per_article: dict[str, Any] = {}
    rows: list[dict] = []
    for article in articles:
        pipeline = Pipeline.open(squad_settings(settings, article), progress=progress)
        questions: Iterable[SquadQuestion] = article.questions
        if bar is not None:
            questions = bar(article.questions, len(article.questions))
        article_rows = [score_question(pipeline, article, q) for q in questions]
        for row in article_rows:
            row["article"] = article.title
        per_article[article.title] = {"split": article.split, **metrics(article_rows)}
        rows.extend(article_rows)
    return {"metrics": metrics(rows), "articles": per_article, "rows": rows}


def format_squad_report(report: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f} %"

    head = (
        "| article | split | questions | overall right | always abstaining | contained | cited "
        "| wrongly abstained | unanswerable abstained | short EM | short F1 | ms p50 / p95 |"
    )
    lines = [head, "|" + " --- |" * 12]
    items = [*report["articles"].items(), ("all", {"split": "", **report["metrics"]})]
    for title, m in items:
        lines.append(
            f"| {title} | {m['split']} | {m['questions']} ({m['unanswerable']} unanswerable) | "
            f"{pct(m['overall_right'])} | {pct(m['always_abstaining'])} | "
            f"{pct(m['answerable_contained'])} | {pct(m['answerable_cited'])} | "
            f"{pct(m['wrongly_abstained'])} | {pct(m['unanswerable_abstained'])} | "
            f"{pct(m['short_exact_match'])} | {pct(m['short_f1'])} | "
            f"{m['ms_p50']} / {m['ms_p95']} |"
        )
    return "\n".join(lines)
