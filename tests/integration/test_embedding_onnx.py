"""The ONNX query encoder against the real bundled model: same vectors as sentence-transformers,
no torch in the query process, clear errors for broken folders, padding-independent batches.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import SEED_ARTICLES, Settings
from rag.documents.sources import read_document
from rag.embedding.model import bundled_model_dir
from rag.embedding.onnx_encoder import (
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxQueryEmbedder,
    edge_sha256,
    verify_full,
)
from rag.embedding.onnx_export import export_query_encoder
from rag.embedding.torch_encoder import SentenceTransformerEmbedder
from rag.errors import ModelError
from rag.index.build import build_index
from rag.index.store import open_index
from rag.pipeline import query_embedder

from ..fakes import QUESTIONS, THREADS, FakeEmbedder

# Every test here exports or loads the real MiniLM with torch (seconds each): the slow tier.
pytestmark = pytest.mark.slow

ARTICLE = SEED_ARTICLES / "000_5d857531382a8c3c.txt"


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder.from_setting("", threads=THREADS)


def article_texts() -> list[str]:
    document = read_document(ARTICLE)
    paragraphs = [p.text for p in document.paragraphs]
    sentences = [s.text for p in document.paragraphs for s in p.sentences]
    assert len(paragraphs) > 10 and len(sentences) >= len(paragraphs)
    whole = "\n\n".join(paragraphs)  # far beyond 256 tokens: truncation must match too
    return paragraphs + sentences + QUESTIONS + [whole]


def test_export_writes_described_files(encoder_dir: Path) -> None:
    config = json.loads((encoder_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["pooling"] == "mean" and config["normalize"] is True
    assert config["max_seq_length"] == 256 and config["dim"] == 384
    assert config["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    model = encoder_dir / MODEL_FILE
    assert config["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert config["model_size"] == model.stat().st_size
    tokenizer = (encoder_dir / TOKENIZER_FILE).read_bytes()
    assert config["tokenizer_sha256"] == hashlib.sha256(tokenizer).hexdigest()
    assert sorted(p.name for p in encoder_dir.iterdir()) == sorted(
        [MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE]
    )  # no temporary files left behind
    assert verify_full(encoder_dir) == config


def test_vectors_match_sentence_transformers(
    onnx_embedder: OnnxQueryEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    texts = article_texts()
    ours = onnx_embedder.embed_batch(texts)
    theirs = torch_embedder.embed_batch(texts)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384) == theirs.shape
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.9999, f"cosine {cosines.min():.6f} for {texts[worst][:80]!r}"
    # one query at a time, as `rag ask` does
    for question in QUESTIONS:
        single = onnx_embedder.embed_batch([question])[0]
        assert float(single @ torch_embedder.embed_batch([question])[0]) >= 0.9999


def _copy(encoder_dir: Path, target: Path, *, with_model: bool = True) -> Path:
    target.mkdir()
    for name in (CONFIG_FILE, TOKENIZER_FILE):
        shutil.copy(encoder_dir / name, target / name)
    if with_model:
        (target / MODEL_FILE).symlink_to(encoder_dir / MODEL_FILE)
    return target


def _assert_broken(folder: Path, fragment: str) -> str:
    with pytest.raises(ModelError) as caught:
        OnnxQueryEmbedder.from_dir(folder, threads=1, name="q")
    message = str(caught.value)
    assert "\n" not in message
    assert f"query encoder at {folder} is missing or broken" in message
    assert fragment in message
    return message


def test_truncated_model_is_refused(encoder_dir: Path, tmp_path: Path) -> None:
    folder = _copy(encoder_dir, tmp_path / "enc", with_model=False)
    data = (encoder_dir / MODEL_FILE).read_bytes()
    (folder / MODEL_FILE).write_bytes(data[: len(data) // 2])
    _assert_broken(folder, "bytes, expected")


def test_corrupted_model_is_refused(encoder_dir: Path, tmp_path: Path) -> None:
    folder = _copy(encoder_dir, tmp_path / "enc", with_model=False)
    data = bytearray((encoder_dir / MODEL_FILE).read_bytes())
    data[100:164] = bytes(64)  # the graph sits at the start of the file
    (folder / MODEL_FILE).write_bytes(bytes(data))
    _assert_broken(folder, "does not match its sha256")


def test_middle_corruption_is_caught_by_verify_full(encoder_dir: Path, tmp_path: Path) -> None:
    """Documented limit of the cheap load check: a damaged byte deep inside the weights loads,
    but the full check (kept for the manifest) sees it."""
    folder = _copy(encoder_dir, tmp_path / "enc", with_model=False)
    data = bytearray((encoder_dir / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / MODEL_FILE).write_bytes(bytes(data))
    OnnxQueryEmbedder.from_dir(folder, threads=1, name="q")
    with pytest.raises(ModelError, match="does not match its sha256"):
        verify_full(folder)


def test_unloadable_model_is_a_model_error(encoder_dir: Path, tmp_path: Path) -> None:
    folder = _copy(encoder_dir, tmp_path / "enc", with_model=False)
    model = folder / MODEL_FILE
    model.write_bytes(b"this is not an onnx model\n" * 1000)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    config.update(model_size=model.stat().st_size, model_edge_sha256=edge_sha256(model))
    (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    _assert_broken(folder, "onnxruntime cannot load model.onnx")


def test_missing_files_are_refused(encoder_dir: Path, tmp_path: Path) -> None:
    folder = _copy(encoder_dir, tmp_path / "enc")
    (folder / CONFIG_FILE).unlink()
    _assert_broken(folder, "no encoder.json")
    _assert_broken(tmp_path / "nowhere", "no encoder.json")
    folder = _copy(encoder_dir, tmp_path / "enc2")
    (folder / TOKENIZER_FILE).unlink()
    _assert_broken(folder, "no tokenizer.json")
    folder = _copy(encoder_dir, tmp_path / "enc3")
    (folder / CONFIG_FILE).write_text("{not json", encoding="utf-8")
    _assert_broken(folder, "encoder.json unreadable")


def test_batches_match_one_by_one(onnx_embedder: OnnxQueryEmbedder) -> None:
    texts = [*article_texts()[:40], "a", "", "x " * 600]  # > one chunk, empty, truncated
    batch = onnx_embedder.embed_batch(texts)
    for text, row in zip(texts, batch, strict=True):
        alone = onnx_embedder.embed_batch([text])[0]
        np.testing.assert_allclose(row, alone, atol=1e-5)
    assert onnx_embedder.embed_batch([]).shape == (0, 384)


def test_unsupported_layouts_are_refused_before_export(tmp_path: Path) -> None:
    source = bundled_model_dir()
    dense = tmp_path / "dense"
    shutil.copytree(source, dense, ignore=shutil.ignore_patterns("*.safetensors"))
    modules = json.loads((dense / "modules.json").read_text(encoding="utf-8"))
    modules.insert(
        2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}
    )
    (dense / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    with pytest.raises(ModelError, match=r"Dense.*not supported by the ONNX query encoder"):
        export_query_encoder(dense, tmp_path / "out", threads=1)

    max_pool = tmp_path / "max"
    shutil.copytree(source, max_pool, ignore=shutil.ignore_patterns("*.safetensors"))
    pooling = max_pool / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text(encoding="utf-8"))
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pooling.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelError, match="pooling max is not supported"):
        export_query_encoder(max_pool, tmp_path / "out2", threads=1)


class _BundledFakeEmbedder(FakeEmbedder):
    """The fake vectors, but the real model folder: its build exports the real encoder."""

    model_dir = bundled_model_dir()


def test_a_build_and_its_encoder_repair_leave_the_process_as_they_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A real export at build time and again to repair a broken encoder (through a new build,
    rag.index.build.repair_query_encoder): torch's and FAISS's thread counts are as before,
    sys.stdout is never swapped (not even while torch.onnx exports) and nothing is printed."""
    import faiss
    import torch

    stdout, export = sys.stdout, torch.onnx.export
    seen: list[object] = []

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(sys.stdout)
        return export(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", watched)
    threads = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(3)
    faiss.omp_set_num_threads(3)
    try:
        settings = Settings.load(
            {"index_dir": tmp_path / "index", "sources": (ARTICLE,), "threads": 1}, env={}
        )
        broken = build_index(settings, [ARTICLE], embedder=_BundledFakeEmbedder())
        with (broken / "query_encoder" / MODEL_FILE).open("r+b") as model:
            model.write(b"\0" * 4096)  # same size: the manifest passes it, loading does not
        notes: list[str] = []
        index, embedder = query_embedder(settings, open_index(settings), notes.append)
        assert (torch.get_num_threads(), faiss.omp_get_max_threads()) == (3, 3)
    finally:
        torch.set_num_threads(threads[0])
        faiss.omp_set_num_threads(threads[1])
    assert isinstance(embedder, OnnxQueryEmbedder), notes
    assert embedder.out_dir == index.root / "query_encoder" and not broken.exists()
    assert any("exporting it again" in n for n in notes)
    assert len(seen) == 2 and all(s is stdout for s in seen) and sys.stdout is stdout
    assert capfd.readouterr().out == ""
