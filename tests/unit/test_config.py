"""Settings: defaults, RAG_* environment variables, then explicit overrides.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

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
    [
        {"RAG_RRF_K": "0"},
        {"RAG_ABSTAIN_THRESHOLD": "nan"},
        {"RAG_TEMPERATURE": "-1"},
        {"RAG_PROMPT_TOKEN_BUDGET": "0"},
        {"RAG_MAX_ANSWER_TOKENS": "0"},
    ],
)
def test_out_of_range_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(InputError):
        Settings.load(env=env)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("Off", False),
    ],
)
def test_bool_settings_parse_from_the_environment(raw: str, value: bool) -> None:
    assert Settings().model_may_abstain is None  # the model's own (rag.llm.catalogue)
    assert Settings.load(env={"RAG_MODEL_MAY_ABSTAIN": raw}).model_may_abstain is value


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_a_bad_bool_is_an_input_error(raw: str) -> None:
    with pytest.raises(InputError, match="RAG_MODEL_MAY_ABSTAIN"):
        Settings.load(env={"RAG_MODEL_MAY_ABSTAIN": raw})


def test_models_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert Settings.load(env={}).models_dir == tmp_path / "cache" / "rag" / "models"
    assert Settings.load(env={"RAG_MODELS_DIR": "~/m"}).models_dir == Path.home() / "m"
    assert Settings.load({"models_dir": "/x"}, env={}).models_dir == Path("/x")


def test_settings_are_validated_however_they_are_made() -> None:
    from rag.errors import InputError

    for bad in ({"k": 0}, {"k": "3"}, {"query_encoder": "gpu"}, {"temperature": "hot"}):
        with pytest.raises(InputError):
            Settings(**bad)
    with pytest.raises(InputError, match="on_model_error must be 'error' or 'extractive'"):
        Settings(on_model_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"RAG_K='three' is not a valid int"):
        Settings.load({}, env={"RAG_K": "three"})
    assert Settings.load({}, env={"RAG_MODEL_MAY_ABSTAIN": "yes"}).model_may_abstain is True


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("ABSTAIN_THRESHOLD", "inf", "abstain_threshold must be between 0 and 1"),
        ("ABSTAIN_THRESHOLD", "-0.1", "abstain_threshold must be between 0 and 1"),
        ("SUPPORT_THRESHOLD", "1.5", "support_threshold must be between 0 and 1"),
        ("MAX_SOURCE_MB", "-1", "max_source_mb must be at least 1"),
    ],
)
def test_settings_out_of_their_range_are_refused(name: str, raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Settings.load({}, env={f"RAG_{name}": raw})
