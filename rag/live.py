"""`LivePipeline`: a pipeline that follows the index folder, for a server that runs for days.

Before each question it checks which build the index folder's `current` points to (one symlink
resolved: each build is a new folder, never rewritten in place, rag.index.folder) and, when
another build has been swapped in since (`rag index` in another process, or a change to the
library, rag.index.library), opens that build and answers from it from then on
(`Pipeline.reopened`). A question asked while the new build is being opened is answered from
the one before, so no question waits for it; a new build that does not open is reported once
(through `progress`) and the one before kept. The language model is shared by the pipelines
opened in turn and freed by `close()`.

Not here: building the index (rag.index.build) or answering (rag.pipeline).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from rag.chat.rewrite import Turn
from rag.config import Settings
from rag.documents.parse import Document
from rag.errors import RagError
from rag.index.folder import current_build
from rag.pipeline import Pipeline
from rag.progress import Progress, no_progress
from rag.results import Answer
from rag.streaming import AnswerStream


class LivePipeline:
    """An `rag.asker.Asker` over the current build of `pipeline`'s index folder."""

    def __init__(self, pipeline: Pipeline, progress: Progress = no_progress) -> None:
        self._owner = pipeline  # holds the language model, if `open` loaded one
        self._pipeline = pipeline
        self._progress = progress
        self._lock = threading.Lock()
        self._refused: Path | None = None  # a build that did not open: not tried again

    def current(self, wait: bool = False) -> Pipeline:
        """The pipeline over the current build, opened first when a new one was swapped in.
        Without `wait`, while another thread opens it, the pipeline before it."""
        pipeline = self._pipeline
        if self._is_current(pipeline):
            return pipeline
        if not self._lock.acquire(blocking=wait):
            return pipeline
        try:
            if not self._is_current(self._pipeline):
                self._reopen()
            return self._pipeline
        finally:
            self._lock.release()

    def _is_current(self, pipeline: Pipeline) -> bool:
        build = current_build(pipeline.settings.index_dir)
        return build is None or build == pipeline.index.root or build == self._refused

    def _reopen(self) -> None:
        build = current_build(self._pipeline.settings.index_dir)
        try:
            self._pipeline = self._pipeline.reopened(self._progress)
            self._refused = None
        except RagError as exc:
            self._refused = build
            self._progress(f"warning: the new index does not open ({exc}); answering from the old")

    def close(self) -> None:
        self._owner.close()

    def __enter__(self) -> LivePipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the Asker protocol, each from the current build

    @property
    def settings(self) -> Settings:
        return self._pipeline.settings

    @property
    def mode(self) -> str:
        return self.current().mode

    @property
    def model_name(self) -> str | None:
        return self.current().model_name

    @property
    def documents(self) -> list[Document]:
        return self.current().documents

    @property
    def multi_doc(self) -> bool:
        return self.current().multi_doc

    @property
    def max_question_chars(self) -> int:
        return self._pipeline.max_question_chars

    def check_question(self, question: str) -> str:
        return self._pipeline.check_question(question)

    def example_questions(self) -> list[str]:
        return self.current().example_questions()

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        return self.current().ask(question, history)

    def stream(self, question: str, history: Sequence[Turn] = ()) -> AnswerStream:
        return self.current().stream(question, history)
