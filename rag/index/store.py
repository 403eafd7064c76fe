"""The index on disk, opened for answering: the `Index` class and `open_index`.

Layout under the index folder (`Settings.index_dir`):

    current -> builds/<stamp>      symlink, swapped atomically when a build completes
    builds/<stamp>/manifest.json   format version, model and weights hash, dimension, sources
                                   with sha256, library versions, build time, FAISS type
    builds/<stamp>/documents.json  the parsed documents (roles, paragraphs, sentence offsets)
    builds/<stamp>/vectors.faiss   inner-product index over passage vectors (flat or HNSW)
    builds/<stamp>/bm25/           BM25 matrix as .npy + JSON (see rag.index.bm25)
    builds/<stamp>/query_encoder/  ONNX export of the embedding model (rag.embedding.onnx_encoder)
    builds/<stamp>/.rag-build      marker: this build is ours (see rag.index.folder)

Opening checks every file against the manifest and the parts against each other, and raises
`IndexUnreadable` for anything missing, changed or inconsistent. Not here: building (parsing,
embedding, writing, the atomic swap: rag.index.build), the FAISS file itself (rag.index.vectors),
what in the folder is ours, the lock and the swap (rag.index.folder), the manifest
(rag.index.manifest), documents.json (rag.index.documents), file hashes (rag.index.files),
whether the index is stale (rag.index.staleness). No pickle anywhere.
Not handled: incremental updates (a changed source rebuilds everything).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.documents.parse import Document, Paragraph
from rag.documents.passages import Unit, units_for
from rag.errors import IndexUnreadable, one_line
from rag.index.bm25 import Bm25Index
from rag.index.documents import document_from_json
from rag.index.files import check_files
from rag.index.folder import current_path
from rag.index.manifest import Manifest, read_manifest
from rag.index.vectors import is_hnsw, read_vectors, search, set_ef_search
from rag.results import Citation


@dataclass
class Index:
    """A loaded index: documents, passages, dense vectors and BM25, ready to search."""

    root: Path
    manifest: Manifest
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

    def cite(self, doc: str, number: int, start: int, end: int, score: float) -> Citation:
        """A citation of `text[start:end]` of paragraph `number` of `doc`, with the page of a
        PDF's paragraph and the URL of a fetched document."""
        paragraph = self.paragraph(doc, number)
        url = self.document(doc).source_url or None
        text = paragraph.text
        return Citation(doc, number, text[start:end], text, start, end, score, paragraph.page, url)

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, unit ids) by inner product for one normalised query vector."""
        k = min(k, len(self.units))
        scores, ids = search(self._vectors, np.ascontiguousarray(query.reshape(1, -1)), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of the given units."""
        return np.vstack([self._vectors.reconstruct(int(i)) for i in ids])


def open_index(settings: Settings) -> Index:
    """Load the current index; raises IndexUnreadable when any part is missing or corrupt."""
    root = current_path(settings.index_dir)
    if not root.exists():
        raise IndexUnreadable(f"no index in {settings.index_dir}; run `rag index`")
    root = root.resolve()
    manifest = read_manifest(root)
    check_files(root, manifest.files)  # anything changed since the build: rebuild
    try:
        raw = json.loads((root / "documents.json").read_text(encoding="utf-8"))
        documents = [document_from_json(d) for d in raw]
        vectors = read_vectors(root / "vectors.faiss")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, RecursionError) as exc:
        raise IndexUnreadable(
            f"index in {root} is unreadable ({one_line(exc, last=True)})"
        ) from None
    if (manifest.faiss.type == "hnsw") != is_hnsw(vectors):
        raise IndexUnreadable(
            f"index in {root} is inconsistent: the manifest says {manifest.faiss.type}, "
            "the FAISS file is not"
        )
    if manifest.faiss.type == "hnsw" and manifest.faiss.ef_search is not None:
        set_ef_search(vectors, manifest.faiss.ef_search)
    units = units_for(documents)
    if vectors.ntotal != len(units) or vectors.d != manifest.model.dim:
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
