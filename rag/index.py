"""The index on disk, opened for answering: the `Index` class, whether the index is stale, and
`ensure_index`, which (re)builds it through rag.index_build when it must.

Layout under the index folder (`Settings.index_dir`):

    current -> builds/<stamp>      symlink, swapped atomically when a build completes
    builds/<stamp>/manifest.json   format version, model and weights hash, dimension, sources
                                   with sha256, library versions, build time, FAISS type
    builds/<stamp>/documents.json  the parsed documents (roles, paragraphs, sentence offsets)
    builds/<stamp>/vectors.faiss   inner-product index over passage vectors (flat or HNSW)
    builds/<stamp>/bm25/           BM25 matrix as .npy + JSON (see rag.lexical)
    builds/<stamp>/query_encoder/  ONNX export of the embedding model (see rag.embedding_onnx)
    builds/<stamp>/.rag-build      marker: this build is ours (see rag.index_folder)

Opening checks every file against the manifest and the parts against each other, and raises
`IndexUnreadable` for anything missing, changed or inconsistent. Not here: building (parsing,
embedding, writing, the atomic swap: rag.index_build), the FAISS file itself (rag.vector_store),
what in the folder is ours, the lock and the swap (rag.index_folder), the manifest and
documents.json as data (rag.index_format), file hashes (rag.index_files). No pickle anywhere.
Not handled: incremental updates (a changed source rebuilds everything).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.documents import Document, Paragraph
from rag.errors import IndexUnreadable, SourceError, one_line
from rag.index_files import check_files
from rag.index_folder import current_path
from rag.index_format import document_from_json, read_manifest, source_path
from rag.lexical import Bm25Index
from rag.passages import Unit, units_for
from rag.vector_store import is_hnsw, read_vectors, set_ef_search

Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    """The library's default progress: say nothing."""


@dataclass
class Index:
    """A loaded index: documents, passages, dense vectors and BM25, ready to search."""

    root: Path
    manifest: dict[str, Any]
    documents: list[Document]
    units: list[Unit]
    lexical: Bm25Index
    _vectors: Any = field(repr=False)

    @property
    def multi_doc(self) -> bool:
        return len(self.documents) > 1

    def document(self, name: str) -> Document:
        for document in self.documents:
            if document.name == name:
                return document
        raise KeyError(name)

    def paragraph(self, doc: str, number: int) -> Paragraph:
        return self.document(doc).paragraph(number)

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, unit ids) by inner product for one normalised query vector."""
        k = min(k, len(self.units))
        scores, ids = self._vectors.search(np.ascontiguousarray(query.reshape(1, -1)), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of the given units."""
        return np.vstack([self._vectors.reconstruct(int(i)) for i in ids])


# --- paths and staleness ---------------------------------------------------------------------


def stale_reason(settings: Settings) -> str | None:
    """Why the index must be (re)built before answering, or None when it is fresh."""
    root = current_path(settings.index_dir)
    if not root.exists():
        return "no index yet"
    try:
        manifest = read_manifest(root)
    except IndexUnreadable as exc:
        return str(exc)
    if manifest["model"].get("setting", "") != settings.embedding_model:
        return "the embedding model setting changed"
    for source in manifest["sources"]:
        path = source_path(source)
        if not path.is_file():
            return f"source {path} is gone"
        try:
            data = path.read_bytes()
        except OSError as exc:  # made unreadable since the build: say so, do not crash
            raise SourceError(f"{path}: indexed source cannot be read ({exc.strerror})") from None
        if _sha256(data) != source["sha256"]:
            return f"source {path.name} changed"
    return None


def sources_of(settings: Settings) -> list[Path]:
    """The sources to rebuild from: those of the current index if it names them, else settings."""
    try:
        manifest = read_manifest(current_path(settings.index_dir))
        recorded = [source_path(s) for s in manifest["sources"]]
    except (IndexUnreadable, KeyError, TypeError):
        return list(settings.sources)
    missing = [p for p in recorded if not p.is_file()]
    if missing:
        raise SourceError(f"{missing[0]}: indexed source is gone; run `rag index PATH...` again")
    return recorded


# --- loading ---------------------------------------------------------------------------------


def open_index(settings: Settings) -> Index:
    """Load the current index; raises IndexUnreadable when any part is missing or corrupt."""
    root = current_path(settings.index_dir)
    if not root.exists():
        raise IndexUnreadable(f"no index in {settings.index_dir}; run `rag index`")
    root = root.resolve()
    manifest = read_manifest(root)
    check_files(root, manifest.get("files"))  # anything changed since the build: rebuild
    try:
        raw = json.loads((root / "documents.json").read_text(encoding="utf-8"))
        documents = [document_from_json(d) for d in raw]
        vectors = read_vectors(root / "vectors.faiss")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, RecursionError) as exc:
        raise IndexUnreadable(
            f"index in {root} is unreadable ({one_line(exc, last=True)})"
        ) from None
    if (manifest["faiss"]["type"] == "hnsw") != is_hnsw(vectors):
        raise IndexUnreadable(
            f"index in {root} is inconsistent: the manifest says {manifest['faiss']['type']}, "
            "the FAISS file is not"
        )
    if manifest["faiss"]["type"] == "hnsw":
        set_ef_search(vectors, int(manifest["faiss"]["ef_search"]))
    units = units_for(documents)
    if vectors.ntotal != len(units) or vectors.d != manifest["model"]["dim"]:
        raise IndexUnreadable(
            f"index in {root} is inconsistent: {vectors.ntotal} vectors for {len(units)} passages"
        )
    lexical = Bm25Index.load(root / "bm25")
    if lexical.num_docs != len(units):
        raise IndexUnreadable(
            f"index in {root} is inconsistent: BM25 covers {lexical.num_docs} "
            f"passages of {len(units)}"
        )
    return Index(root, manifest, documents, units, lexical, vectors)


def ensure_index(settings: Settings, progress: Progress = no_progress) -> Index:
    """Open the index, first (re)building it when missing, stale or unreadable."""
    from rag.index_build import build_index  # rag.index_build imports this module

    reason = stale_reason(settings)
    if reason is None:
        try:
            return open_index(settings)
        except IndexUnreadable as exc:
            reason = str(exc)
    progress(f"building the index ({reason})…")
    build_index(settings, sources_of(settings), progress=progress, unless_fresh=True)
    return open_index(settings)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
