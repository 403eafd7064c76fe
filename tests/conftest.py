"""Shared fixtures.

- Every test runs with RAG_* variables cleared and RAG_INDEX_DIR in its own temp folder, so no
  test reads the developer's settings or writes the project's index/.
- `FakeEmbedder` (hashed bag of words) tests logic around the embedding model quickly.
- `article_index` is one real index of the article (real MiniLM, real FAISS, real ONNX export),
  built once per session; tests that need it are marked slow.
- `qwen_pipeline` answers with the real instruct model qwen2.5-coder-0.5b (rag.llm.catalogue),
loaded
  once per session over that index; tests that use it are slow, and skip only when the model's
  packages are not installed (CI installs them: scripts/setup --with-model).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from rag.embedding.model import bundled_model_dir
from rag.embedding.onnx_encoder import (
    OnnxQueryEmbedder,
)
from rag.embedding.onnx_export import export_query_encoder
from rag.index.store import Index

from .fakes import (
    ARTICLE,
    GOLD_CORPUS,
    REAL_MODEL,
    ROOT,
    STORY,
    THREADS,
    FakeEmbedder,
    make_index,
    rag_index,
    with_model,
)

# Written by scripts/setup in the venv it sets up: what it installed.
SETUP_RECORD = Path(sys.prefix) / "rag-setup.txt"


def fully_set_up() -> bool:
    """True when this venv was set up with the models and the browser (as CI does): then every
    component a test needs is meant to be here, and a skip means something is broken."""
    try:
        done = set(SETUP_RECORD.read_text(encoding="utf-8").split())
    except OSError:
        return False
    return {"packages", "models", "browser"} <= done


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and fully_set_up():
        why = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"{why}; but {SETUP_RECORD} says the models and the browser were set up, so "
            "something they need is broken"
        )


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "models"))  # not the user's cache
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # nor the user's data folder
    yield


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def article_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index of the article, built by the real `rag index` command once per session."""
    return rag_index(tmp_path_factory.mktemp("article-index"), ARTICLE)


@pytest.fixture(scope="session")
def gold_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index of the article and the gold set's own documents (tests/gold/corpus), built by
    the real `rag index` command once per session: what the gold cases are about."""
    return rag_index(tmp_path_factory.mktemp("gold-index"), ARTICLE, GOLD_CORPUS)


@pytest.fixture(scope="session")
def pipeline(article_index_dir: Path):
    from rag.config import Settings
    from rag.pipeline import Pipeline

    settings = Settings.load({"index_dir": article_index_dir}, env={})
    return Pipeline.open(settings, progress=lambda _: None)


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the real instruct model, assembled and verified once per session
    (its packages ship it in parts); skips when those packages are not installed."""
    pytest.importorskip("llama_cpp")
    from rag.llm import catalogue

    if catalogue.find_installed(REAL_MODEL) is None:
        packages = ", ".join(catalogue.CATALOGUE[REAL_MODEL].packages)
        pytest.skip(
            f"model {REAL_MODEL} is not installed (packages {packages}): "
            "run scripts/setup --with-model"
        )
    folder = tmp_path_factory.mktemp("models")
    catalogue.model_file(REAL_MODEL, folder)
    return folder


@pytest.fixture(scope="session")
def qwen_pipeline(article_index_dir: Path, real_model_dir: Path):
    """The whole pipeline answering with the real model, over the session's article index.

    The model is loaded here as the pipeline would load it
    (rag.answer.generative.GenerativeAnswerer.load), and owned by this fixture: the pipelines
    built on it (`with_model`) leave it open when they close.
    """
    from rag.config import Settings
    from rag.llm.resolve import resolve_model_path
    from rag.llm.runtime import LocalModel, context_size_for

    settings = Settings.load(
        {"model": REAL_MODEL, "index_dir": article_index_dir, "models_dir": real_model_dir},
        env={},
    )
    path = resolve_model_path(settings.model, settings.models_dir)
    model = LocalModel.load(
        path,
        threads=settings.threads,
        n_ctx=context_size_for(settings.prompt_token_budget, settings.max_answer_tokens),
        seed=settings.seed,
        name=REAL_MODEL,
    )
    yield with_model(settings, model)
    model.close()


@pytest.fixture(scope="session")
def tiny_script() -> ModuleType:
    """scripts/make_tiny_gguf.py, imported from its path (scripts/ is not a package)."""
    pytest.importorskip("gguf")
    spec = importlib.util.spec_from_file_location(
        "make_tiny_gguf", ROOT / "scripts" / "make_tiny_gguf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_gguf(tiny_script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight GGUF (llama architecture) built once per session."""
    pytest.importorskip("llama_cpp")
    built: Path = tiny_script.build_tiny_gguf(tmp_path_factory.mktemp("llm") / "tiny.gguf", seed=0)
    return built


@pytest.fixture
def benchmark(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The package scripts/benchmark (scripts/ itself is not a package)."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    return importlib.import_module("benchmark")


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return make_index(tmp_path, {"story": STORY})


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("query_encoder")
    export_query_encoder(bundled_model_dir(), out, threads=THREADS)
    return out


@pytest.fixture(scope="session")
def onnx_embedder(encoder_dir: Path) -> OnnxQueryEmbedder:
    return OnnxQueryEmbedder.from_dir(encoder_dir, threads=THREADS, name="minilm")
