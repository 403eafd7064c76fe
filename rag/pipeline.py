"""The pipeline: question (+ history) → standalone question → retrieval → answer.

`Pipeline.open(settings)` makes sure the index is built and fresh, loads it, and picks the query
encoder (the ONNX export next to the index, so asking never imports torch; exported again
through the index build when it does not load; sentence-transformers as a fallback). `ask`
returns an `Answer`; `stream` returns an `AnswerStream` (rag.streaming): the answer's text as it
is produced, then `.answer`. The CLI, the web chat and the evaluation all go through this class;
what the front ends rely on is the `rag.asker.Asker` protocol. `close()` (or a `with` block)
frees the language model `open` loaded; a model passed to the constructor stays its caller's.
Not here: how answers are worded (rag.answer.extractive, rag.answer.generative) or shown (rag.cli,
ui).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.reader import Reader, open_reader
from rag.chat.examples import example_questions
from rag.chat.rewrite import Turn, standalone_question
from rag.config import Settings
from rag.documents.parse import Document
from rag.embedding.model import Embedder
from rag.errors import IndexUnreadable, InputError, ModelError
from rag.index.build import ENCODER_DIR, repair_query_encoder
from rag.index.ensure import ensure_index
from rag.index.store import Index, open_index
from rag.progress import Progress, no_progress
from rag.results import Answer
from rag.retrieval.retriever import Retrieval, Retriever
from rag.streaming import AnswerStream

if TYPE_CHECKING:
    from rag.answer.generative import ChatModel, GenerativeAnswerer


class Answerer(Protocol):
    """The one call shape of both answerers: stream the answer's text, return the `Answer`."""

    def stream(
        self, retrieval: Retrieval, standalone: str, question: str, prompt_k: int | None = None
    ) -> Generator[str, None, Answer]: ...


