"""The index on disk, with a fake embedder: layout, no pickle, atomic swap, staleness, repair.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.config import SEED_ARTICLES, Settings
from rag.errors import IndexUnreadable, SourceError
from rag.index.bm25 import Bm25Index
from rag.index.build import build_index
from rag.index.ensure import ensure_index, sources_of, stale_reason
from rag.index.folder import current_path
from rag.index.manifest import FORMAT_VERSION, read_manifest
from rag.index.store import open_index
from rag.retrieval.retriever import Retriever
from rag.text.tokens import TOKENIZER_VERSION, tokenize

from ..fakes import ARTICLE, FakeEmbedder, extractive_answerer


def settings_for(tmp_path: Path) -> Settings:
    return Settings.load({"index_dir": tmp_path / "index", "sources": (ARTICLE,)}, env={})


def test_build_writes_plain_files_and_a_manifest(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    build = build_index(settings, [ARTICLE], embedder=FakeEmbedder())
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["format"] == FORMAT_VERSION
    assert manifest["model"] == {
        "name": "fake-hash-embedder",
        "setting": "",
        "weights_sha256": "0" * 64,
        "dim": 64,
    }
    assert manifest["sources"][0]["name"] == ARTICLE.stem
    assert manifest["counts"]["paragraphs"] == 24
    assert manifest["faiss"]["type"] == "flat"
    assert {"numpy", "faiss-cpu", "bm25s"} <= set(manifest["versions"])
    assert manifest["built_at"]
    files = {p.name for p in build.rglob("*")}
    assert not any(name.endswith((".pkl", ".pickle")) for name in files)
    for array in build.rglob("*.npy"):
        np.load(array, allow_pickle=False)  # would raise on pickled objects
    assert current_path(settings.index_dir).resolve() == build.resolve()


def test_the_manifest_reads_back_as_it_was_written(tmp_path: Path) -> None:
    build = build_index(settings_for(tmp_path), [ARTICLE], embedder=FakeEmbedder())
    on_disk = json.loads((build / "manifest.json").read_text())
    manifest = read_manifest(build)
    assert manifest.to_json() == on_disk and list(manifest.to_json()) == list(on_disk)
    assert manifest.faiss.type == "flat" and manifest.model.dim == 64
    assert manifest.tokenizer == TOKENIZER_VERSION
    assert set(manifest.files) >= {"vectors.faiss", "documents.json"}


def test_an_index_of_another_tokenizer_version_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.embedding.torch_encoder import SentenceTransformerEmbedder

    settings = settings_for(tmp_path)
    old = build_index(settings, [ARTICLE], embedder=FakeEmbedder())
    raw = json.loads((old / "manifest.json").read_text())
    raw["bm25"]["tokenizer"] = "rag tokenizer v1"  # built before the stemmer changed
    (old / "manifest.json").write_text(json.dumps(raw))
    assert stale_reason(settings) == "the tokenizer changed"
    monkeypatch.setattr(SentenceTransformerEmbedder, "from_setting", lambda *a, **k: FakeEmbedder())
    notes: list[str] = []
    index = ensure_index(settings, notes.append)
    assert notes[0] == "building the index (the tokenizer changed)…"
    assert index.root != old.resolve() and not old.exists()
    assert index.manifest.tokenizer == TOKENIZER_VERSION and stale_reason(settings) is None


def test_a_build_leaves_the_process_as_it_found_it(tmp_path: Path) -> None:
    """FAISS's thread count (OpenMP's, for this thread) and sys.stdout are the same after a
    build and a search as before."""
    import faiss

    stdout = sys.stdout
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(3)
    try:
        settings = settings_for(tmp_path).replace(threads=1)
        build_index(settings, [ARTICLE], embedder=FakeEmbedder())
        index = open_index(settings)
        index.dense_search(FakeEmbedder().embed_batch(["who nominated Al Sudani?"])[0], 5)
        assert faiss.omp_get_max_threads() == 3 and sys.stdout is stdout
    finally:
        faiss.omp_set_num_threads(before)


def test_interrupted_build_leaves_the_previous_index(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = build_index(settings, [ARTICLE], embedder=FakeEmbedder())
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, [ARTICLE], embedder=FakeEmbedder(fail_after=0))
    assert current_path(settings.index_dir).resolve() == first.resolve()
    assert open_index(settings).manifest.counts["paragraphs"] == 24
    assert not list((settings.index_dir / "builds").glob(".tmp-*"))


def test_the_bundled_article_is_found_in_whichever_install_opens_the_index(
    tmp_path: Path,
) -> None:
    """The per-user index is shared by every install: one built by another (since removed)
    install's copy of the bundled article stays fresh and rebuilds from this install's copy."""
    settings = settings_for(tmp_path)
    build = build_index(settings, [SEED_ARTICLES / ARTICLE.name], embedder=FakeEmbedder())
    manifest_file = build / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    assert manifest["sources"][0]["bundled"] == ARTICLE.name
    manifest["sources"][0]["path"] = "/gone/other-venv/rag/seeds/" + ARTICLE.name
    manifest_file.write_text(json.dumps(manifest))
    assert stale_reason(settings) is None
    assert sources_of(settings) == [SEED_ARTICLES / ARTICLE.name]
    manifest["sources"][0]["bundled"] = "../" + ARTICLE.name  # a name, never a path
    manifest_file.write_text(json.dumps(manifest))
    assert "is gone" in (stale_reason(settings) or "")


def test_a_source_outside_the_package_is_not_bundled(tmp_path: Path) -> None:
    source = tmp_path / ARTICLE.name
    shutil.copy(ARTICLE, source)
    build = build_index(settings_for(tmp_path), [source], embedder=FakeEmbedder())
    assert "bundled" not in json.loads((build / "manifest.json").read_text())["sources"][0]


def test_changed_source_makes_the_index_stale(tmp_path: Path) -> None:
    source = tmp_path / "story.txt"
    shutil.copy(ARTICLE, source)
    settings = settings_for(tmp_path)
    assert stale_reason(settings) == "no index yet"
    build_index(settings, [source], embedder=FakeEmbedder())
    assert stale_reason(settings) is None
    source.write_text(source.read_text(encoding="utf-8") + "\nA new paragraph.\n", encoding="utf-8")
    assert stale_reason(settings) == "source story.txt changed"
    source.unlink()
    assert "is gone" in (stale_reason(settings) or "")
    assert stale_reason(settings.replace(embedding_model="/other")) is not None


@pytest.mark.parametrize(
    "damage",
    ["manifest", "vectors", "bm25", "documents", "format", "no-model", "no-faiss", "bad-sources"],
)
def test_damaged_index_is_reported_unreadable(tmp_path: Path, damage: str) -> None:
    settings = settings_for(tmp_path)
    build = build_index(settings, [ARTICLE], embedder=FakeEmbedder())
    if damage == "manifest":
        (build / "manifest.json").write_text("{not json")
    elif damage == "vectors":
        (build / "vectors.faiss").write_bytes(b"garbage")
    elif damage == "bm25":
        (build / "bm25" / "indptr.csc.index.npy").unlink()
    elif damage == "documents":
        (build / "documents.json").write_text("[{}]")
    else:
        manifest = json.loads((build / "manifest.json").read_text())
        if damage == "format":
            manifest["format"] = "rag-index v0"
        elif damage == "no-model":
            del manifest["model"]
        elif damage == "no-faiss":
            del manifest["faiss"]
        else:
            manifest["sources"] = ["x"]
        (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexUnreadable):
        open_index(settings)
    if damage not in ("vectors", "bm25", "documents"):  # the manifest itself is bad
        assert stale_reason(settings) is not None


def test_missing_source_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        build_index(settings_for(tmp_path), [tmp_path / "missing.txt"], embedder=FakeEmbedder())


def test_several_documents_are_cited_by_name(tmp_path: Path) -> None:
    other = tmp_path / "weather.txt"
    other.write_text(
        "Storm hits the coast\n\nA storm with winds of 120 km/h hit the coast of "
        "Norfolk on Tuesday, closing 14 schools.\n",
        encoding="utf-8",
    )
    settings = settings_for(tmp_path)
    build_index(settings, [ARTICLE, other], embedder=FakeEmbedder())
    index = open_index(settings)
    assert index.multi_doc
    retrieval = Retriever(index, FakeEmbedder()).retrieve(
        "How many schools did the storm close?", 3
    )
    answer = extractive_answerer(index, abstain_threshold=0.0).answer(retrieval, "q", "q")
    assert "14 schools" in answer.text
    assert "[weather ¶2]" in answer.text
    assert answer.citations[0].doc == "weather"


def test_numpy_bm25_matches_bm25s(tmp_path: Path) -> None:
    import bm25s

    from rag.index.bm25 import build_bm25

    texts = [line for line in ARTICLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    build_bm25(texts, tmp_path)
    ours = Bm25Index.load(tmp_path)
    reference = bm25s.BM25.load(str(tmp_path))
    for question in ("who nominated Al Sudani", "US troops in Iraq", "zebra"):
        tokens = [t for t in tokenize(question) if t in ours.vocab]
        expected = reference.get_scores(tokens) if tokens else np.zeros(len(texts))
        np.testing.assert_allclose(ours.scores(question), expected, rtol=1e-5)


def test_run_on_sentences_are_quoted_in_part(tmp_path: Path) -> None:
    story = tmp_path / "long.txt"
    filler = " ".join(f"word{i}" for i in range(600))
    story.write_text(
        f"Headline\n\n{filler} the bridge opened on Friday {filler}\n", encoding="utf-8"
    )
    settings = settings_for(tmp_path)
    build_index(settings, [story], embedder=FakeEmbedder())
    index = open_index(settings)
    retrieval = Retriever(index, FakeEmbedder()).retrieve("When did the bridge open?", 3)
    answer = extractive_answerer(index, abstain_threshold=-10).answer(retrieval, "q", "q")
    citation = answer.citations[0]
    assert len(citation.quote) <= 400 and "bridge opened" in citation.quote
    assert citation.text[citation.start : citation.end] == citation.quote
    assert answer.short_answer == "Friday"  # the short answer leads, then the cut quote
    assert answer.text.startswith("Friday. …") and len(answer.text) < 430
