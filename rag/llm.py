"""The local language model: find a GGUF file, load it with llama.cpp, stream chat answers.

What this module does:

* `resolve_model_path` turns a model spec (a local path, or `hf:OWNER/REPO/FILE.gguf`) into a
  verified local GGUF file. Local files are checked structurally (magic bytes, version, metadata
  and tensor tables, data size) so a wrong or half-downloaded file gives one clear line instead
  of a llama.cpp crash. `hf:` specs are fetched with `huggingface_hub.hf_hub_download` into the
  normal Hugging Face cache (a cached copy also works offline).
* `LocalModel` wraps one `llama_cpp.Llama` on the CPU: it counts tokens with the model's own
  tokenizer and streams chat completions formatted with the model's own chat template (the GGUF
  `tokenizer.chat_template`, which llama-cpp-python renders in a sandboxed Jinja environment).
  `Llama` is not thread-safe, so every call into it holds the instance's lock, a stream for its
  whole length.
* `get_model` keeps one loaded model per (file, context size) for the life of the process. That
  dict is the only process-wide cache in `rag`.
* `context_size_for` sizes the context window from the prompt budget, not from the model's
  (often huge and memory-hungry) training context.

What it does not do: build prompts, pick or cite paragraphs, check answers against sources, or
decide what to do when a model fails (callers get a `ModelError` and choose). It never uses a GPU
and never downloads anything except an explicit `hf:` spec.

This is the only module that imports `llama_cpp`, and only inside functions: importing `rag.llm`
is cheap and works without llama-cpp-python installed.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from rag.chat_template import vet_chat_template
from rag.errors import InputError, ModelError, RagError, one_line

GGUF_MAGIC = b"GGUF"
# magic, version (uint32), tensor count (uint64), metadata key/value count (uint64)
GGUF_HEADER_SIZE = 24
_DEFAULT_ALIGNMENT = 32
_CTX_GRANULARITY = 256
_UTF8_SLACK = 4  # tokens allowed past max_tokens to finish a UTF-8 character

# GGUF metadata value types: fixed sizes in bytes; 8 is a string, 9 an array.
_GGUF_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING = 8
_GGUF_ARRAY = 9
_GGUF_MAX_NESTING = 8  # real models use flat arrays; llama.cpp itself allows no nesting
# ggml tensor types: (elements per block, bytes per block). Unknown types skip the size check.
_GGML_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
    39: (32, 17),
}  # fmt: skip

_HF_SPEC = re.compile(r"^hf:([^/\s]+)/([^/\s]+)/(\S+\.gguf)$", re.IGNORECASE)
_CONTEXT_ERROR = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


# --------------------------------------------------------------------------- locating the file


def resolve_model_path(spec: str, models_dir: Path | None = None) -> Path:
    """A verified local GGUF file for `spec`: an installed model's name (rag.models), a path,
    or `hf:OWNER/REPO/FILE.gguf`. `models_dir` is where a model in parts is assembled.

    Raises `InputError` for an empty or malformed spec and `ModelError` when the file is
    missing, not a GGUF file, truncated, not the pinned file, or cannot be downloaded.
    """
    from rag import models

    spec = spec.strip()
    if not spec:
        raise InputError(
            "no model given: pass an installed model's name (rag models), a GGUF file path "
            "or hf:OWNER/REPO/FILE.gguf"
        )
    if spec.lower().startswith("hf:"):
        path = _download_hf(spec)
    else:
        path = Path(spec).expanduser()
        if models.is_model_name(spec) and not path.exists():
            from rag.config import Settings

            folder = models_dir if models_dir is not None else Settings().models_dir
            path = models.model_file(spec, folder)
        elif not path.exists() and "/" not in spec and not spec.lower().endswith(".gguf"):
            known = ", ".join(models.CATALOGUE)
            raise ModelError(
                f"unknown model {spec!r}: not a file, and not a model name ({known}); "
                "rag models lists the installed ones"
            )
    check_gguf_file(path)
    return path


def model_display_name(spec: str, path: Path) -> str:
    """How a model is named to users: its catalogue name, else the file's stem."""
    from rag import models

    return spec.strip().lower() if models.is_model_name(spec) else path.stem


