"""The dense vectors on disk, through FAISS — the only module that imports faiss.

`write_vectors` stores passage vectors as an exact inner-product index, or from `ann_min_vectors`
vectors on as HNSW, whose efSearch `tune_ef_search` raises until the recall@10 measured against
exact search reaches HNSW_RECALL_TARGET; what was written and measured goes into the manifest.
`read_vectors` loads the file, and `search` searches it for one question at a time.

FAISS takes its thread count from OpenMP, which has no per-call argument (faiss's Python API
offers `omp_set_num_threads` only): each call here sets the calling thread's OpenMP count for
its work (`settings.threads` for a build, one for a search) and puts the previous one back, so
the process is left as it was found. Not here: which file belongs to which build, the manifest,
or deciding when to rebuild (rag.index.store, rag.index.build).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# efSearch values tried in turn until the build-time recall@10 reaches the target. Retrieval asks
# FAISS for 200 candidates, and HNSW then explores max(efSearch, 200) nodes anyway.
HNSW_EF_STEPS = (64, 128, 256, 512, 1024, 2048)
HNSW_RECALL_TARGET = 0.95  # recall@10 against exact search, measured at build time
HNSW_RECALL_SAMPLE = 200  # queries in that measurement (see tune_ef_search)


def write_vectors(
    vectors: np.ndarray, path: Path, *, threads: int, ann_min_vectors: int
) -> dict[str, Any]:
    """Write a flat index, or an HNSW one from `ann_min_vectors` on, with its measured recall."""
    with openmp_threads(threads):
        return _write(vectors, path, ann_min_vectors)


def _write(vectors: np.ndarray, path: Path, ann_min_vectors: int) -> dict[str, Any]:
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    info: dict[str, Any] = {"metric": "inner_product", "count": int(n)}
    index: Any
    if n >= ann_min_vectors:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        started = time.perf_counter()
        index.add(vectors)
        build_s = time.perf_counter() - started
        ef_search, recall, sample = tune_ef_search(index, vectors)
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


def tune_ef_search(index: Any, vectors: np.ndarray) -> tuple[int, float, int]:
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


def read_vectors(path: Path) -> Any:
    """The FAISS index at `path`.

    Raises what faiss raises for a missing or damaged file (RuntimeError, OSError).
    """
    import faiss

    return faiss.read_index(str(path))


def search(vectors: Any, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the top `k` for each row of `query`, searched on one thread.

    One question at a time is searched faster on one thread (measured: 2.2 ms against 4.9 ms at
    31k vectors, and far worse when the CPU is busy); builds use `settings.threads`.
    """
    with openmp_threads(1):
        scores, ids = vectors.search(query, k)
    return scores, ids


@contextlib.contextmanager
def openmp_threads(threads: int) -> Iterator[None]:
    """FAISS's (OpenMP's) thread count for the calling thread, restored on exit."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def is_hnsw(vectors: Any) -> bool:
    return hasattr(vectors, "hnsw")


def set_ef_search(vectors: Any, ef_search: int) -> None:
    vectors.hnsw.efSearch = ef_search
