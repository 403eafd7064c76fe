"""The measurements scripts/bench.py runs in fresh child processes (`bench.py --worker NAME`),
each printing one JSON object: torch embedding rate on the article (`embed-rate`), warm latency of
one process answering the gold questions (`serve`), and flat against HNSW FAISS search on a built
index (`ann`). The synthetic tiers' index build (`build`) is in tiers.

Not here: starting the children (common.worker) or reporting (report).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from rag.evaluation.gold import CHECKOUT_GOLD, GoldCase, load_gold
from rag.evaluation.replay import replay_history

from .common import summary

RETRIEVAL_DEPTH = 200  # rag.retrieval.retriever.CANDIDATES: what the dense index is asked for
SWEEP_SIZES = (3_000, 10_000, 20_000, 30_000, 50_000, 100_000, 200_000, 300_000)


def gold_cases() -> list[GoldCase]:
    return load_gold(CHECKOUT_GOLD)


def w_embed_rate(args: dict[str, Any]) -> dict[str, Any]:
    """Torch (sentence-transformers) embedding rate on the article's passages."""
    from rag.documents.passages import units_for
    from rag.documents.sources import load_documents
    from rag.embedding.torch_encoder import SentenceTransformerEmbedder

    texts = [u.text for u in units_for(load_documents([Path(p) for p in args["sources"]]))]
    embedder = SentenceTransformerEmbedder.from_setting("", threads=os.cpu_count() or 1)
    embedder.embed_batch(texts[:8])
    times = []
    for _ in range(3):
        started = time.perf_counter()
        embedder.embed_batch(texts)
        times.append(time.perf_counter() - started)
    return {
        "passages": len(texts),
        "seconds": statistics.median(times),
        "passages_per_s": len(texts) / statistics.median(times),
    }


