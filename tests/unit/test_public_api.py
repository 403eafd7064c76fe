"""The library API (`import rag`): lazy names, a silent Pipeline.open, Conversation, and the
README's "Use it from Python" block run as it is written.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import rag
from rag.documents.parse import Document
from rag.errors import InputError
from rag.pipeline import check_question
from rag.results import Answer
from rag.streaming import AnswerStream


class EchoPipeline:
    """An `Asker` (rag.asker) that answers with the question and the number of earlier turns it
    was given."""

    mode = "extractive"
    model_name = None
    documents: tuple[Document, ...] = ()
    multi_doc = False
    max_question_chars = 100

    def check_question(self, question: str) -> str:
        return check_question(question, self.max_question_chars)

    def example_questions(self) -> list[str]:
        return []

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Answer:
        question = self.check_question(question)
        return Answer(question, question, f"{question} after {len(history)}", [], False, "x")

    def stream(self, question: str, history: Sequence[tuple[str, str]] = ()) -> AnswerStream:
        return AnswerStream(iter(["piece", self.ask(question, history)]))


def test_a_conversation_keeps_its_own_turns() -> None:
    chat = rag.Conversation(EchoPipeline())
    assert chat.ask("first?").text == "first? after 0"
    stream = chat.stream("second?")
    assert list(stream) == ["piece"] and stream.answer.text == "second? after 1"
    with pytest.raises(InputError):
        chat.ask("  ")  # refused: no turn recorded
    assert chat.turns == [("first?", "first? after 0"), ("second?", "second? after 1")]
    chat.clear()
    assert chat.ask("again?").text == "again? after 0"
