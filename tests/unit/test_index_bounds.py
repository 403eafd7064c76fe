"""Bounded builds (issue 20, item 9): a clear limit on passages, and embedding that says its rate.

Before: indexing one 4 MB file (97,860 passages) ran past 150 s with no output at all.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.embedding import batched
from rag.embedding.batched import embed_in_batches
from rag.errors import InputError, SourceError
from rag.index import build
from rag.index.build import build_index
from rag.index.folder import current_path
from rag.index.manifest import read_manifest

from ..fakes import ARTICLE, FakeEmbedder


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    values = {"index_dir": tmp_path / "index", "sources": (ARTICLE,), **changes}
    return Settings.load(values, env={})


def test_sources_over_the_passage_limit_are_refused_before_embedding(tmp_path: Path) -> None:
    first = build_index(settings_for(tmp_path), [ARTICLE], embedder=FakeEmbedder())
    before = read_manifest(first)
    embedder = FakeEmbedder()
    with pytest.raises(SourceError) as info:
        build_index(settings_for(tmp_path, max_passages=10), [ARTICLE], embedder=embedder)
    message = str(info.value)
    assert message.startswith("the sources make 32 passages, more than the 10 one index may hold")
    assert "\n" not in message and "RAG_MAX_PASSAGES" in message
    assert embedder.calls == 0  # nothing was embedded
    assert current_path(tmp_path / "index").resolve() == first.resolve()  # the index is kept
    assert read_manifest(first) == before
    assert sorted(p.name for p in (tmp_path / "index" / "builds").iterdir()) == [first.name]
    # At the limit exactly, the build goes ahead.
    build_index(settings_for(tmp_path, max_passages=32), [ARTICLE], embedder=FakeEmbedder())


def test_the_limit_is_a_validated_setting() -> None:
    assert Settings.load(env={}).max_passages == 10_000
    assert Settings.load(env={"RAG_MAX_PASSAGES": "200"}).max_passages == 200
    for bad in ("0", "-5"):
        with pytest.raises(InputError, match="max_passages must be at least 1"):
            Settings.load(env={"RAG_MAX_PASSAGES": bad})
    with pytest.raises(InputError, match="RAG_MAX_PASSAGES='many' is not a valid int"):
        Settings.load(env={"RAG_MAX_PASSAGES": "many"})


class Clock:
    """A clock that `SlowEmbedder` moves on `step` seconds per batch."""

    def __init__(self, step: float) -> None:
        self.now = 100.0
        self.step = step

    def __call__(self) -> float:
        return self.now


class SlowEmbedder(FakeEmbedder):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.sizes: list[int] = []

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.clock.now += self.clock.step
        self.sizes.append(len(texts))
        return super().embed_batch(texts)


def test_embedding_in_batches_reports_done_and_rate_every_few_seconds() -> None:
    texts = [f"passage number {i} about the harbour" for i in range(1000)]
    clock = Clock(step=2.0)  # each batch of 100 takes 2 s: 50 passages/s
    embedder = SlowEmbedder(clock)
    said: list[str] = []
    rows = embed_in_batches(embedder, texts, said.append, batch=100, every=5.0, clock=clock)
    assert embedder.sizes == [100] * 10
    np.testing.assert_array_equal(rows, FakeEmbedder().embed_batch(texts))  # same rows, in order
    assert said == [
        "embedding 300/1,000 passages, 50/s",  # at 6 s, then every 5 s or more since the last
        "embedding 600/1,000 passages, 50/s",
        "embedding 900/1,000 passages, 50/s",
        "embedded 1,000 passages in 20 s, 50/s",
    ]


def test_quick_embedding_says_nothing() -> None:
    texts = [f"passage {i}" for i in range(1000)]
    said: list[str] = []
    clock = Clock(step=0.1)
    embed_in_batches(SlowEmbedder(clock), texts, said.append, batch=100, every=5.0, clock=clock)
    assert said == []
    few = SlowEmbedder(Clock(step=60.0))  # one batch: one call, however long it takes
    embed_in_batches(few, texts[:50], said.append, batch=100, every=5.0, clock=few.clock)
    assert few.sizes == [50] and said == []
    assert batched.BATCH >= 32  # the bundled article (32 passages) is embedded in one call


def test_a_build_reports_its_embedding_through_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 8 reported after each one: the build's own progress carries the lines.
    monkeypatch.setattr(
        build, "embed_in_batches", functools.partial(embed_in_batches, batch=8, every=0.0)
    )
    said: list[str] = []
    build_index(settings_for(tmp_path), [ARTICLE], embedder=FakeEmbedder(), progress=said.append)
    embedding = [line for line in said if line.startswith("embedd")]
    assert [line.split(",")[0] for line in embedding] == [
        "embedding 8/32 passages",
        "embedding 16/32 passages",
        "embedding 24/32 passages",
        "embedded 32 passages in 0 s",
    ]
    assert said.index(embedding[0]) > said.index(next(s for s in said if s.startswith("indexing")))
