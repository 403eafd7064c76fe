"""A conversation: questions asked in turn, follow-ups understood from the earlier turns.

`Conversation(pipeline)` keeps its own turns. Each turn records the question as it was asked and
the answer's text (not the standalone rewrite: the rewriter resolves every earlier turn itself,
and a rewrite of a rewrite drifts). `ask` answers a question in the context of the turns so far;
`stream` does the same while yielding the answer's text as it is produced. A question refused as
bad input (empty, too long, not UTF-8) adds no turn. Not here: how follow-ups are rewritten
(rag.chat.rewrite, or the model) or answered (rag.pipeline).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from rag.results import Answer
from rag.streaming import AnswerStream

if TYPE_CHECKING:
    from rag.asker import Asker

Turn = tuple[str, str]  # (question as asked, answer text)


class Conversation:
    def __init__(self, pipeline: Asker) -> None:
        self.pipeline = pipeline
        self.turns: list[Turn] = []

    def ask(self, question: str) -> Answer:
        """The answer to `question` after the turns so far; the turn is recorded."""
        answer = self.pipeline.ask(question, self.turns)
        self.record(answer)
        return answer

    def stream(self, question: str) -> AnswerStream:
        """The answer as it is produced (rag.streaming); the turn is recorded once it is
        complete."""
        stream = self.pipeline.stream(question, self.turns)
        return AnswerStream(_items(stream), on_answer=self.record)

    def record(self, answer: Answer) -> None:
        self.turns.append((answer.question, answer.text))

    def clear(self) -> None:
        self.turns.clear()


def _items(stream: AnswerStream) -> Iterator[str | Answer]:
    yield from stream
    yield stream.answer
