"""`rag eval --squad`: SQuAD 2.0 articles read, written as documents, indexed on their own and
asked through the real pipeline (bundled MiniLM, FAISS, the shipped reader), and the scoring
rules (SQuAD's normalisation, F1) on chosen answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.squad import BUNDLED, SPLIT, article_text, read_squad, select
from rag.evaluation.squad_scoring import f1, metrics, squad_normalise

from .conftest import one_line_error, run_rag

CONTEXT_1 = (
    "The Harbour Bridge was opened in 1932 by the premier, Jack Lang. It carries rail, "
    "vehicles and pedestrians across the harbour."
)
CONTEXT_2 = "The bridge was designed by John Bradfield. Its arch spans 503 metres."
TINY = {
    "version": "v2.0",
    "data": [
        {
            "title": "Harbour_Bridge_(Sydney)",
            "paragraphs": [
                {
                    "context": CONTEXT_1,
                    "qas": [
                        {
                            "id": "a1",
                            "question": "Who opened the Harbour Bridge?",
                            "is_impossible": False,
                            "answers": [
                                {"text": "Jack Lang", "answer_start": CONTEXT_1.index("Jack")}
                            ],
                        },
                        {
                            "id": "u1",
                            "question": "Who closed the Harbour Bridge in 1990?",
                            "is_impossible": True,
                            "answers": [],
                            "plausible_answers": [
                                {"text": "Jack Lang", "answer_start": CONTEXT_1.index("Jack")}
                            ],
                        },
                    ],
                },
                {
                    "context": CONTEXT_2,
                    "qas": [
                        {
                            "id": "a2",
                            "question": "Who designed the bridge?",
                            "is_impossible": False,
                            "answers": [
                                {"text": "John Bradfield", "answer_start": CONTEXT_2.index("John")}
                            ],
                        }
                    ],
                },
            ],
        }
    ],
}


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


@pytest.mark.slow
def test_eval_squad_asks_every_question_over_its_own_article(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    done = run_rag("eval", "--squad", str(path), "--json", index_dir=tmp_path / "index")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["metrics"]["questions"] == 3 and report["metrics"]["unanswerable"] == 1
    rows = {r["id"]: r for r in report["rows"]}
    assert rows["a1"]["contained"] and rows["a1"]["cited"], rows["a1"]
    assert rows["a2"]["contained"] and rows["a2"]["cited"], rows["a2"]
    assert (tmp_path / "index-squad" / "Harbour_Bridge_Sydney" / "index" / "current").exists()
    assert not (tmp_path / "index").exists()  # the everyday index is untouched
    table = run_rag("eval", "--squad", str(path), index_dir=tmp_path / "index")
    assert table.returncode == 0 and "| Harbour_Bridge_(Sydney) |" in table.stdout


def test_bad_squad_files_are_one_error_line(tmp_path: Path) -> None:
    missing = run_rag("eval", "--squad", str(tmp_path / "none.json"))
    assert "no such SQuAD file" in one_line_error(missing, 2)
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"title": "X", "paragraphs": [{"context": "c"}]}]}')
    assert "article 'X' is malformed" in one_line_error(run_rag("eval", "--squad", str(broken)), 2)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    split = run_rag("eval", "--squad", str(path), "--split", "test")
    assert "no article of the file is in the test split" in one_line_error(split, 2)
    both = run_rag("eval", "--squad", str(path), "--gold", str(path))
    assert both.returncode == 2
