"""The approximate (HNSW) FAISS index: chosen from `ann_min_vectors` on, with recall recorded.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from rag.config import Settings
from rag.index.build import build_index
from rag.index.store import open_index
from rag.index.vectors import HNSW_RECALL_SAMPLE

from ..fakes import ROOT, FakeEmbedder


def _synthetic_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "synthetic_corpus", ROOT / "scripts" / "synthetic_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_corpus"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _build(tmp_path: Path, ann_min_vectors: int) -> tuple[Settings, dict[str, Any]]:
    synthetic = _synthetic_corpus()
    corpus = synthetic.generate_corpus(800, seed=3)
    source = synthetic.write_corpus(corpus, tmp_path / "synthetic.txt")
    settings = Settings.load(
        {"index_dir": tmp_path / "index", "sources": (source,), "ann_min_vectors": ann_min_vectors},
        env={},
    )
    build = build_index(settings, [source], embedder=FakeEmbedder())
    return settings, json.loads((build / "manifest.json").read_text())


def test_large_corpus_gets_hnsw_with_recorded_recall(tmp_path: Path) -> None:
    settings, manifest = _build(tmp_path, ann_min_vectors=1000)
    faiss_info = manifest["faiss"]
    assert manifest["counts"]["passages"] >= 2000
    assert faiss_info["type"] == "hnsw"
    assert faiss_info["recall_at_10"] >= 0.95
    assert faiss_info["recall_sample"] == HNSW_RECALL_SAMPLE
    assert faiss_info["ef_search"] >= 1

    index = open_index(settings)
    assert index._vectors.hnsw.efSearch == faiss_info["ef_search"]
    all_vectors = index.vectors(range(len(index.units)))
    questions = [u.text for u in index.units[::97]][:40]
    queries = FakeEmbedder().embed_batch([q + " Iraq talks" for q in questions])
    agree = []
    for query in queries:
        exact = np.sort(all_vectors @ query)[::-1][:10]
        scores, ids = index.dense_search(query, 10)
        assert len(ids) == 10
        agree.append(float(np.mean(scores >= exact[-1] - 1e-5)))
    assert np.mean(agree) >= 0.9


def test_small_corpus_stays_flat(tmp_path: Path) -> None:
    _, manifest = _build(tmp_path, ann_min_vectors=1_000_000)
    assert manifest["faiss"]["type"] == "flat"
    assert "recall_at_10" not in manifest["faiss"]
