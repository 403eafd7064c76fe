"""The index's files as data: the manifest (what a build holds and how it was made) and the
parsed documents (documents.json), written at build time and read back, with checks.

`read_manifest` refuses a manifest of another format or missing what loading needs;
`document_from_json` refuses paragraph numbers that are not 1..n and sentence offsets outside
their paragraph. Not here: FAISS and BM25 files (rag.index.vectors, rag.index.bm25), file hashes
(rag.index.files) or the folder layout (rag.index.folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.config import SEED_ARTICLES, Settings
from rag.documents.parse import Document, Paragraph
from rag.documents.passages import Unit
from rag.errors import IndexUnreadable, one_line
from rag.text.sentences import Sentence
from rag.text.tokens import TOKENIZER_VERSION

FORMAT_VERSION = "rag-index v4"  # v4: the manifest records each file's size and sha256


def read_manifest(root: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise IndexUnreadable(f"index manifest in {root} is unreadable ({one_line(exc)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IndexUnreadable(f"index in {root} has format {found!r}, expected {FORMAT_VERSION!r}")
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexUnreadable(f"index manifest in {root} is damaged ({problem})")
    return manifest


def _source_entry(document: Document) -> dict[str, Any]:
    entry = {"name": document.name, "path": str(document.path), "sha256": document.sha256}
    if document.source_url:  # fetched: `path` is the copy in the index folder, read from there
        entry["url"] = document.source_url
    if document.path.resolve().parent == SEED_ARTICLES:
        # The article that ships with rag: found again by file name in whichever install opens
        # the index (the per-user index folder is shared by every install and checkout).
        entry["bundled"] = document.path.name
    return entry


def source_path(source: dict[str, Any]) -> Path:
    """Where a recorded source is now: a bundled article in this install's package data,
    anything else at the path it was indexed from."""
    bundled = source.get("bundled")
    if isinstance(bundled, str) and bundled and Path(bundled).name == bundled:
        return SEED_ARTICLES / bundled
    return Path(source["path"])


def _manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is missing or malformed in a manifest of the right format, if anything."""
    model, faiss_info, sources = (manifest.get(k) for k in ("model", "faiss", "sources"))
    if not isinstance(model, dict) or not isinstance(model.get("dim"), int):
        return "no model dimension"
    if not isinstance(model.get("setting", ""), str) or not isinstance(model.get("name"), str):
        return "no model name"
    if not isinstance(faiss_info, dict) or faiss_info.get("type") not in ("flat", "hnsw"):
        return "no FAISS index type"
    if faiss_info["type"] == "hnsw" and not isinstance(faiss_info.get("ef_search"), int):
        return "no HNSW efSearch"
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
        return "no list of sources"
    encoder = manifest.get("query_encoder")
    if encoder is not None and not isinstance(encoder, dict):
        return "malformed query encoder entry"
    return None


def build_manifest(
    settings: Settings,
    embedder: Any,
    documents: Sequence[Document],
    units: Sequence[Unit],
    faiss_info: dict[str, Any],
    encoder: dict[str, Any] | None,
) -> dict[str, Any]:
    versions = {"python": platform.python_version()}
    for package in (
        "numpy",
        "faiss-cpu",
        "bm25s",
        "sentence-transformers",
        "torch",
        "onnxruntime",
        "tokenizers",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "format": FORMAT_VERSION,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": {
            "name": embedder.name,
            "setting": settings.embedding_model,
            "weights_sha256": getattr(embedder, "weights_sha256", None),
            "dim": int(embedder.dim),
        },
        "sources": [_source_entry(d) for d in documents],
        "counts": {
            "documents": len(documents),
            "paragraphs": sum(len(d.paragraphs) for d in documents),
            "passages": len(units),
        },
        "faiss": faiss_info,
        "bm25": {"method": "lucene", "library": "bm25s", "tokenizer": TOKENIZER_VERSION},
        "query_encoder": encoder,
        "versions": versions,
    }


METADATA = (
    "title",
    "date",
    "author",
    "source_url",
    "fetched_at",
)  # optional: older indexes lack them


def document_to_json(document: Document) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": document.name,
        "path": str(document.path),
        "sha256": document.sha256,
        "boilerplate": list(document.boilerplate),
        "paragraphs": [_paragraph_to_json(p) for p in document.paragraphs],
    }
    out.update({key: getattr(document, key) for key in METADATA if getattr(document, key)})
    return out


def _paragraph_to_json(paragraph: Paragraph) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": paragraph.number,
        "role": paragraph.role,
        "text": paragraph.text,
        "credit": paragraph.credit,
        "sentences": [[s.start, s.end] for s in paragraph.sentences],
    }
    if paragraph.page is not None:
        out["page"] = paragraph.page
    return out


def document_from_json(raw: dict[str, Any]) -> Document:
    numbers = [int(p["number"]) for p in raw["paragraphs"]]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"paragraphs of {raw['name']!r} are not numbered 1..{len(numbers)}")
    paragraphs = tuple(
        Paragraph(
            raw["name"],
            int(p["number"]),
            str(p["role"]),
            str(p["text"]),
            tuple(Sentence(p["text"][s:e], int(s), int(e)) for s, e in _spans(p)),
            str(p.get("credit", "")),
            None if p.get("page") is None else int(p["page"]),
        )
        for p in raw["paragraphs"]
    )
    metadata = {key: str(raw.get(key, "")) for key in METADATA}
    return Document(
        raw["name"],
        Path(raw["path"]),
        raw["sha256"],
        paragraphs,
        tuple(raw.get("boilerplate", ())),
        **metadata,
    )


def _spans(paragraph: dict[str, Any]) -> list[tuple[int, int]]:
    """A paragraph's sentence offsets, checked to lie inside its text."""
    length = len(paragraph["text"])
    spans = [(int(start), int(end)) for start, end in paragraph["sentences"]]
    if not all(0 <= start < end <= length for start, end in spans):
        raise ValueError(f"paragraph {paragraph['number']} has sentence offsets outside its text")
    return spans
