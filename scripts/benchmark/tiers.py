"""The synthetic scale tiers of the benchmark (scripts/bench.py): `bench_tier` writes a tier's
corpus (synthetic_corpus), then has fresh child processes build its index (`--worker build`, here),
serve the gold questions and compare flat with HNSW search (workers).

The build worker takes passage vectors from the ONNX export of the bundled MiniLM, computed once
and cached in bench/cache/ by (seed, size, mode), and hands them to the real `build_index`
through an embedder that looks them up; the build's parts (parse, FAISS, BM25, export) are timed
apart. Tiers up to `--full-embed-max` paragraphs ("full") embed every passage; above it ("pool")
only the unique-sentence pool is embedded and each paragraph's vector is the normalised mean of
its sentences' vectors. Not here: generating the text (synthetic_corpus), serving or searching
the tier (workers), the article's measurements (run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .common import CACHE_DIR, folder_bytes, loadavg, log, worker


class CachedEmbedder:
    """The bundled MiniLM for `rag.index.build.build_index`, answering from precomputed vectors."""

    def __init__(self, table: dict[str, Any], fallback: Any) -> None:
        from rag.embedding.model import BUNDLED_NAME, bundled_model_dir, verify_bundled_weights

        self.name = BUNDLED_NAME
        self.dim = 384
        self.model_dir = bundled_model_dir()  # so the build exports the ONNX query encoder
        self.weights_sha256 = verify_bundled_weights(self.model_dir)
        self._table = table
        self._fallback = fallback
        self.misses = 0
        self.seconds = 0.0

    def embed_batch(self, texts: Sequence[str]) -> Any:
        import numpy as np

        started = time.perf_counter()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, text in enumerate(texts) if text not in self._table]
        for i, text in enumerate(texts):
            if text in self._table:
                out[i] = self._table[text]
        if missing:
            out[missing] = self._fallback.embed_batch([texts[i] for i in missing])
        self.misses += len(missing)
        self.seconds += time.perf_counter() - started
        return out


def tier_vectors(
    n: int, seed: int, mode: str, source: Path, encoder_dir: Path
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(text -> vector table, cache metadata, ONNX embedder), computing and caching if needed."""
    import numpy as np
    from synthetic_corpus import generate_corpus

    from rag.documents.passages import units_for
    from rag.documents.sources import load_documents
    from rag.embedding.onnx_encoder import OnnxQueryEmbedder

    onnx = OnnxQueryEmbedder.from_dir(
        encoder_dir, threads=os.cpu_count() or 1, name="sentence-transformers/all-MiniLM-L6-v2"
    )
    stem = CACHE_DIR / f"vectors-seed{seed}-n{n}-{mode}"
    meta_path, vectors_path = stem.with_suffix(".json"), stem.with_suffix(".npy")
    corpus = generate_corpus(n, seed)
    if meta_path.is_file() and vectors_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        vectors = np.load(vectors_path, allow_pickle=False)
        meta["cached"] = True
    else:
        if mode == "full":
            units = units_for(load_documents([source]))
            texts = list(dict.fromkeys(u.text for u in units))
        else:
            texts = [corpus.headline, *corpus.pool]
        started = time.perf_counter()
        vectors = onnx.embed_batch(texts)
        seconds = time.perf_counter() - started
        meta = {
            "texts": texts,
            "embed_seconds": round(seconds, 3),
            "embedded": len(texts),
            "texts_per_s": round(len(texts) / seconds, 1),
            "encoder": "onnx MiniLM-L6-v2",
            "created": dt.datetime.now().isoformat(timespec="seconds"),
            "load": loadavg(),
        }
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(vectors_path, vectors, allow_pickle=False)
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        meta["cached"] = False
    table = dict(zip(meta["texts"], vectors, strict=True))
    if mode == "pool":
        pool = vectors[1:]
        for text, ids in zip(corpus.paragraphs, corpus.composition, strict=True):
            mean = pool[list(ids)].mean(axis=0)
            table[text] = mean / np.linalg.norm(mean)
    del meta["texts"]
    return table, meta, onnx


def w_build(args: dict[str, Any]) -> dict[str, Any]:
    """Build a synthetic tier's index with cached vectors; time its parts."""
    import rag.index.build as rag_build
    from rag.config import Settings
    from rag.index.manifest import read_manifest

    source, n, seed, mode = Path(args["source"]), int(args["n"]), int(args["seed"]), args["mode"]
    table, meta, onnx = tier_vectors(n, seed, mode, source, Path(args["encoder_dir"]))
    embedder = CachedEmbedder(table, onnx)
    parts: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    rag_build.write_vectors = timed("faiss", rag_build.write_vectors)
    rag_build.build_bm25 = timed("bm25", rag_build.build_bm25)
    rag_build._export_query_encoder = timed("export", rag_build._export_query_encoder)
    rag_build.load_documents = timed("parse", rag_build.load_documents)
    overrides: dict[str, Any] = {
        "index_dir": Path(args["index_dir"]),
        "sources": (source,),
        "max_passages": 10**9,  # the tiers go past the product's limit on purpose
    }
    if args.get("ann_min_vectors"):
        overrides["ann_min_vectors"] = int(args["ann_min_vectors"])
    settings = Settings.load(overrides, env={})
    started = time.perf_counter()
    build = rag_build.build_index(settings, [source], embedder=embedder)
    total = time.perf_counter() - started
    manifest = read_manifest(build)
    return {
        "build_s": round(total, 3),
        "index_s": round(total - embedder.seconds, 3),  # everything but the embedding lookup
        "parts_s": {k: round(v, 3) for k, v in parts.items()},
        "lookup_s": round(embedder.seconds, 3),
        "embedded_at_build": embedder.misses,
        "embed": meta,
        "counts": dict(manifest.counts),
        "faiss": dict(manifest.faiss.details),
        "size_bytes": folder_bytes(build),
        "size_bytes_without_encoder": folder_bytes(build) - folder_bytes(build / "query_encoder"),
    }


def bench_tier(
    n: int,
    seed: int,
    work: Path,
    encoder_dir: Path,
    full_embed_max: int,
    rounds: int,
    ann_min_vectors: int | None,
    sweep: bool,
) -> dict[str, Any]:
    from synthetic_corpus import corpus_path, generate_corpus, write_corpus

    source = corpus_path(CACHE_DIR / "corpus", n, seed)
    if not source.is_file():
        write_corpus(generate_corpus(n, seed), source)
    mode = "full" if n <= full_embed_max else "pool"
    index_dir = work / f"tier-{n}"
    log(f"tier {n}: build ({mode} embeddings)")
    built, child = worker(
        "build",
        {
            "n": n,
            "seed": seed,
            "mode": mode,
            "source": str(source),
            "index_dir": str(index_dir),
            "encoder_dir": str(encoder_dir),
            "ann_min_vectors": ann_min_vectors,
        },
    )
    built["peak_mib"] = round(child.peak_mib, 1)
    built["wall_s"] = round(child.wall_s, 3)
    log(f"tier {n}: built {built['counts']} in {built['build_s']} s, faiss {built['faiss']}")
    served, child = worker("serve", {"index_dir": str(index_dir), "rounds": rounds})
    served["peak_mib"] = round(child.peak_mib, 1)
    log(f"tier {n}: query {served['total_ms']}, peak {served['peak_mib']} MiB")
    ann, _ = worker("ann", {"index_dir": str(index_dir), "sweep": sweep})
    log(f"tier {n}: ann {ann}")
    return {
        "paragraphs": n,
        "seed": seed,
        "embedding_mode": mode,
        "build": built,
        "serve": served,
        "ann": ann,
    }
