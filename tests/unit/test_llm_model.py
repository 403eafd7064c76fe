"""rag.llm.runtime against real llama.cpp with a tiny random-weight GGUF
(scripts/make_tiny_gguf.py).

The model's output is gibberish; these tests check loading, templating, streaming, token
counting, context checks, the one-line errors and the lazy import, not answer quality.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import InputError, ModelError
from rag.llm.resolve import resolve_model_path
from rag.llm.runtime import LocalModel, context_size_for

from ..fakes import _assert_one_line


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelError) as info:
        resolve_model_path(str(missing))
    assert "missing" in _assert_one_line(info.value)
    with pytest.raises(ModelError, match="missing"):
        LocalModel.load(missing, threads=1, n_ctx=256, seed=0)


def test_text_file_renamed_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are not weights\n" * 10)
    with pytest.raises(ModelError) as info:
        resolve_model_path(str(fake))
    assert "not a GGUF file" in _assert_one_line(info.value)
    with pytest.raises(ModelError, match="not a GGUF file"):
        LocalModel.load(fake, threads=1, n_ctx=256, seed=0)


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a file"):
        resolve_model_path(str(tmp_path))


def test_hf_spec_without_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    constants = pytest.importorskip("huggingface_hub.constants")
    # huggingface_hub reads its environment at import; patch it in case it is already loaded.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    spec = "hf:nobody-here/no-such-repo-rag-test/none.Q4_K_M.gguf"
    with pytest.raises(ModelError) as info:
        resolve_model_path(spec)
    message = _assert_one_line(info.value)
    assert message.startswith(f"cannot download {spec}: no network (")
    assert message.endswith("download the file yourself and pass its path")


@pytest.mark.parametrize(
    "spec", ["hf:", "hf:owner", "hf:owner/repo", "hf:owner/repo/model.bin", "hf:o/r/../x.gguf", " "]
)
def test_malformed_specs_are_input_errors(spec: str) -> None:
    with pytest.raises(InputError):
        resolve_model_path(spec)


def test_context_size_for() -> None:
    assert context_size_for(768, 192) == 1280  # 768 + 192 + 256 = 1216, rounded up
    assert context_size_for(512, 128, overhead=128) == 768
    assert context_size_for(1, 1, overhead=0) == 256
    assert all(context_size_for(b, 100) % 256 == 0 for b in range(1, 2000, 37))
    with pytest.raises(InputError):
        context_size_for(0, 100)
