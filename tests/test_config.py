"""Settings: defaults, RAG_* environment variables, then explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import InputError


def test_environment_then_overrides() -> None:
    env = {
        "RAG_K": "5",
        "RAG_INDEX_DIR": "/tmp/x",
        "RAG_ABSTAIN_THRESHOLD": "0.5",
        "RAG_SOURCES": "/a.txt:/b.md",
        "RAG_MODEL": "m.gguf",
    }
    settings = Settings.load(env=env)
    assert settings.k == 5 and settings.index_dir == Path("/tmp/x")
    assert settings.abstain_threshold == 0.5 and settings.model == "m.gguf"
    assert settings.sources == (Path("/a.txt"), Path("/b.md"))
    assert Settings.load({"k": 2, "model": None}, env=env).k == 2
    assert Settings.load({"model": None}, env=env).model == "m.gguf"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_K": "three"}, "RAG_K"),
        ({"RAG_THREADS": "0"}, "threads"),
        ({"RAG_QUERY_ENCODER": "gpu"}, "query_encoder"),
    ],
)
def test_bad_values_are_input_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Settings.load(env=env)


@pytest.mark.parametrize(
    "env",
    [{"RAG_RRF_K": "0"}, {"RAG_ABSTAIN_THRESHOLD": "nan"}, {"RAG_TEMPERATURE": "-1"},
     {"RAG_PROMPT_TOKEN_BUDGET": "0"}, {"RAG_MAX_ANSWER_TOKENS": "0"}],
)
def test_out_of_range_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(InputError):
        Settings.load(env=env)
