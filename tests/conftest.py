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

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.logistic_reader import LogisticReader
from rag.config import SEED_ARTICLES
from rag.index.store import Index

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = SEED_ARTICLES / "000_5d857531382a8c3c.txt"  # the article that ships with rag
GOLD_CORPUS = ROOT / "tests" / "gold" / "corpus"
RAG = [sys.executable, "-m", "rag.cli"]


class FakeEmbedder:
    """Deterministic stand-in for the model: hashed word counts, L2-normalised."""

    name = "fake-hash-embedder"
    dim = 64
    weights_sha256 = "0" * 64

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.calls = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-build
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


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


def rag_index(index_dir: Path, *sources: Path) -> Path:
    """`index_dir` holding a real index of `sources`, built by the real `rag index` command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_INDEX_DIR"] = str(index_dir)
    done = subprocess.run(
        [*RAG, "index", *map(str, sources)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return index_dir


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


REAL_MODEL = "qwen2.5-coder-0.5b"


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


def with_model(settings, model):
    """A pipeline for `settings` (the index built and opened as `Pipeline.open` does) answering
    with an already loaded `model`."""
    from rag.pipeline import Pipeline

    opened = Pipeline.open(settings.replace(model=""), progress=lambda _: None)
    return Pipeline(settings, opened.index, opened.embedder, model)


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


def one_line_error(done: subprocess.CompletedProcess, code: int) -> str:
    """Assert the CLI failed as promised: exit `code`, no traceback, nothing on stdout, and one
    `error: …` line, the last one on stderr (progress lines may precede it). Returns it."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert [x for x in lines if x.startswith("error:")] == lines[-1:], done.stderr
    assert done.stdout == ""
    return str(lines[-1])


def child_environment(index_dir: Path | None = None) -> dict[str, str]:
    """This process's environment without RAG_* settings, but for RAG_INDEX_DIR=`index_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    if index_dir is not None:
        env["RAG_INDEX_DIR"] = str(index_dir)
    return env


def run_rag(
    *args: str,
    index_dir: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess."""
    full_env = child_environment(index_dir)
    full_env.update(env or {})
    return subprocess.run(
        [*RAG, *args],
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def extractive_answerer(
    index: Index, abstain_threshold: float | None = None, embedder: Any = None
) -> ExtractiveAnswerer:
    """The extractive answerer over `index` with the shipped logistic reader (as a pipeline
    makes it); `abstain_threshold` replaces the reader's own."""
    return ExtractiveAnswerer(index, LogisticReader.load(index, embedder), abstain_threshold)
