"""What a question asks for (rag.answer.question), the short answer (rag.answer.short_answer), the
support
model (rag.answer.logistic_reader) and the abstention that says what is missing
(rag.answer.abstention).

Logic tests use invented sentences; the end-to-end ones ask the real article through the real
pipeline (bundled MiniLM, FAISS, the fitted support weights) and the CLI.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.logistic_fit import logistic_fit
from rag.answer.logistic_reader import (
    FEATURES,
    PARAMETERS,
    LogisticParameters,
    holds_kind,
    probability,
)
from rag.answer.question import analyse, asked_for, spans
from rag.answer.short_answer import lead_sentence, short_answer
from rag.errors import ModelError
from rag.evaluation.scoring import exact_form
from rag.text.names import names_in

from ..fakes import ROOT


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many bridges were built?", "number"),
        ("What is the population of the town?", "number"),
        ("When did the ferry sink?", "date"),
        ("In what year was the dam finished?", "date"),
        ("Why did the mayor resign?", "reason"),
        ("Where is the harbour?", "place"),
        ("Which city hosts the fair?", "place"),
        ("Which party won the vote?", "organisation"),
        ("Which newspapers reported it?", "organisation"),
        ("Who opened the bridge?", "person"),
        ("What did the mayor say about the bridge?", None),
        ("What did the city website show on its front page?", None),  # no "which city"
        ("Who is Ann Lee?", None),  # asks who she is, not for a name
    ],
)
def test_the_expected_kind_of_answer(question: str, kind: str | None) -> None:
    assert analyse(question).kind == kind


def test_the_focus_is_what_is_asked_for_not_the_names() -> None:
    asked = analyse("How many US soldiers were killed in the attack on Ain Al Asad?")
    assert asked.names == ("US", "Ain Al Asad")
    assert set(asked.focus) == {"soldier", "kill", "attack"}
    assert asked_for(asked) == ("US soldiers killed", True)
    assert asked_for(analyse("What is the population of Iraq?")) == ("the population of Iraq", True)
    # Not a plain shape: the question itself from its wh-word, to read after "does not say"
    assert asked_for(analyse("So which bloc put him forward?")) == (
        "which bloc put him forward",
        False,
    )


def test_spans_of_each_kind() -> None:
    text = "On October 7, 2023 the group won 138 out of 329 seats and $2.6 billion, said Ann Lee."
    numbers = [text[a:b] for a, b in spans(text, "number")]
    assert numbers == ["138", "$2.6 billion"]  # not the date's 7 or 2023, nor the 329 of 138
    assert [text[a:b] for a, b in spans(text, "date")] == ["October 7, 2023"]
    assert names_in("Under the deal, Ann Lee met The National.") == ["Ann Lee", "National"]


def test_a_kind_counts_only_when_it_says_more_than_the_question() -> None:
    asked = analyse("Who is the mayor of Leeds?")
    assert holds_kind("Leeds's mayor spoke on Monday.", asked) is False
    assert holds_kind("The mayor of Leeds, Ann Lee, spoke.", asked) is True
    assert holds_kind("Anything at all.", analyse("What did she say?")) is None


def test_the_short_answer_is_the_span_beside_the_question_words() -> None:
    asked = analyse("Which think tank does Ann Lee chair?")
    sentence = "Ann Lee, chair of the Civic Forum think tank in Leeds, told The Post."
    assert short_answer(asked, sentence) == "Civic Forum"
    asked = analyse("How many people did the raids in Gaza kill?")
    sentence = "A storm killed 12 in Oslo, and the raids in Gaza killed nearly 5,000 people."
    assert short_answer(asked, sentence) == "nearly 5,000"
    assert short_answer(analyse("Why did it close?"), sentence) is None
    assert lead_sentence("last week") == "Last week."


def test_exact_match_ignores_articles_hedges_and_punctuation() -> None:
    assert exact_form("nearly 5,000") == exact_form("5,000")
    assert exact_form("The National") == exact_form("National")
    assert exact_form("$2.6 billion") == exact_form("2.6 billion")
    assert exact_form("138") != exact_form("329")


def test_logistic_fit_separates() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] - x[:, 1] > 0).astype(float)
    weights, _ = logistic_fit(x, y, l2=0.1)
    assert weights[0] > 0 > weights[1]
    assert probability(np.array([[2.0, -2.0]]), weights, 0.0)[0] > 0.9


def test_the_shipped_weights_are_named_by_feature_and_record_their_fit() -> None:
    params = LogisticParameters.read()
    assert list(params.weights) == list(FEATURES)  # by name, in the features' order
    assert 0 < params.threshold < 1 and np.isfinite(params.bias) and params.answer_k >= 1
    gold = (ROOT / "tests") / "gold" / "qa.jsonl"
    assert params.fitted["gold_sha256"] == hashlib.sha256(gold.read_bytes()).hexdigest()


def test_parameters_with_a_wrong_feature_name_are_one_error(tmp_path: Path) -> None:
    raw = json.loads(PARAMETERS.read_text(encoding="utf-8"))
    raw["weights"]["densee"] = raw["weights"].pop("dense")
    bad = tmp_path / "logistic_reader.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ModelError, match=r"unknown: densee; missing: dense\)") as caught:
        LogisticParameters.read(bad)
    assert "\n" not in str(caught.value)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable"):
        LogisticParameters.read(bad)
