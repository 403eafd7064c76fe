"""What a question asks for (rag.answer.question), the short answer (rag.answer.short_answer), the

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.results import ABSTENTION

from ..fakes import run_rag


@pytest.mark.slow
def test_the_issues_unanswerable_examples_abstain_and_say_what_is_missing(pipeline) -> None:
    answer = pipeline.ask("How many US soldiers were killed in the attack on Ain Al Asad?")
    assert answer.abstained and answer.citations == [] and answer.short_answer is None
    assert answer.text.startswith(ABSTENTION) and "no figure for US soldiers killed" in answer.text
    assert answer.closest is not None  # offered as the closest paragraph, never cited
    population = pipeline.ask("What is the population of Iraq?")
    assert population.abstained and "the population of Iraq" in population.text
    outside = pipeline.ask("What did Angela Merkel say about the attacks?")
    assert outside.abstained and "does not mention Angela Merkel" in outside.text


@pytest.mark.slow
def test_a_number_question_leads_with_its_short_answer(pipeline) -> None:
    answer = pipeline.ask(
        "How many of the parliament's seats does the Co-ordination Framework have?"
    )
    assert not answer.abstained and answer.short_answer == "138"
    assert answer.text.startswith("138. ") and "[¶13]" in answer.text


@pytest.mark.slow
def test_ask_json_has_short_answer_and_closest(article_index_dir: Path) -> None:
    done = run_rag(
        "ask", "--json", "--index-dir", str(article_index_dir), "How many drones hit Ain Al Asad?"
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["abstained"] and answer["short_answer"] is None and answer["citations"] == []
    assert answer["closest"]["paragraph"] >= 1 and answer["closest"]["quote"]
    done = run_rag("ask", "--index-dir", str(article_index_dir), "How many drones hit Ain Al Asad?")
    assert "closest, not an answer: [¶" in done.stdout
