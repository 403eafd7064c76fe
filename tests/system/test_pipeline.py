"""The real pipeline on the article (real MiniLM, FAISS, ONNX encoder).

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import re

import pytest

from rag.errors import InputError
from rag.results import ABSTENTION

pytestmark = pytest.mark.slow


def test_answers_cite_and_quote_verbatim(pipeline) -> None:
    answer = pipeline.ask("who nominated Al Sudani?")
    assert not answer.abstained and answer.mode == "extractive"
    assert "Co-ordination Framework" in answer.text
    assert answer.citations[0].paragraph == 13
    for citation in answer.citations:
        paragraph = pipeline.index.paragraph(citation.doc, citation.paragraph)
        assert paragraph.text == citation.text
        assert citation.text[citation.start : citation.end] == citation.quote
        assert f"[¶{citation.paragraph}]" in answer.text


def test_structure_makes_dateline_and_credit_findable(pipeline) -> None:
    assert "October 23, 2023" in pipeline.ask("When was the article last updated?").text
    hits = pipeline.trace("Who took the photo?").retrieval.hits
    assert hits[0].paragraph == 3  # the caption, whose credit is Reuters


def test_the_query_encoder_is_the_onnx_export(pipeline) -> None:
    assert type(pipeline.embedder).__name__ == "OnnxQueryEmbedder"


def test_abstains_without_citations(pipeline) -> None:
    answer = pipeline.ask("Who wrote this article?")
    assert answer.abstained and answer.text == ABSTENTION and answer.citations == []


def test_follow_up_uses_history(pipeline) -> None:
    first = pipeline.ask("Who ordered a crackdown on the militias?")  # named in the answer only
    second = pipeline.ask("When did he take office?", [(first.standalone_question, first.text)])
    assert "Al Sudani" in second.standalone_question
    assert "October 2022" in second.text


def test_streaming_ends_with_the_answer(pipeline) -> None:
    stream = pipeline.stream("How many US troops are in Iraq?")
    assert list(stream) == []  # extractive: no pieces, the answer at once
    assert "2,500" in stream.answer.text


@pytest.mark.parametrize("question", ["", " \n ", "x" * 501])
def test_bad_questions(pipeline, question: str) -> None:
    with pytest.raises(InputError):
        pipeline.ask(question)


@pytest.mark.slow
def test_every_example_offered_is_answered_and_stands_alone(pipeline) -> None:
    offered = pipeline.example_questions()
    assert len(offered) >= 2 and "Who wrote this article?" not in offered
    for question in offered:
        assert not re.search(r"\b(?:he|she|they|it)\b", question, re.IGNORECASE), question
        assert not pipeline.ask(question).abstained, question
