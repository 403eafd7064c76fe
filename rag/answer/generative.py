"""Generative answers: a local GGUF model writes the answer, the citation check keeps it honest.

`GenerativeAnswerer.stream` first asks the pipeline's one extractive answerer, and through it the
reader that decides abstention in both modes (rag.answer.reader: does a candidate answer?). If it
says no, the
answer is "The article does not say." and the model is not asked (a `Fallback` "abstained"):
a fluent answer without evidence cannot win. Otherwise it builds the prompt (rag.answer.prompt) from
the retrieved paragraphs, streams the model's text piece by piece (it is a generator: `yield`
for each piece, `return` the final `Answer`), then attributes every sentence to the retrieved
sentence that supports it (rag.answer.attribution) and cites it itself; a sentence stays only when
that
paragraph also answers the question by the same support measure (a true sentence about
something else, or one copied from an instruction planted in the article, is dropped). The
returned `Answer` has mode "llm", the model's name, the supported sentences with our `[¶N]`
markers, one verifiable citation per cited paragraph, and `dropped`: what was removed and why
(`Dropped` records).

When no supported sentence remains — or the model says the article does not say, although the
support measure found an answer — the answer is the extractive one on the same retrieval
(a `Fallback` "extractive"). A `ModelError` while generating (a llama.cpp failure) is raised,
unless the settings ask for the extractive answer instead (`on_model_error == "extractive"`), in
which case the reason goes into `fallback` and the CLI prints it as a notice. Timings gain
`first_token` and `generate` (ms).

`rewrite` turns a chat follow-up into a standalone question with the model, and falls back to
the rules of rag.chat.rewrite when the model's line does not look like a question.

Any object with `name`, `count_tokens(text)` and `chat_stream(messages, max_tokens=…,
temperature=…)` can stand in for the model (tests inject chosen answers that way). A model passed
in belongs to the caller; one `load` opened belongs to the answerer, and `close` frees it.
Not here: loading details (rag.llm.runtime), prompt wording (rag.answer.prompt), the check itself.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.answer.attribution import CheckedAnswer, CitationChecker
from rag.answer.extractive import ExtractiveAnswerer, Ranked
from rag.answer.prompt import Prompt, build_prompt, neutralise
from rag.chat.rewrite import Turn, standalone_question, strip_citations
from rag.config import Settings
from rag.embedding.model import Embedder
from rag.errors import ModelError
from rag.index.store import Index
from rag.llm.catalogue import model_tuning
from rag.results import ABSTENTION, Answer, Dropped, Fallback
from rag.retrieval.retriever import Retrieval

if TYPE_CHECKING:
    from rag.llm.runtime import LocalModel

# llama.cpp may generate a few tokens past max_tokens to finish a UTF-8 character (rag.llm.runtime
# bounds that at 4); keep room for them so a full-length answer never hits the context's end.
ANSWER_OVERRUN = 8
REWRITE_MAX_TOKENS = 48
REWRITE_TURNS = 2  # earlier turns shown to the model when rewriting
REWRITE_ANSWER_CHARS = 300
REWRITE_MAX_GROWTH = 3  # a rewrite may be at most this many times longer than the question

REWRITE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and vague references with the names they stand for, and change nothing "
    "else. Reply with the rewritten question only, on one line."
)


class ChatModel(Protocol):
    """What the answerer needs from a model (rag.llm.runtime.LocalModel, or a test double)."""

    @property
    def name(self) -> str: ...

    def count_tokens(self, text: str) -> int: ...

    def chat_stream(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float
    ) -> Iterator[str]: ...


class GenerativeAnswerer:
    def __init__(
        self,
        model: ChatModel,
        settings: Settings,
        index: Index,
        embedder: Embedder,
        extractive: ExtractiveAnswerer,
    ) -> None:
        """`extractive` is the pipeline's answerer: its reader decides abstention and which
        paragraphs answer, in this mode too."""
        self.model = model
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.checker = CitationChecker(index, embedder)
        self.extractive = extractive
        self._loaded: LocalModel | None = None  # the model `load` opened, closed by `close`
        # The model's own tuned values (rag.llm.catalogue) unless the settings name others.
        tuned = model_tuning(self.model_name)
        self.support_threshold = (
            tuned.support_threshold
            if settings.support_threshold is None
            else settings.support_threshold
        )
        self.may_abstain = (
            tuned.model_may_abstain
            if settings.model_may_abstain is None
            else settings.model_may_abstain
        )

    @classmethod
    def load(
        cls,
        settings: Settings,
        index: Index,
        embedder: Embedder,
        extractive: ExtractiveAnswerer,
        progress: Callable[[str], None] = lambda _: None,
        path: Path | None = None,
    ) -> GenerativeAnswerer:
        """Load `settings.model` — already resolved to `path` if given — with a one-line
        `ModelError` on any failure."""
        from rag.llm.resolve import model_display_name, resolve_model_path
        from rag.llm.runtime import LocalModel, context_size_for

        path = path or resolve_model_path(settings.model, settings.models_dir)
        n_ctx = context_size_for(settings.prompt_token_budget, settings.max_answer_tokens)
        started = time.perf_counter()
        model = LocalModel.load(
            Path(path).expanduser().resolve(),
            threads=settings.threads,
            n_ctx=n_ctx,
            seed=settings.seed,
            name=model_display_name(settings.model, path),
        )
        elapsed = time.perf_counter() - started
        if elapsed > 1.0:  # only a load the user noticed is announced
            progress(f"loaded model {model.name} in {elapsed:.1f} s (context {model.n_ctx})")
        answerer = cls(model, settings, index, embedder, extractive)
        answerer._loaded = model
        return answerer

    def close(self) -> None:
        """Free the model if `load` opened it; a model passed in is its owner's to close."""
        if self._loaded is not None:
            self._loaded.close()

    @property
    def model_name(self) -> str:
        return str(self.model.name)

    # -- answering

    def prompt_for(
        self, retrieval: Retrieval, standalone: str, ranked: Ranked | None = None
    ) -> Prompt:
        """The prompt for a question (see rag.answer.prompt.build_prompt), fitted to the context:
        what does not fit is chosen by `ranked`, the reader's ranking, when given. A
        `ModelError` when even the best evidence sentence leaves no room for the answer."""
        n_ctx = getattr(self.model, "n_ctx", None)
        answer_room = self.settings.max_answer_tokens + ANSWER_OVERRUN
        room = None if n_ctx is None else int(n_ctx) - answer_room
        sentences = [] if ranked is None else ranked.sentences
        prompt = build_prompt(
            standalone,
            retrieval,
            self.index,
            self.model.count_tokens,
            self.settings.prompt_token_budget,
            context_room=room,
            prompt_tokens=getattr(self.model, "prompt_tokens", None),
            ask_to_abstain=self.may_abstain,
            best_first=[(c.doc, c.paragraph, c.index) for c in sentences],
        )
        if room is not None and prompt.tokens > room:
            raise ModelError(
                f"the context of model {self.model_name} ({n_ctx} tokens) is too small: the "
                f"instructions, the question and its best evidence sentence take {prompt.tokens} "
                f"tokens, and {self.settings.max_answer_tokens} are kept for the answer; use a "
                "model with a longer context or lower RAG_MAX_ANSWER_TOKENS"
            )
        return prompt

    def stream(
        self, retrieval: Retrieval, standalone: str, question: str, prompt_k: int | None = None
    ) -> Generator[str, None, Answer]:
        """Stream the model's answer to `standalone`; return the checked `Answer`. All of
        `retrieval` is weighed for abstention; its first `prompt_k` paragraphs go to the model."""
        ranked = self.extractive.rank(retrieval)  # once: answer, gate and abstention
        extractive = self.extractive.answer(retrieval, standalone, question, ranked)
        if extractive.abstained:  # one measure decides abstention, with or without a model
            best = ranked.sentences[0].score if ranked.sentences else 0.0
            threshold = self.extractive.abstain_threshold
            why = f"no retrieved paragraph answers the question (support {best:.2f} < {threshold})"
            if best >= threshold:
                why = "the question names something no indexed document mentions"
            return self._llm_answer(
                extractive, [], Fallback("abstained", f"{why}; the model was not asked")
            )
        pieces: list[str] = []
        started = time.perf_counter()
        first_token_ms: float | None = None
        try:
            shown_to_model = retrieval if prompt_k is None else retrieval.top(prompt_k)
            prompt = self.prompt_for(shown_to_model, standalone, ranked)
            stream = self.model.chat_stream(
                prompt.messages,
                max_tokens=self.settings.max_answer_tokens,
                temperature=self.settings.temperature,
            )
            try:
                for piece in stream:
                    if first_token_ms is None:
                        first_token_ms = (time.perf_counter() - started) * 1000
                    pieces.append(piece)
                    yield piece
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except ModelError as exc:
            if self.settings.on_model_error != "extractive":
                raise
            return self._llm_answer(
                extractive, [], Fallback("extractive", f"model {self.model_name} failed ({exc})")
            )
        generated_ms = (time.perf_counter() - started) * 1000
        timings = {"first_token": first_token_ms or generated_ms, "generate": generated_ms}

        shown = set(prompt.shown)
        hits = [h for h in retrieval.hits if (h.doc, h.paragraph) in shown]
        checked = self.checker.check(
            "".join(pieces),
            Retrieval(retrieval.question, retrieval.query_vector, hits, retrieval.elapsed_ms),
            self.support_threshold,
            question=standalone,
        )
        checked = self._answering_only(checked, self.extractive.paragraph_support(ranked))
        if checked.kept:
            text = checked.text(self.index.multi_doc)
            answer = Answer(question, standalone, text, checked.citations, False, "llm")
            short = extractive.short_answer  # when the model's kept answer says it too
            if short is not None and short.lower() in text.lower():
                answer.short_answer = short
            return self._llm_answer(answer, checked.dropped, None, timings)
        said = "".join(pieces).strip()
        if checked.abstained:
            why = "the model said the article does not say, but the retrieved paragraphs answer"
        else:
            why = "the model said nothing"
            if said:
                why = "the model's answer had no supported sentence"
        return self._llm_answer(extractive, checked.dropped, Fallback("extractive", why), timings)

    def _answering_only(
        self, checked: CheckedAnswer, support: dict[tuple[str, int], float]
    ) -> CheckedAnswer:
        """`checked` keeping only sentences attributed to a paragraph that answers the question
        by the abstention measure (`support`, by paragraph): a true sentence about something
        else, or one copied from an instruction planted in the article, is dropped."""
        threshold = self.extractive.abstain_threshold
        multi = self.index.multi_doc
        kept, dropped = [], list(checked.dropped)
        for sentence in checked.kept:
            if any(support.get((c.doc, c.paragraph), 0.0) >= threshold for c in sentence.citations):
                kept.append(sentence)
                continue
            where = ", ".join(c.marker(multi) for c in sentence.citations)
            dropped.append(
                Dropped(sentence.text, f"said by {where}, which does not answer the question")
            )
        return dataclasses.replace(checked, kept=kept, dropped=dropped)

    def _llm_answer(
        self,
        answer: Answer,
        dropped: list[Dropped],
        fallback: Fallback | None,
        timings: dict[str, float] | None = None,
    ) -> Answer:
        answer.timings_ms.update(timings or {})
        answer.mode = "llm"
        answer.model = self.model_name
        answer.dropped = dropped
        answer.fallback = fallback
        return answer

    # -- chat

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """`question` made standalone by the model, or by rag.chat.rewrite's rules if that fails."""
        rules = standalone_question(question, history)
        if not history:
            return rules
        conversation = []
        for asked, answered in history[-REWRITE_TURNS:]:
            said = strip_citations(answered)
            if len(said) > REWRITE_ANSWER_CHARS:
                said = said[:REWRITE_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
            conversation.append(f"Question: {neutralise(asked)}\nAnswer: {neutralise(said)}")
        messages = [
            {"role": "system", "content": REWRITE_SYSTEM},
            {
                "role": "user",
                "content": "Conversation:\n"
                + "\n".join(conversation)
                + f"\n\nLast question: {neutralise(question)}\nRewritten question:",
            },
        ]
        try:
            stream = self.model.chat_stream(
                messages, max_tokens=REWRITE_MAX_TOKENS, temperature=0.0
            )
            try:
                text = "".join(stream)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except ModelError:
            return rules
        rewritten = sane_rewrite(text, question)
        return rewritten if rewritten is not None else rules


def sane_rewrite(text: str, question: str) -> str | None:
    """The model's rewrite cleaned up, or None unless it looks like one standalone question."""
    quotes = "\"'“”‘’`"
    line = text.strip().strip(quotes).strip()
    line = re.sub(r"^(rewritten question|question)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip().strip(quotes).strip()
    if not line or "\n" in line or len(line) < 3:
        return None
    if len(line) > REWRITE_MAX_GROWTH * max(len(question.strip()), 10):
        return None
    if not line.endswith("?") or line.rstrip("?").strip().lower() == ABSTENTION.lower().rstrip("."):
        return None
    if any(bad in line for bad in ("<|", "|>", "¶", "[", "]")):
        return None
    if not re.search(r"[A-Za-z]{2}", line):
        return None
    return line