def _download_hf(spec: str) -> Path:
    match = _HF_SPEC.match(spec)
    if match is None:
        raise InputError(
            f"malformed model spec {spec!r}: expected hf:OWNER/REPO/FILE.gguf "
            "(for example hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf)"
        )
    owner, repo, filename = match.groups()
    if any(part in ("", ".", "..") for part in filename.split("/")):
        raise InputError(f"malformed model spec {spec!r}: bad file name {filename!r}")
    advice = "download the file yourself and pass its path"
    try:
        from huggingface_hub import constants, hf_hub_download
    except ImportError as exc:
        raise ModelError(
            f"cannot download {spec}: huggingface_hub is not installed ({one_line(exc)}); " + advice
        ) from exc
    repo_id = f"{owner}/{repo}"
    try:  # a cached copy needs no network
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, local_files_only=True))
    except (OSError, ValueError) as exc:  # not in the cache (LocalEntryNotFoundError) or unusable
        cache_miss = one_line(exc)
    if constants.HF_HUB_OFFLINE:
        reason = "no network (HF_HUB_OFFLINE is set and the file is not in the Hugging Face cache)"
        raise ModelError(f"cannot download {spec}: {reason}; {advice}")
    unreachable = _unreachable(str(constants.ENDPOINT))
    if unreachable is not None:
        raise ModelError(f"cannot download {spec}: no network ({unreachable}); {advice}")
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename))
    except Exception as exc:  # any download failure reads the same to a user
        name = type(exc).__name__
        if "NotFound" in name and "Local" not in name:
            reason = f"not found on the Hugging Face Hub ({name}: {one_line(exc)})"
        else:
            reason = f"no network ({name}: {one_line(exc)}; cache: {cache_miss})"
        raise ModelError(f"cannot download {spec}: {reason}; {advice}") from exc


