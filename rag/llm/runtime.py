"""The local language model: load a GGUF file with llama.cpp and stream chat answers.

What this module does (finding the file is rag.llm.resolve; checking it without llama.cpp is
rag.llm.gguf; vetting its chat template is rag.llm.chat_template):

* `LocalModel` wraps one `llama_cpp.Llama` on the CPU: it counts tokens with the model's own
  tokenizer and streams chat completions formatted with the model's own chat template (the GGUF
  `tokenizer.chat_template`, which llama-cpp-python renders in a sandboxed Jinja environment).
  `Llama` is not thread-safe, so every call into it holds the instance's lock; a stream holds
  it only while a piece is produced, and owns the model's generation from its first piece to
  its end (`_Stream`: abandoned or interleaved streams are interrupted, never waited for).
* No cache: whoever loads a model owns it and closes it (`Pipeline.close`, for the model
  `Pipeline.open` loaded). The module holds no state.
* `context_size_for` sizes the context window from the prompt budget, not from the model's
  (often huge and memory-hungry) training context.

What it does not do: build prompts, pick or cite paragraphs, check answers against sources, or
decide what to do when a model fails (callers get a `ModelError` and choose). It never uses a GPU
and never downloads anything.

This is the only module that imports `llama_cpp`, and only inside functions: importing
`rag.llm.runtime`
is cheap and works without llama-cpp-python installed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.errors import InputError, ModelError, RagError, one_line
from rag.llm.chat_template import vet_chat_template
from rag.llm.gguf import check_gguf_file, gguf_context_length

_CTX_GRANULARITY = 256
IDLE_SECONDS = 2.0  # a stream not read for this long is abandoned: another answer may take over
_UTF8_SLACK = 4  # tokens allowed past max_tokens to finish a UTF-8 character

_CONTEXT_ERROR = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


# --------------------------------------------------------------------------- the model


def context_size_for(prompt_token_budget: int, max_answer_tokens: int, overhead: int = 256) -> int:
    """Context window for a prompt budget plus the answer plus `overhead` (instructions,
    question, chat template), rounded up to a multiple of 256.

    `LocalModel.load` lowers it to the model's training context if that is smaller.
    """
    if prompt_token_budget < 1 or max_answer_tokens < 1 or overhead < 0:
        raise InputError("prompt and answer token budgets must be positive")
    total = prompt_token_budget + max_answer_tokens + overhead
    return -(-total // _CTX_GRANULARITY) * _CTX_GRANULARITY


class LocalModel:
    """One llama.cpp model on the CPU. Build it with `LocalModel.load`; `close` it when done.

    Thread-safe: each call into llama.cpp holds a lock, released between the pieces of a
    stream. One answer is generated at a time: a stream owns the model from its first piece
    until it is exhausted or closed. Another stream waits for it, unless that stream is
    abandoned (not read for IDLE_SECONDS) or belongs to the same thread (two streams read in
    turn): then the older one is interrupted, and reading it further raises ModelError. So no
    pattern of reading, abandoning or interleaving streams can hang.
    """

    def __init__(
        self, llm: Any, path: Path, *, seed: int, n_ctx_train: int, name: str | None = None
    ) -> None:
        self._llm = llm
        self._path = path
        self._name = name or path.stem
        self._closed = False
        self._seed = seed
        self._n_ctx_train = n_ctx_train
        self._lock = threading.Lock()  # held for each call into llama.cpp, never across a yield
        self._turn = threading.Condition(self._lock)  # signalled when a stream lets go
        self._owner: _Stream | None = None  # the stream whose answer is being generated
        template = llm.metadata.get("tokenizer.chat_template")
        self._chat_template: str | None = template if isinstance(template, str) else None
        # Built like llama-cpp-python builds the formatter it uses for "chat_template.default"
        # (a sandboxed Jinja environment), to measure prompts before generating.
        self._formatter: Any = None
        if self._chat_template is not None:
            from llama_cpp import llama_chat_format

            eos, bos = self._token_text(llm.token_eos()), self._token_text(llm.token_bos())
            vet_chat_template(self._chat_template, bos=bos, eos=eos, model=self._name)
            self._formatter = llama_chat_format.Jinja2ChatFormatter(
                template=self._chat_template, eos_token=eos, bos_token=bos
            )

    @classmethod
    def load(
        cls, path: Path, *, threads: int, n_ctx: int, seed: int, name: str | None = None
    ) -> LocalModel:
        """Load `path` with `threads` CPU threads and a context of `n_ctx` tokens (lowered to the
        model's training context if that is smaller). Any failure is a one-line `ModelError`."""
        path = Path(path)
        if threads < 1:
            raise InputError("threads must be at least 1")
        if n_ctx < 1:
            raise InputError("the context size must be at least 1")
        check_gguf_file(path)
        try:
            import llama_cpp
        except ImportError as exc:
            if isinstance(exc, ModuleNotFoundError) and exc.name == "llama_cpp":
                raise ModelError(
                    "answers by a language model need llama-cpp-python, which is not installed: "
                    "pip install 'rag[llm]'"
                ) from None
            # installed, but broken: a module or shared library it needs is missing
            raise ModelError(f"cannot load llama-cpp-python ({one_line(exc)})") from None
        trained = gguf_context_length(path)
        if trained is not None and 0 < trained < n_ctx:
            n_ctx = trained
        try:
            llm = _open_llama(llama_cpp, path, threads=threads, n_ctx=n_ctx, seed=seed)
            n_ctx_train = int(llama_cpp.llama_model_n_ctx_train(llm.model))
            if 0 < n_ctx_train < n_ctx:
                llm.close()
                llm = _open_llama(llama_cpp, path, threads=threads, n_ctx=n_ctx_train, seed=seed)
        except RagError:
            raise
        except Exception as exc:  # llama.cpp reports load failures many ways
            raise ModelError(f"cannot load model {path}: {one_line(exc)}") from exc
        try:
            return cls(llm, path, seed=seed, n_ctx_train=n_ctx_train, name=name)
        except ModelError:
            llm.close()
            raise

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> Path:
        return self._path

    @property
    def n_ctx(self) -> int:
        """The context window in use (prompt plus answer tokens)."""
        return int(self._open_llm().n_ctx())

    @property
    def n_ctx_train(self) -> int:
        """The context length the model was trained with (from its GGUF metadata)."""
        return self._n_ctx_train

    @property
    def chat_template(self) -> str | None:
        """The Jinja chat template stored in the file, if any."""
        return self._chat_template

    @property
    def chat_format(self) -> str:
        """How llama-cpp-python formats chats for this model: "chat_template.default" means the
        file's own template; a known template may be mapped to a built-in name ("chatml", …);
        files without a template fall back to "llama-2"."""
        return str(self._llm.chat_format)

    def count_tokens(self, text: str) -> int:
        """Tokens of plain `text` with the model's tokenizer (no BOS, special markers as text)."""
        if not text:
            return 0
        with self._lock:
            llm = self._open_llm()
            return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def format_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """The prompt text `messages` become with the model's chat template."""
        from llama_cpp import llama_chat_format

        try:
            if self._formatter is not None:
                return str(self._formatter(messages=list(messages)).prompt)
            # No template in the file: llama-cpp-python falls back to its "llama-2" format.
            return str(llama_chat_format.format_llama2(list(messages)).prompt)
        except Exception as exc:  # Jinja errors, or raise_exception() in the template
            raise ModelError(
                f"the chat template of model {self.name} rejected the messages: {one_line(exc)}"
            ) from exc

    def prompt_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        """Tokens the formatted chat prompt occupies in the context."""
        prompt = self.format_prompt(messages)
        with self._lock:
            llm = self._open_llm()
            return len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def chat_stream(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Stream the answer to `messages` ({"role", "content"} dicts) as text pieces.

        The context fit (prompt tokens + `max_tokens` <= `n_ctx`) is checked before anything is
        generated: a `ModelError` is raised here, not on the first piece. Generation uses the
        load-time seed, so equal inputs give equal outputs. Pieces are never empty; llama-cpp-python
        holds back incomplete UTF-8 and may run a few tokens past `max_tokens` to finish a
        character. Exhaust or `close()` the returned iterator: it holds the model's lock.
        """
        if max_tokens < 1:
            raise InputError("max_tokens must be at least 1")
        if not messages:
            raise InputError("no messages to answer")
        msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
        n_prompt = self.prompt_tokens(msgs)
        if n_prompt + max_tokens > self.n_ctx:
            raise self._overflow(n_prompt, max_tokens)
        return self._stream(
            msgs, max_tokens=max_tokens, temperature=temperature, limit=n_prompt + max_tokens
        )

    def chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float
    ) -> str:
        """The whole answer to `messages` (see `chat_stream`)."""
        return "".join(self.chat_stream(messages, max_tokens=max_tokens, temperature=temperature))

    def close(self) -> None:
        """Free the model's memory; any later call raises `ModelError` (llama.cpp would crash)."""
        with self._lock:
            if self._owner is not None:
                self._owner._interrupt("the model was closed")
            if not self._closed:
                self._closed = True
                self._llm.close()

    def _open_llm(self) -> Any:
        """The llama.cpp object, or `ModelError` once the model was closed."""
        if self._closed:
            raise ModelError(f"model {self.name} was unloaded; load it again")
        return self._llm

    # -- internals

    def _stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        limit: int | None = None,
    ) -> Iterator[str]:
        return _Stream(self, messages, max_tokens, temperature, limit)

    def _generate(
        self, messages: list[dict[str, str]], max_tokens: int, temperature: float, limit: int | None
    ) -> Any:
        """llama-cpp-python's chunk iterator for one answer (call with the lock held)."""
        return self._open_llm().create_chat_completion(
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=self._seed,
            stream=True,
            logits_processor=None if limit is None else self._end_at(limit),
        )

    def _end_at(self, limit: int) -> Any:
        """A logits processor forcing end-of-generation once the context holds `limit` +
        `_UTF8_SLACK` tokens. llama-cpp-python ignores `max_tokens` while the text ends in an
        incomplete UTF-8 character, which random or broken models can keep doing until the
        context is full; this bounds the answer whatever it generates."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        eos = int(self._llm.token_eos())
        stop_at = limit + _UTF8_SLACK

        def end(input_ids: Any, scores: Any) -> Any:
            if eos >= 0 and len(input_ids) >= stop_at:
                scores[:] = -np.inf
                scores[eos] = 0.0
            return scores

        return LogitsProcessorList([end])

    def _overflow(self, n_prompt: int, max_tokens: int) -> ModelError:
        n_ctx = self.n_ctx
        return ModelError(
            f"prompt of {n_prompt} tokens does not fit the model context of {n_ctx}; lower --k or "
            f"the prompt budget ({max_tokens} tokens are kept for the answer)"
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        with self._lock:
            text: bytes = self._llm.detokenize([token], special=True)
        return text.decode("utf-8", errors="replace")


def _open_llama(llama_cpp: Any, path: Path, *, threads: int, n_ctx: int, seed: int) -> Any:
    return llama_cpp.Llama(
        model_path=str(path),
        n_threads=threads,
        n_threads_batch=threads,
        n_ctx=n_ctx,
        seed=seed,
        n_gpu_layers=0,
        verbose=False,
    )


class _Stream(Iterator[str]):
    """One answer being generated. It takes the model's generation when first read and gives it
    up when exhausted, closed or interrupted; the lock is held only inside `__next__`."""

    def __init__(
        self,
        model: LocalModel,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        limit: int | None,
    ) -> None:
        self.model = model
        self.request = (messages, max_tokens, temperature, limit)
        self.chunks: Any = None
        self.thread: threading.Thread | None = None
        self.last_read = 0.0
        self.done = False
        self.interrupted: str | None = None

    def __next__(self) -> str:
        model = self.model
        with model._turn:
            if self.interrupted is not None:
                raise ModelError(
                    f"this answer of model {model.name} was cut off: {self.interrupted}"
                )
            if self.done:
                raise StopIteration
            if model._owner is not self:
                self._take_the_model()
            try:
                while True:
                    chunk = next(self.chunks)
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        self.last_read = time.monotonic()
                        return str(piece)
            except StopIteration:
                self._let_go()
                raise
            except (ValueError, RuntimeError) as exc:
                # llama-cpp-python raises ValueError("Requested tokens (N) exceed context window
                # of M") and RuntimeError when llama_decode fails (for example a full KV cache).
                self._let_go()
                found = _CONTEXT_ERROR.search(str(exc))
                if found is not None:
                    raise model._overflow(int(found.group(1)), self.request[1]) from exc
                raise ModelError(f"model {model.name} failed to generate: {one_line(exc)}") from exc

    def close(self) -> None:
        with self.model._turn:
            if self.model._owner is self:
                self._let_go()
            self.done = True

    def _take_the_model(self) -> None:
        """Wait for the stream that owns the model, or interrupt it when it is abandoned or is
        read in turn with this one by the same thread (waiting would never end)."""
        model = self.model
        me = threading.current_thread()
        while model._owner is not None:
            owner = model._owner
            if owner.thread is me or time.monotonic() - owner.last_read > IDLE_SECONDS:
                owner._interrupt("another answer needed the model")
                break
            model._turn.wait(timeout=0.1)
        model._owner, self.thread = self, me
        self.last_read = time.monotonic()
        self.chunks = model._generate(*self.request)

    def _interrupt(self, why: str) -> None:
        self.interrupted = why
        self._let_go()

    def _let_go(self) -> None:
        """Give up the model (called with the lock held)."""
        self.done = True
        close = getattr(self.chunks, "close", None)
        self.chunks = None
        if close is not None:
            close()
        if self.model._owner is self:
            self.model._owner = None
            self.model._turn.notify_all()