@dataclass
class Traced:
    """An answer with the retrieval behind it (for evaluation and debugging)."""

    answer: Answer
    retrieval: Retrieval


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        index: Index,
        embedder: Embedder,
        model: ChatModel | None = None,
        reader: Reader | None = None,
    ) -> None:
        """With `model` (a loaded language model) the pipeline answers in model mode; `reader`
        replaces the one `settings.reader` names."""
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.retriever = Retriever(index, embedder, settings.rrf_k)
        self.reader = reader or open_reader(settings.reader, index, embedder, settings.threads)
        # The one extractive answerer: it answers in extractive mode and, through its reader,
        # decides abstention and which paragraphs answer in model mode too.
        self.extractive = ExtractiveAnswerer(index, self.reader, settings.abstain_threshold)
        self.generator: GenerativeAnswerer | None = None
        if model is not None:
            from rag.answer.generative import GenerativeAnswerer

            self.generator = GenerativeAnswerer(model, settings, index, embedder, self.extractive)
        self.answer_k = self.reader.answer_k if settings.answer_k is None else settings.answer_k

    @classmethod
    def open(
        cls, settings: Settings, progress: Progress | None = None, embedder: Embedder | None = None
    ) -> Pipeline:
        """The pipeline for `settings`, building the index first when it is missing or stale.
        Silent unless `progress` is given (the CLI passes one that prints to stderr)."""
        progress = progress or no_progress
        model_path = None
        problem: ModelError | None = None
        if settings.model:  # a bad model path is reported before any index build
            from rag.llm.resolve import resolve_model_path

            try:
                model_path = resolve_model_path(settings.model, settings.models_dir)
            except ModelError as exc:
                problem = exc
        if problem is not None and settings.on_model_error != "extractive":
            raise problem
        index = ensure_index(settings, progress)
        if embedder is None:
            index, embedder = query_embedder(settings, index, progress)
        pipeline = cls(settings, index, embedder)
        if model_path is not None:
            from rag.answer.generative import GenerativeAnswerer

            try:
                pipeline.generator = GenerativeAnswerer.load(
                    settings, index, embedder, pipeline.extractive, progress, path=model_path
                )
            except ModelError as exc:
                if settings.on_model_error != "extractive":
                    raise
                problem = exc
        if problem is not None:
            progress(f"notice: {problem}; answering extractively instead")
        return pipeline

    def reopened(self, progress: Progress = no_progress) -> Pipeline:
        """A pipeline over the index folder's current build (another process or the library
        may have swapped one in since this one opened), with this pipeline's settings and
        language model, and its query encoder unless the new build carries its own. Nothing is
        built: IndexUnreadable when the current build does not open."""
        index = open_index(self.settings)
        embedder = self.embedder
        if self.settings.query_encoder == "onnx" and index.manifest.query_encoder:
            index, embedder = query_embedder(self.settings, index, progress)
        model = self.generator.model if self.generator is not None else None
        return Pipeline(self.settings, index, embedder, model)

    def close(self) -> None:
        """Free the language model `open` loaded (a model passed in is left to its owner)."""
        if self.generator is not None:
            self.generator.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def mode(self) -> str:
        return "llm" if self.generator is not None else "extractive"

    @property
    def model_name(self) -> str | None:
        """The language model's name in model mode, None in extractive mode."""
        return self.generator.model_name if self.generator is not None else None

    @property
    def documents(self) -> list[Document]:
        return self.index.documents

    @property
    def multi_doc(self) -> bool:
        return self.index.multi_doc

    @property
    def max_question_chars(self) -> int:
        return self.settings.max_question_chars

    def check_question(self, question: str) -> str:
        return check_question(question, self.settings.max_question_chars)

    def example_questions(self) -> list[str]:
        """Questions to suggest about the first indexed document (rag.chat.examples), only those
        the pipeline answers with support (asked extractively: a suggestion never abstains)."""
        offered = []
        for question in example_questions(self.index.documents[0]):
            retrieval = self.retriever.retrieve(question, max(self.settings.k, self.answer_k))
            if not self.extractive.answer(retrieval, question, question).abstained:
                offered.append(question)
        return offered

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        if history and self.generator is not None:
            return str(self.generator.rewrite(question, history))
        return standalone_question(question, history)

    def trace(
        self, question: str, history: Sequence[Turn] = (), k: int | None = None, depth: int = 0
    ) -> Traced:
        """Answer fully (no streaming) and keep the retrieval, `depth` paragraphs deep at least."""
        *_, last = self._run(self.check_question(question), history, k, depth)
        assert isinstance(last, Traced)
        return last

    def ask(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        return self.trace(question, history, k).answer

    def stream(
        self, question: str, history: Sequence[Turn] = (), k: int | None = None
    ) -> AnswerStream:
        """The answer as it is produced: iterate for text pieces, then read `.answer`. A bad
        question raises InputError here, before anything is produced."""
        question = self.check_question(question)
        return AnswerStream(self._pieces(question, history, k))

    def _pieces(
        self, question: str, history: Sequence[Turn], k: int | None
    ) -> Iterator[str | Answer]:
        for item in self._run(question, history, k, 0):
            yield item.answer if isinstance(item, Traced) else item

    def _run(
        self, question: str, history: Sequence[Turn], k: int | None, depth: int
    ) -> Iterator[str | Traced]:
        """The answer to `question`, already checked (check_question)."""
        started = time.perf_counter()
        standalone = self.rewrite(question, history)
        rewrite_ms = (time.perf_counter() - started) * 1000
        k = k or self.settings.k
        weighed = max(k, self.answer_k)  # paragraphs the reader weighs; k are cited
        retrieval = self.retriever.retrieve(standalone, max(weighed, depth))
        started = time.perf_counter()
        answerer: Answerer = self.extractive if self.generator is None else self.generator
        answer = yield from answerer.stream(retrieval.top(weighed), standalone, question, k)
        answer.timings_ms = {
            "rewrite": rewrite_ms,
            "retrieve": retrieval.elapsed_ms,
            "answer": (time.perf_counter() - started) * 1000,
            **answer.timings_ms,  # a model's time to first token and generation time
        }
        yield Traced(answer, retrieval)


def check_question(question: str, max_chars: int) -> str:
    """The question with its white space tidied; InputError when not text, empty or too long."""
    if not isinstance(question, str):  # JSON from the web API: a number, null, a list, a dict
        raise InputError(f"the question must be text, not {_kind(question)}")
    if not question.strip():
        raise InputError("the question is empty")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, or a lone surrogate from JSON
        raise InputError("the question is not valid UTF-8 text") from None
    question = " ".join(question.split())
    if not any(ch.isalnum() for ch in question):  # only emoji, punctuation or zero-width marks
        raise InputError("the question has no words in it (no letter or digit)")
    if len(question) > max_chars:
        raise InputError(
            f"the question is {len(question)} characters long; the limit is {max_chars}"
        )
    return question


def _kind(value: object) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def query_embedder(
    settings: Settings, index: Index, progress: Progress = no_progress
) -> tuple[Index, Embedder]:
    """The index and the query encoder to embed questions with: the ONNX export saved with the
    index; when it does not load, a new build of the index with it exported again (once, a few
    seconds, under the build lock: rag.index.build.repair_query_encoder), reopened; when that
    fails too, the index as it is with sentence-transformers."""
    if settings.query_encoder == "onnx" and index.manifest.query_encoder:
        try:
            return index, _onnx_encoder(settings, index)
        except ModelError as exc:
            progress(f"warning: {exc}; exporting it again…")
        try:
            repair_query_encoder(settings, index.root, progress)
            repaired = open_index(settings)
            return repaired, _onnx_encoder(settings, repaired)
        except (ModelError, IndexUnreadable, OSError) as exc:
            progress(
                f"warning: cannot rebuild the query encoder ({exc}); "
                "using sentence-transformers (slower start)"
            )
    elif settings.query_encoder == "onnx":
        progress("warning: the index has no ONNX query encoder; using sentence-transformers")
    from rag.embedding.torch_encoder import SentenceTransformerEmbedder

    return index, SentenceTransformerEmbedder.from_setting(
        settings.embedding_model, threads=settings.threads
    )


def _onnx_encoder(settings: Settings, index: Index) -> Embedder:
    from rag.embedding.onnx_encoder import OnnxQueryEmbedder

    folder = index.root / ENCODER_DIR
    return OnnxQueryEmbedder.from_dir(
        folder, threads=settings.threads, name=index.manifest.model.name
    )