def _unreachable(endpoint: str, timeout: float = 5.0) -> str | None:
    """Why `endpoint` cannot be reached, or None if a TCP connection works (or a proxy is set).

    huggingface_hub retries a failing connection with back-off for about half a minute; this
    quick probe turns "no network at all" into an immediate error instead.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urlsplit(endpoint)
    host = url.hostname
    if not host:
        return None
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot reach {host}: {one_line(exc)}"


class _Truncated(Exception):
    pass


def check_gguf_file(path: Path) -> None:
    """Raise `ModelError` unless `path` is a complete GGUF file (structure only, not weights)."""
    if not path.exists():
        raise ModelError(f"model file {path} is missing")
    if not path.is_file():
        raise ModelError(f"model path {path} is not a file")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(4)
            if magic != GGUF_MAGIC:
                raise ModelError(f"model file {path} is not a GGUF file (no GGUF magic bytes)")
            if size < GGUF_HEADER_SIZE:
                raise ModelError(f"model file {path} is truncated ({size} bytes, no full header)")
            try:
                needed = _gguf_required_size(f, size)
            except _Truncated:
                needed = None
            if needed is None or size < needed:
                at_least = "" if needed is None else f"; its header says at least {needed}"
                raise ModelError(
                    f"model file {path} is truncated ({size} bytes{at_least}); download it again"
                )
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {one_line(exc)}") from exc


def gguf_context_length(path: Path) -> int | None:
    """The training context length in a GGUF file's metadata (`<arch>.context_length`), if any.

    Read before loading so llama.cpp is never asked for a larger context (it warns on stderr).
    """
    found: dict[str, int] = {}
    try:
        with Path(path).open("rb") as f:
            if f.read(4) != GGUF_MAGIC:
                return None
            _gguf_required_size(f, Path(path).stat().st_size, found)
    except (OSError, ModelError, _Truncated, struct.error):
        return None
    return found.get("context_length")


def _gguf_required_size(f: BinaryIO, size: int, meta: dict[str, int] | None = None) -> int:
    """Bytes a GGUF file must have according to its own tables (`f` is just past the magic).

    When `meta` is given, an integer `*.context_length` value is stored in it.
    """

    def read(n: int) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise _Truncated
        return data

    def skip(n: int) -> None:
        if f.tell() + n > size:
            raise _Truncated
        f.seek(n, os.SEEK_CUR)

    def u32() -> int:
        return int(struct.unpack("<I", read(4))[0])

    def u64() -> int:
        return int(struct.unpack("<Q", read(8))[0])

    def string() -> bytes:
        n = u64()
        if f.tell() + n > size:
            raise _Truncated
        return read(n)

    def skip_value(vtype: int, depth: int = 0) -> None:
        if vtype in _GGUF_SCALAR_SIZES:
            skip(_GGUF_SCALAR_SIZES[vtype])
        elif vtype == _GGUF_STRING:
            skip(u64())
        elif vtype == _GGUF_ARRAY:
            if depth >= _GGUF_MAX_NESTING:  # 5,000 nested array headers: RecursionError before
                raise ModelError(f"model file {f.name} nests metadata arrays too deeply")
            item_type, count = u32(), u64()
            if item_type in _GGUF_SCALAR_SIZES:
                skip(count * _GGUF_SCALAR_SIZES[item_type])
            else:
                for _ in range(count):
                    skip_value(item_type, depth + 1)
        else:
            raise ModelError(f"model file {f.name} is not a valid GGUF file (value type {vtype})")

    version = u32()
    if version not in (2, 3):
        raise ModelError(f"model file {f.name} has unsupported GGUF version {version}")
    n_tensors, n_kv = u64(), u64()
    alignment = _DEFAULT_ALIGNMENT
    for _ in range(n_kv):
        key = string()
        vtype = u32()
        if key == b"general.alignment" and vtype == 4:
            alignment = u32() or _DEFAULT_ALIGNMENT
        elif meta is not None and key.endswith(b".context_length") and vtype in (4, 10):
            meta["context_length"] = u32() if vtype == 4 else u64()
        else:
            skip_value(vtype)
    data_size = 0
    for _ in range(n_tensors):
        string()
        n_dims = u32()
        n_elements = 1
        for _ in range(n_dims):
            n_elements *= u64()
        ggml_type, offset = u32(), u64()
        block = _GGML_BLOCKS.get(ggml_type)
        nbytes = n_elements // block[0] * block[1] if block else 0
        data_size = max(data_size, offset + nbytes)
    data_start = -(-f.tell() // alignment) * alignment
    return data_start + data_size if n_tensors else f.tell()


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
    """One llama.cpp model on the CPU. Build it with `LocalModel.load` (or `get_model`).

    Thread-safe: calls are serialised by a lock. A stream from `chat_stream` holds the lock
    until it is exhausted or closed, so finish or `close()` a stream before making another call
    from the same thread.
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
        self._lock = threading.Lock()
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
            raise ModelError(
                f"cannot load model {path}: llama-cpp-python is not installed ({one_line(exc)})"
            ) from exc
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
        with self._lock:
            chunks: Any = None
            try:
                chunks = self._open_llm().create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=self._seed,
                    stream=True,
                    logits_processor=None if limit is None else self._end_at(limit),
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except (ValueError, RuntimeError) as exc:
                # llama-cpp-python raises ValueError("Requested tokens (N) exceed context window
                # of M") and RuntimeError when llama_decode fails (for example a full KV cache).
                found = _CONTEXT_ERROR.search(str(exc))
                if found is not None:
                    raise self._overflow(int(found.group(1)), max_tokens) from exc
                raise ModelError(f"model {self.name} failed to generate: {one_line(exc)}") from exc
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()

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


# --------------------------------------------------------------------------- one per process

# The only process-wide cache in rag: loaded models by (resolved file, context size). Threads
# and seed of the first load win for later callers. Guarded by _MODELS_LOCK (held while
# loading, so concurrent first calls load once).
_MODELS: dict[tuple[Path, int], LocalModel] = {}
_MODELS_LOCK = threading.Lock()


def get_model(
    path: Path, threads: int, n_ctx: int, seed: int, name: str | None = None
) -> LocalModel:
    """The process's `LocalModel` for `path` and `n_ctx`, loading it on first use."""
    key = (Path(path).expanduser().resolve(), n_ctx)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = LocalModel.load(key[0], threads=threads, n_ctx=n_ctx, seed=seed, name=name)
            _MODELS[key] = model
        return model


def unload_models() -> None:
    """Forget (and free) every cached model; for tests and long-lived hosts."""
    with _MODELS_LOCK:
        models = list(_MODELS.values())
        _MODELS.clear()
    for model in models:
        model.close()
