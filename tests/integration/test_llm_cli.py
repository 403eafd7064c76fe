"""`rag ask` / `rag chat` with a GGUF model, end to end: the real CLI, index, llama.cpp.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.llm.resolve import resolve_model_path

from ..fakes import fake_model


def test_resolve_model_path_assembles_a_named_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_gguf: Path
) -> None:
    data = tiny_gguf.read_bytes()
    half = len(data) // 2
    fake_model(monkeypatch, tmp_path / "site-packages", parts=(data[:half], data[half:]))
    path = resolve_model_path("fake-2part", tmp_path / "models")
    assert path == tmp_path / "models" / "fake-2part.gguf" and path.read_bytes() == data
    monkeypatch.chdir(tmp_path)  # a file of that name in the current folder wins over the name
    (tmp_path / "fake-2part").write_bytes(data)
    assert resolve_model_path("fake-2part", tmp_path / "elsewhere") == Path("fake-2part")
