"""The index on disk: FAISS vectors, BM25, the parsed documents and a manifest — the only
module that imports faiss.

Layout under the index folder (`Settings.index_dir`):

    current -> builds/<stamp>      symlink, swapped atomically when a build completes
    builds/<stamp>/manifest.json   format version, model and weights hash, dimension, sources
                                   with sha256, library versions, build time, FAISS type
    builds/<stamp>/documents.json  the parsed documents (roles, paragraphs, sentence offsets)
    builds/<stamp>/vectors.faiss   inner-product index over passage vectors (flat or HNSW)
    builds/<stamp>/bm25/           BM25 matrix as .npy + JSON (see rag.lexical)
    builds/<stamp>/query_encoder/  ONNX export of the embedding model (see rag.embedding_onnx)
    builds/<stamp>/.rag-build      marker: this build is ours (see rag.index_folder)

A build writes a fresh `builds/.tmp-*` folder, fsyncs it, and only then repoints `current`, so
an interrupted build leaves the previous index untouched; a build that cannot export the query
encoder never replaces an index that has one. What in the folder is ours, the lock, the swap and
the cleanup (which never touches what rag did not make) live in rag.index_folder; the manifest
and documents.json as data in rag.index_format; file hashes in rag.index_files. No pickle
anywhere. Not handled: incremental updates (a changed source rebuilds everything).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.documents import Document, Paragraph, load_documents
from rag.errors import IndexUnreadable, ModelError, SourceError, one_line
from rag.index_files import check_files, record_files
from rag.index_folder import (
    build_lock,
    check_ours,
    current_path,
    fsync_tree,
    mark,
    remove_leftovers,
    remove_old_builds,
    swap_current,
)
from rag.index_format import (
    build_manifest,
    document_from_json,
    document_to_json,
    read_manifest,
)
from rag.lexical import Bm25Index, build_bm25
from rag.passages import Unit, units_for

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# efSearch values tried in turn until the build-time recall@10 reaches the target. Retrieval asks
# FAISS for 200 candidates, and HNSW then explores max(efSearch, 200) nodes anyway.
HNSW_EF_STEPS = (64, 128, 256, 512, 1024, 2048)
HNSW_RECALL_TARGET = 0.95  # recall@10 against exact search, measured at build time
HNSW_RECALL_SAMPLE = 200  # queries in that measurement (see _tune_ef_search)
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


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
        path = Path(source["path"])
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
        recorded = [Path(s["path"]) for s in manifest["sources"]]
    except (IndexUnreadable, KeyError, TypeError):
        return list(settings.sources)
    missing = [p for p in recorded if not p.is_file()]
    if missing:
        raise SourceError(f"{missing[0]}: indexed source is gone; run `rag index PATH...` again")
    return recorded


# --- loading ---------------------------------------------------------------------------------


def open_index(settings: Settings) -> Index:
    """Load the current index; raises IndexUnreadable when any part is missing or corrupt."""
    import faiss

    root = current_path(settings.index_dir)
    if not root.exists():
        raise IndexUnreadable(f"no index in {settings.index_dir}; run `rag index`")
    root = root.resolve()
    manifest = read_manifest(root)
    check_files(root, manifest.get("files"))  # anything changed since the build: rebuild
    try:
        raw = json.loads((root / "documents.json").read_text(encoding="utf-8"))
        documents = [document_from_json(d) for d in raw]
        vectors: Any = faiss.read_index(str(root / "vectors.faiss"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, RecursionError) as exc:
        raise IndexUnreadable(
            f"index in {root} is unreadable ({one_line(exc, last=True)})"
        ) from None
    # One question at a time is searched faster on one thread (measured: 2.2 ms against 4.9 ms
    # at 31k vectors, and far worse when the CPU is busy); builds use `settings.threads`.
    faiss.omp_set_num_threads(1)
    if (manifest["faiss"]["type"] == "hnsw") != hasattr(vectors, "hnsw"):
        raise IndexUnreadable(
            f"index in {root} is inconsistent: the manifest says {manifest['faiss']['type']}, "
            "the FAISS file is not"
        )
    if manifest["faiss"]["type"] == "hnsw":
        vectors.hnsw.efSearch = int(manifest["faiss"]["ef_search"])
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


def ensure_index(settings: Settings, progress: Progress = _quiet) -> Index:
    """Open the index, first (re)building it when missing, stale or unreadable."""
    reason = stale_reason(settings)
    if reason is None:
        try:
            return open_index(settings)
        except IndexUnreadable as exc:
            reason = str(exc)
    progress(f"building the index ({reason})…")
    build_index(settings, sources_of(settings), progress=progress, unless_fresh=True)
    return open_index(settings)


# --- building --------------------------------------------------------------------------------


def build_index(
    settings: Settings,
    sources: Sequence[Path],
    *,
    progress: Progress = _quiet,
    embedder: Any = None,
    unless_fresh: bool = False,
) -> Path:
    """Parse, embed and index `sources`; atomically make the result the current index.

    With `unless_fresh`, a build that another process finished while this one waited for the
    lock is used as it is (two `rag ask` on a fresh machine build once).
    """
    started = time.perf_counter()
    max_bytes = settings.max_source_mb * 2**20
    documents = load_documents([_resolved(Path(p)) for p in sources], max_bytes)
    units = units_for(documents)
    builds = settings.index_dir / "builds"
    check_ours(settings.index_dir)  # before any work: never build over what is not ours
    try:
        builds.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexUnreadable(f"cannot create index folder {builds}: {exc.strerror}") from None
    with build_lock(settings.index_dir):
        check_ours(settings.index_dir)
        if unless_fresh and stale_reason(settings) is None:
            with contextlib.suppress(IndexUnreadable):
                open_index(settings)
                return current_path(settings.index_dir).resolve()
        progress(
            f"indexing {len(documents)} document(s): {sum(len(d.paragraphs) for d in documents)}"
            f" paragraphs, {len(units)} passages"
        )
        if embedder is None:
            from rag.embedding import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder.from_setting(
                settings.embedding_model, threads=settings.threads
            )
        remove_leftovers(builds)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = builds / f".tmp-{stamp}"
        try:
            tmp.mkdir()
            mark(tmp)
        except OSError as exc:
            raise IndexUnreadable(f"cannot write in {builds}: {exc.strerror}") from None
        try:
            vectors = embedder.embed_batch([u.search_text for u in units])
            faiss_info = _write_vectors(vectors, tmp / "vectors.faiss", settings)
            (tmp / "bm25").mkdir()
            build_bm25([u.search_text for u in units], tmp / "bm25")
            (tmp / "documents.json").write_text(
                json.dumps([document_to_json(d) for d in documents], ensure_ascii=False),
                encoding="utf-8",
            )
            encoder = _export_query_encoder(embedder, tmp / "query_encoder", settings, progress)
            manifest = build_manifest(settings, embedder, documents, units, faiss_info, encoder)
            manifest["build_seconds"] = round(time.perf_counter() - started, 3)
            manifest["files"] = record_files(tmp)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            fsync_tree(tmp)  # on disk before it can become `current`
            final = builds / stamp
            tmp.rename(final)
        except (OSError, RuntimeError) as exc:  # a full disk, a read-only folder (faiss: Runtime)
            shutil.rmtree(tmp, ignore_errors=True)
            raise IndexUnreadable(
                f"cannot build the index in {settings.index_dir} ({one_line(exc, last=True)}); "
                "the current index, if any, is kept"
            ) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        swap_current(settings.index_dir, final)
        remove_old_builds(builds, keep=final)
    progress(f"index ready in {time.perf_counter() - started:.1f} s ({settings.index_dir})")
    return final


def _write_vectors(vectors: np.ndarray, path: Path, settings: Settings) -> dict[str, Any]:
    """Write a flat index, or an HNSW one from `ann_min_vectors` on, with its measured recall."""
    import faiss

    faiss.omp_set_num_threads(settings.threads)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    info: dict[str, Any] = {"metric": "inner_product", "count": int(n)}
    index: Any
    if n >= settings.ann_min_vectors:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        started = time.perf_counter()
        index.add(vectors)
        build_s = time.perf_counter() - started
        ef_search, recall, sample = _tune_ef_search(index, vectors)
        info.update(
            type="hnsw",
            m=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION,
            ef_search=ef_search,
            recall_at_10=round(recall, 4),
            recall_sample=sample,
            recall_queries="midpoints of 2 corpus vectors",
            recall_target=HNSW_RECALL_TARGET,
            build_s=round(build_s, 3),
        )
    else:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        info.update(type="flat")
    faiss.write_index(index, str(path))
    return info


def _tune_ef_search(index: Any, vectors: np.ndarray) -> tuple[int, float, int]:
    """Lowest efSearch of HNSW_EF_STEPS whose recall@10 against exact search reaches the target.

    Queries are `HNSW_RECALL_SAMPLE` midpoints of two random corpus vectors (fixed seed),
    renormalised: in the corpus's region of the space but between topics and in no passage, like
    real questions. (Corpus vectors moved by random noise are easier, and overstate the recall
    real questions get, so they are not used.) A returned vector counts as a hit when it scores
    at least the 10th exact score: duplicate passages make ids ambiguous, scores are not.
    Returns (efSearch, recall, sample size).
    """
    import faiss

    rng = np.random.default_rng(0)
    n, dim = vectors.shape
    sample = min(HNSW_RECALL_SAMPLE, n)
    queries = vectors[rng.integers(0, n, size=sample)] + vectors[rng.integers(0, n, size=sample)]
    queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    k = min(10, n)
    true_scores, _ = exact.search(queries, k)
    floor = true_scores[:, -1:] - 1e-5
    recall = 0.0
    for ef_search in HNSW_EF_STEPS:
        index.hnsw.efSearch = ef_search
        scores, ids = index.search(queries, k)
        recall = float(((scores >= floor) & (ids >= 0)).sum() / (sample * k))
        if recall >= HNSW_RECALL_TARGET:
            break
    return ef_search, recall, sample


def _export_query_encoder(
    embedder: Any, out_dir: Path, settings: Settings, progress: Progress
) -> dict[str, Any] | None:
    model_dir = getattr(embedder, "model_dir", None)
    if model_dir is None:
        return None
    from rag.embedding_onnx import export_query_encoder

    progress("exporting the query encoder to ONNX…")
    try:
        return export_query_encoder(model_dir, out_dir, threads=settings.threads)
    except (ModelError, OSError, RuntimeError) as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        why = one_line(exc, last=not isinstance(exc, ModelError))
        if _current_has_encoder(settings):  # a complete index is never replaced by a lesser one
            raise IndexUnreadable(
                f"cannot export the query encoder ({why}); the current index is kept"
            ) from None
        progress(f"warning: no fast query encoder ({why}); queries will load sentence-transformers")
        return None


def _current_has_encoder(settings: Settings) -> bool:
    try:
        return bool(read_manifest(current_path(settings.index_dir)).get("query_encoder"))
    except IndexUnreadable:
        return False


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise SourceError(f"{path}: cannot be followed ({one_line(exc)})") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
