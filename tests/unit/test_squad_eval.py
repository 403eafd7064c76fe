"""`rag eval --squad`: SQuAD 2.0 articles read, written as documents, indexed on their own and
asked through the real pipeline (bundled MiniLM, FAISS, the shipped reader), and the scoring
rules (SQuAD's normalisation, F1) on chosen answers.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.evaluation.squad import BUNDLED, SPLIT, article_text, read_squad, sample, select
from rag.evaluation.squad_scoring import f1, metrics, squad_normalise

from ..fakes import CONTEXT_1, CONTEXT_2, TINY


def test_squad_normalisation_and_f1_follow_the_official_script() -> None:
    assert squad_normalise("The  Beatles!") == "beatles"
    assert f1("the Harbour Bridge", "Harbour Bridge") == 1.0
    assert f1("Jack Lang premier", "Jack Lang") == pytest.approx(0.8)
    assert f1("", "Jack Lang") == 0.0


def test_an_article_is_written_as_title_then_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    (article,) = read_squad(path)
    assert article.name == "Harbour_Bridge_Sydney"
    assert article_text(article) == f"Harbour Bridge (Sydney)\n\n{CONTEXT_1}\n\n{CONTEXT_2}\n"
    first = article.questions[0]
    assert article.contexts[first.context][first.answer_starts[0] :].startswith("Jack Lang")
    assert not article.questions[1].answerable and article.questions[1].plausible == ("Jack Lang",)


def test_the_bundled_split_is_by_article_and_keeps_unanswerable_questions_in_dev_and_test() -> None:
    articles = read_squad(BUNDLED)
    assert {a.title for a in articles} == set(SPLIT)
    for split in ("dev", "test"):
        chosen = select(articles, split)
        assert any(not q.answerable for a in chosen for q in a.questions), split
    assert not {a.title for a in select(articles, "train")} & {
        a.title for a in select(articles, "test")
    }


def test_metrics_count_right_answers_and_abstentions() -> None:
    rows = [
        {"answerable": True, "right": True, "contained": True, "cited": True, "exact": 1.0,
         "f1": 1.0, "abstained": False, "ms": 10.0},
        {"answerable": True, "right": False, "contained": False, "cited": False, "exact": 0.0,
         "f1": 0.0, "abstained": True, "ms": 20.0},
        {"answerable": False, "right": True, "abstained": True, "ms": 30.0},
    ]  # fmt: skip
    m = metrics(rows)
    assert m["overall_right"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["always_abstaining"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["answerable_contained"] == 0.5 and m["wrongly_abstained"] == 0.5
    assert m["unanswerable_abstained"] == 1.0 and m["short_exact_match"] == 0.5


def test_a_sample_is_the_same_questions_every_run_in_their_order() -> None:
    articles = select(read_squad(BUNDLED), "test")
    first, again = sample(articles, 20), sample(articles, 20)
    assert [a.questions for a in first] == [a.questions for a in again]
    for article, sampled in zip(articles, first, strict=True):
        assert len(sampled.questions) == 20 and sampled.contexts == article.contexts
        order = [article.questions.index(q) for q in sampled.questions]
        assert order == sorted(order) and order != list(range(20))  # drawn, not the first 20
    assert sample(articles, 10_000)[0].questions == articles[0].questions
    with pytest.raises(InputError, match="at least 1"):
        sample(articles, 0)
