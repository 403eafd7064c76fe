"""The manifest: what a build holds and how it was made, as the `Manifest` type.

`read_manifest` parses manifest.json once into a frozen `Manifest` (with typed parts for the
model, the FAISS index, the sources and the files) and refuses, as `IndexUnreadable`, a
manifest of another format or missing what loading needs; `Manifest.to_json` gives back the
on-disk form, which is unchanged since format v4 (an index built before this type opens as it
is). What is not needed to load or check an index (counts, library versions, the BM25 entry,
the query encoder's description) is kept as the plain JSON objects it is. Not here: the parsed
documents (rag.index.documents), FAISS and BM25 files (rag.index.vectors, rag.index.bm25), file
hashes (rag.index.files) or the folder layout (rag.index.folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.config import SEED_ARTICLES, Settings
from rag.documents.parse import Document
from rag.documents.passages import Unit
from rag.errors import IndexUnreadable, one_line
from rag.index.files import FileRecord
from rag.text.tokens import TOKENIZER_VERSION

FORMAT_VERSION = "rag-index v4"  # v4: the manifest records each file's size and sha256
# The libraries whose versions a manifest records, with Python's.
_VERSIONED = (
    "numpy",
    "faiss-cpu",
    "bm25s",
    "sentence-transformers",
    "torch",
    "onnxruntime",
    "tokenizers",
)


@dataclass(frozen=True)
class ModelEntry:
    """The embedding model the passages were embedded with."""

    name: str
    setting: str  # Settings.embedding_model at build time ("" for the bundled model)
    weights_sha256: str | None
    dim: int


@dataclass(frozen=True)
class FaissEntry:
    """The FAISS index: its type, the efSearch an HNSW one is searched with, and everything
    rag.index.vectors recorded (`details`: count, metric, HNSW parameters, measured recall)."""

    type: str  # "flat" or "hnsw"
    ef_search: int | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class SourceEntry:
    """One indexed source file, with its sha256 at build time."""

    name: str
    path: str
    sha256: str
    bundled: str | None = None  # the file name of the article that ships with rag
    url: str | None = None  # fetched: `path` is the copy in the index folder, read from there

    def location(self) -> Path:
        """Where the source is now: a bundled article in this install's package data, anything
        else at the path it was indexed from."""
        if self.bundled and Path(self.bundled).name == self.bundled:
            return SEED_ARTICLES / self.bundled
        return Path(self.path)


@dataclass(frozen=True)
class Manifest:
    model: ModelEntry
    faiss: FaissEntry
    sources: tuple[SourceEntry, ...]
    files: Mapping[str, FileRecord]
    query_encoder: Mapping[str, Any] | None  # encoder.json of the ONNX export, if there is one
    bm25: Mapping[str, Any]
    counts: Mapping[str, Any]
    versions: Mapping[str, Any]
    built_at: str
    build_seconds: float | None = None

    @property
    def tokenizer(self) -> str | None:
        """The version of the tokenizer BM25 was built with (rag.text.tokens)."""
        value = self.bm25.get("tokenizer")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        """The manifest as manifest.json holds it."""
        raw: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "built_at": self.built_at,
            "model": {
                "name": self.model.name,
                "setting": self.model.setting,
                "weights_sha256": self.model.weights_sha256,
                "dim": self.model.dim,
            },
            "sources": [_source_json(s) for s in self.sources],
            "counts": dict(self.counts),
            "faiss": dict(self.faiss.details),
            "bm25": dict(self.bm25),
            "query_encoder": None if self.query_encoder is None else dict(self.query_encoder),
            "versions": dict(self.versions),
        }
        if self.build_seconds is not None:
            raw["build_seconds"] = self.build_seconds
        raw["files"] = {k: {"size": f.size, "sha256": f.sha256} for k, f in self.files.items()}
        return raw

    def write(self, root: Path) -> None:
        (root / "manifest.json").write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")


def read_manifest(root: Path) -> Manifest:
    try:
        raw = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise IndexUnreadable(f"index manifest in {root} is unreadable ({one_line(exc)})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise IndexUnreadable(f"index in {root} has format {found!r}, expected {FORMAT_VERSION!r}")
    try:
        return _parse(raw)
    except ValueError as exc:
        raise IndexUnreadable(f"index manifest in {root} is damaged ({exc})") from None


def _parse(raw: dict[str, Any]) -> Manifest:
    """The Manifest of a manifest.json of the right format; ValueError says what is wrong."""
    model, faiss_info, sources = (raw.get(k) for k in ("model", "faiss", "sources"))
    if not isinstance(model, dict) or not isinstance(model.get("dim"), int):
        raise ValueError("no model dimension")
    setting = model.get("setting", "")
    if not isinstance(setting, str) or not isinstance(model.get("name"), str):
        raise ValueError("no model name")
    if not isinstance(faiss_info, dict) or faiss_info.get("type") not in ("flat", "hnsw"):
        raise ValueError("no FAISS index type")
    ef_search = faiss_info.get("ef_search")
    if faiss_info["type"] == "hnsw" and not isinstance(ef_search, int):
        raise ValueError("no HNSW efSearch")
    if (
        not isinstance(sources, list)
        or not sources
        or not all(
            isinstance(s, dict)
            and isinstance(s.get("path"), str)
            and isinstance(s.get("sha256"), str)
            for s in sources
        )
    ):
        raise ValueError("no list of sources")
    encoder = raw.get("query_encoder")
    if encoder is not None and not isinstance(encoder, dict):
        raise ValueError("malformed query encoder entry")
    weights = model.get("weights_sha256")
    return Manifest(
        model=ModelEntry(
            model["name"], setting, weights if isinstance(weights, str) else None, model["dim"]
        ),
        faiss=FaissEntry(
            faiss_info["type"], ef_search if isinstance(ef_search, int) else None, faiss_info
        ),
        sources=tuple(_source(s) for s in sources),
        files=_files(raw.get("files")),
        query_encoder=encoder,
        bm25=_object(raw.get("bm25")),
        counts=_object(raw.get("counts")),
        versions=_object(raw.get("versions")),
        built_at=str(raw.get("built_at", "")),
        build_seconds=_number(raw.get("build_seconds")),
    )


def _files(recorded: Any) -> dict[str, FileRecord]:
    if not isinstance(recorded, dict) or not recorded:
        raise ValueError("records no file sizes and hashes")
    files = {}
    for relative, entry in recorded.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int):
            raise ValueError(f"entry for {relative}")
        digest = entry.get("sha256")
        files[relative] = FileRecord(entry["size"], digest if isinstance(digest, str) else None)
    return files


def _source(raw: dict[str, Any]) -> SourceEntry:
    bundled = raw.get("bundled")
    name = raw.get("name")
    return SourceEntry(
        name if isinstance(name, str) else Path(raw["path"]).stem,
        raw["path"],
        raw["sha256"],
        bundled if isinstance(bundled, str) and bundled else None,
        url if isinstance(url := raw.get("url"), str) and url else None,
    )


def _source_json(source: SourceEntry) -> dict[str, Any]:
    entry = {"name": source.name, "path": source.path, "sha256": source.sha256}
    if source.bundled is not None:
        entry["bundled"] = source.bundled
    if source.url is not None:
        entry["url"] = source.url
    return entry


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def new_manifest(
    settings: Settings,
    embedder: Any,
    documents: Sequence[Document],
    units: Sequence[Unit],
    faiss_info: dict[str, Any],
    encoder: dict[str, Any] | None,
) -> Manifest:
    """The manifest of a build being written (its files and build time are added last)."""
    versions = {"python": platform.python_version()}
    for package in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return Manifest(
        model=ModelEntry(
            embedder.name,
            settings.embedding_model,
            getattr(embedder, "weights_sha256", None),
            int(embedder.dim),
        ),
        faiss=FaissEntry(faiss_info["type"], faiss_info.get("ef_search"), faiss_info),
        sources=tuple(_source_of(d) for d in documents),
        files={},
        query_encoder=encoder,
        bm25={"method": "lucene", "library": "bm25s", "tokenizer": TOKENIZER_VERSION},
        counts={
            "documents": len(documents),
            "paragraphs": sum(len(d.paragraphs) for d in documents),
            "passages": len(units),
        },
        versions=versions,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def _source_of(document: Document) -> SourceEntry:
    bundled = None
    if document.path.resolve().parent == SEED_ARTICLES:
        # The article that ships with rag: found again by file name in whichever install opens
        # the index (the per-user index folder is shared by every install and checkout).
        bundled = document.path.name
    url = document.source_url or None
    return SourceEntry(document.name, str(document.path), document.sha256, bundled, url)