def w_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Open the pipeline once and time every gold question; then the retrieval parts alone."""
    from rag.config import Settings
    from rag.pipeline import Pipeline

    started = time.perf_counter()
    settings = Settings.load({"index_dir": Path(args["index_dir"])}, env={})
    pipeline = Pipeline.open(settings, progress=lambda _: None)
    open_s = time.perf_counter() - started
    cases = gold_cases()
    # Follow-ups are asked after the system's own earlier answers, replayed once, untimed.
    histories = [replay_history(pipeline, case) for case in cases]
    for case, history in list(zip(cases, histories, strict=True))[:3]:
        pipeline.ask(case.question, history)
    total, retrieve, answer = [], [], []
    for _ in range(int(args["rounds"])):
        for case, history in zip(cases, histories, strict=True):
            started = time.perf_counter()
            result = pipeline.ask(case.question, history)
            total.append((time.perf_counter() - started) * 1000)
            retrieve.append(result.timings_ms["retrieve"])
            answer.append(result.timings_ms["answer"])
    parts: dict[str, list[float]] = {"embed": [], "dense": [], "bm25": []}
    index, embedder = pipeline.index, pipeline.embedder
    for case in cases:
        question = case.question
        t0 = time.perf_counter()
        query = embedder.embed_batch([question])[0]
        t1 = time.perf_counter()
        index.dense_search(query, RETRIEVAL_DEPTH)
        t2 = time.perf_counter()
        index.lexical.scores(question)
        t3 = time.perf_counter()
        parts["embed"].append((t1 - t0) * 1000)
        parts["dense"].append((t2 - t1) * 1000)
        parts["bm25"].append((t3 - t2) * 1000)
    return {
        "open_s": round(open_s, 3),
        "passages": len(index.units),
        "faiss": dict(index.manifest.faiss.details),
        "total_ms": summary(total),
        "retrieve_ms": summary(retrieve),
        "answer_ms": summary(answer),
        "parts_ms": {name: summary(values) for name, values in parts.items()},
    }


def w_ann(args: dict[str, Any]) -> dict[str, Any]:
    """Flat against HNSW on a built index: search latency at the retrieval depth, recall@10."""
    import faiss
    import numpy as np

    import rag.index.vectors as vector_store
    from rag.embedding.onnx_encoder import OnnxQueryEmbedder
    from rag.index.manifest import read_manifest

    threads = os.cpu_count() or 1
    faiss.omp_set_num_threads(threads)
    root = Path(args["index_dir"]) / "current"
    stored = faiss.read_index(str(root / "vectors.faiss"))
    n = stored.ntotal
    vectors = stored.reconstruct_n(0, n)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    faiss_info = read_manifest(root).faiss
    started = time.perf_counter()
    hnsw: Any
    if faiss_info.type == "hnsw" and faiss_info.ef_search is not None:
        hnsw = stored
        hnsw_build_s = faiss_info.details.get("build_s")
        ef_search = faiss_info.ef_search
        recall_sample = float(faiss_info.details["recall_at_10"])
    else:
        hnsw = faiss.IndexHNSWFlat(
            vectors.shape[1], vector_store.HNSW_M, faiss.METRIC_INNER_PRODUCT
        )
        hnsw.hnsw.efConstruction = vector_store.HNSW_EF_CONSTRUCTION
        hnsw.add(vectors)
        hnsw_build_s = round(time.perf_counter() - started, 3)
        ef_search, recall_sample, _ = vector_store.tune_ef_search(hnsw, vectors)
    hnsw.hnsw.efSearch = ef_search
    onnx = OnnxQueryEmbedder.from_dir(root / "query_encoder", threads=threads, name="MiniLM")
    queries = onnx.embed_batch([c.question for c in gold_cases()])
    result: dict[str, Any] = {
        "vectors": n,
        "ef_search": ef_search,
        "hnsw_build_s": hnsw_build_s,
        "recall_at_10_sample": round(recall_sample, 4),
    }
    for name, index in (("flat", flat), ("hnsw", hnsw)):
        for k in (10, RETRIEVAL_DEPTH):
            index.search(queries[:3], k)  # warm-up
            times = []
            for _ in range(3):
                for query in queries:
                    started = time.perf_counter()
                    index.search(query.reshape(1, -1), k)
                    times.append((time.perf_counter() - started) * 1000)
            result[f"{name}_k{k}_ms"] = summary(times)
    exact, _ = flat.search(queries, 10)
    for k, label in ((10, "recall_at_10_gold"), (RETRIEVAL_DEPTH, "recall_at_10_gold_k200")):
        found, ids = hnsw.search(queries, k)  # k=200: efSearch is max(efSearch, k), as in rag
        hits = (found[:, :10] >= exact[:, -1:] - 1e-5) & (ids[:, :10] >= 0)
        result[label] = round(float(hits.mean()), 4)
    result["flat_mib"] = round(n * vectors.shape[1] * 4 / 2**20, 1)
    rows = np.ascontiguousarray(vectors).view(np.dtype((np.void, vectors.shape[1] * 4)))
    result["distinct_vectors"] = len(np.unique(rows))  # exact duplicates (repeated sentences)
    result["flat_sweep_ms"] = _flat_sweep(vectors, queries) if args.get("sweep") else {}
    return result


def _flat_sweep(vectors: Any, queries: Any) -> dict[str, dict[str, float]]:
    """Flat top-200 search latency on prefixes of the corpus vectors (settings' thread count)."""
    import faiss

    sweep: dict[str, dict[str, float]] = {}
    for size in SWEEP_SIZES:
        if size > len(vectors):
            break
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors[:size])
        flat.search(queries[:3], RETRIEVAL_DEPTH)
        times = []
        for query in queries:
            started = time.perf_counter()
            flat.search(query.reshape(1, -1), RETRIEVAL_DEPTH)
            times.append((time.perf_counter() - started) * 1000)
        sweep[str(size)] = summary(times)
    return sweep
