"""`AnswerStream`: an answer as it is produced — iterate it for text, then read `.answer`.

`Pipeline.stream` and `Conversation.stream` return one (as `llm`'s `Response` does): iterating
yields the pieces of text as a model writes them (nothing, in extractive mode), and once that is
done `.answer` holds the checked `Answer`. Reading `.answer` early finishes the stream first;
`close()` stops it (a web page that went away). Not here: producing the pieces (rag.pipeline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from rag.results import Answer


class AnswerStream:
    def __init__(
        self, items: Iterator[str | Answer], on_answer: Callable[[Answer], None] | None = None
    ) -> None:
        """`items`: text pieces, then the Answer; `on_answer` is called with it once."""
        self._items = items
        self._answer: Answer | None = None
        self._on_answer = on_answer

    def __iter__(self) -> Iterator[str]:
        for item in self._items:
            if isinstance(item, Answer):
                self._answer = item
                if self._on_answer is not None:
                    self._on_answer(item)
            else:
                yield item

    @property
    def answer(self) -> Answer:
        """The checked answer, finishing the stream first if it is not done."""
        if self._answer is None:
            for _ in self:
                pass
        if self._answer is None:
            raise RuntimeError("the stream ended without an answer (it was closed)")
        return self._answer

    def close(self) -> None:
        close: Any = getattr(self._items, "close", None)
        if close is not None:
            close()
