"""`Asker`: what the CLI, a `Conversation` and the web app need from a pipeline.

`rag.pipeline.Pipeline` is the one implementation; front ends are typed against this protocol,
so a test can stand in a small fake and a new front end sees at once what it may rely on: asking
(whole or streamed, with earlier turns), checking a question before anything loads, example
questions, the answering mode and model, and the indexed documents for a page's header and
article panel. Not here: opening, retrieval or evaluation (rag.pipeline, rag.evaluation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rag.chat.rewrite import Turn
    from rag.documents.parse import Document
    from rag.results import Answer
    from rag.streaming import AnswerStream


class Asker(Protocol):
    @property
    def mode(self) -> str:
        """ "extractive", or "llm" when a language model writes the answers."""
        ...

    @property
    def model_name(self) -> str | None:
        """The language model's name in model mode, None in extractive mode."""
        ...

    @property
    def documents(self) -> Sequence[Document]:
        """The indexed documents, in index order."""
        ...

    @property
    def multi_doc(self) -> bool:
        """Whether citations name their document (`[doc ¶N]`) as well as the paragraph."""
        ...

    @property
    def max_question_chars(self) -> int: ...

    def check_question(self, question: str) -> str:
        """The question tidied; InputError when it is empty, too long or not UTF-8."""
        ...

    def example_questions(self) -> list[str]: ...

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer: ...

    def stream(self, question: str, history: Sequence[Turn] = ()) -> AnswerStream:
        """The answer as it is produced (rag.streaming)."""
        ...
