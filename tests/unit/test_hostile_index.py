"""Hostile index folders (issue 11, data loss): rag never deletes or overwrites what is not its.

Each case failed before rag.index.folder: cleanup removed every folder under builds/ and a real
folder at `current`, a `.lock` symlink had its target truncated, and a build whose ONNX export
failed (disk full) replaced a complete index. Builds use the fake embedder (fast); the CLI case
runs the real `rag index`, which refuses before loading any model.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import IndexUnreadable, ModelError, SourceError
from rag.index.build import build_index, repair_query_encoder
from rag.index.files import record_files
from rag.index.folder import MARKER, current_path
from rag.index.manifest import read_manifest
from rag.index.store import open_index
from rag.pipeline import query_embedder

from ..fakes import ARTICLE, FakeEmbedder


def settings_for(index_dir: Path) -> Settings:
    return Settings.load({"index_dir": index_dir, "sources": (ARTICLE,)}, env={})


def build(index_dir: Path, embedder: Any = None) -> Path:
    return build_index(settings_for(index_dir), [ARTICLE], embedder=embedder or FakeEmbedder())


def test_a_build_refuses_folders_in_builds_it_did_not_make(tmp_path: Path) -> None:
    index_dir = tmp_path / "p"
    release = index_dir / "builds" / "release-1.0"
    release.mkdir(parents=True)
    (release / "notes.txt").write_text("keep me")
    with pytest.raises(IndexUnreadable, match=r"release-1\.0, not made by rag"):
        build(index_dir)
    assert (release / "notes.txt").read_text() == "keep me"


def test_a_real_folder_or_file_at_current_is_refused_and_kept(tmp_path: Path) -> None:
    index_dir = tmp_path / "p"
    (index_dir / "current").mkdir(parents=True)
    (index_dir / "current" / "data.bin").write_text("mine")
    with pytest.raises(IndexUnreadable, match="'current' is a folder rag did not make"):
        build(index_dir)
    assert (index_dir / "current" / "data.bin").read_text() == "mine"

    other = tmp_path / "q"
    other.mkdir()
    (other / "current").write_text("a file")
    with pytest.raises(IndexUnreadable, match="'current' is a file"):
        build(other)
    assert (other / "current").read_text() == "a file"
    assert not (other / "builds").exists() or not any((other / "builds").iterdir())


def test_builds_as_a_symlink_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "photos").mkdir(parents=True)
    index_dir = tmp_path / "p"
    index_dir.mkdir()
    (index_dir / "builds").symlink_to(elsewhere)
    with pytest.raises(IndexUnreadable, match="'builds' is not a folder of its own"):
        build(index_dir)
    assert (elsewhere / "photos").is_dir()


def test_a_lock_symlink_is_not_followed_and_its_target_not_truncated(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    index_dir = tmp_path / "p"
    index_dir.mkdir()
    (index_dir / ".lock").symlink_to(victim)
    with pytest.raises(IndexUnreadable, match="is a symlink; refusing"):
        build(index_dir)
    assert victim.read_text() == "precious"

    (index_dir / ".lock").unlink()
    (index_dir / ".lock").mkdir()
    with pytest.raises(IndexUnreadable, match="is a folder"):
        build(index_dir)


def test_the_lock_file_is_not_truncated(tmp_path: Path) -> None:
    index_dir = tmp_path / "p"
    index_dir.mkdir()
    (index_dir / ".lock").write_text("pid 123")
    build(index_dir)
    assert (index_dir / ".lock").read_text() == "pid 123"


def test_old_builds_of_ours_are_cleaned_up_and_marked(tmp_path: Path) -> None:
    index_dir = tmp_path / "p"
    first = build(index_dir)
    assert (first / MARKER).is_file()
    (first / MARKER).unlink()  # a build from before the marker: its manifest says it is ours
    second = build(index_dir)
    assert not first.exists() and second.is_dir()
    assert [p.name for p in (index_dir / "builds").iterdir()] == [second.name]


class _ExportingEmbedder(FakeEmbedder):
    model_dir = Path("/nonexistent-model")


def test_a_failed_encoder_export_never_replaces_a_complete_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.embedding.onnx_export

    def exported(model_dir: Path, out_dir: Path, *, threads: int) -> dict[str, Any]:
        out_dir.mkdir(parents=True)
        (out_dir / "encoder.json").write_text("{}")
        return {"file": "model.onnx"}

    def disk_full(model_dir: Path, out_dir: Path, *, threads: int) -> dict[str, Any]:
        raise OSError(28, "No space left on device")

    index_dir = tmp_path / "p"
    monkeypatch.setattr(rag.embedding.onnx_export, "export_query_encoder", exported)
    complete = build(index_dir, _ExportingEmbedder())
    monkeypatch.setattr(rag.embedding.onnx_export, "export_query_encoder", disk_full)
    with pytest.raises(IndexUnreadable, match=r"No space left on device.*current index is kept"):
        build(index_dir, _ExportingEmbedder())
    assert current_path(index_dir).resolve() == complete.resolve()
    assert [p.name for p in (index_dir / "builds").iterdir()] == [complete.name]
    # With no complete index to keep, a build without the fast encoder is better than none.
    fresh = tmp_path / "fresh"
    notes: list[str] = []
    build_index(
        settings_for(fresh), [ARTICLE], embedder=_ExportingEmbedder(), progress=notes.append
    )
    assert any("No space left on device" in n and "onnxscript" not in n for n in notes)
    assert open_index(settings_for(fresh)).manifest.query_encoder is None


def _fake_export(index_dir: Path, calls: list[Path]) -> Any:
    """An export that writes a small encoder and checks that the build lock is held."""

    def exported(model_dir: Path, out_dir: Path, *, threads: int) -> dict[str, Any]:
        with (index_dir / ".lock").open("rb") as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by the repair
        calls.append(out_dir)
        out_dir.mkdir(parents=True)
        (out_dir / "model.onnx").write_bytes(b"exported %d" % len(calls))
        return {"export": len(calls)}

    return exported


def _built_with_fake_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[Path]
) -> tuple[Path, Path]:
    """(index folder, its build), built with `_fake_export` standing in for the real export."""
    import rag.embedding.onnx_export

    index_dir = tmp_path / "p"
    monkeypatch.setattr(
        rag.embedding.onnx_export, "export_query_encoder", _fake_export(index_dir, calls)
    )
    return index_dir, build(index_dir, _ExportingEmbedder())


def test_a_broken_encoder_is_exported_again_into_a_new_build_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    index_dir, broken = _built_with_fake_export(tmp_path, monkeypatch, calls)
    before = read_manifest(broken)
    repaired = repair_query_encoder(settings_for(index_dir), broken)
    assert current_path(index_dir).resolve() == repaired.resolve() != broken.resolve()
    assert not broken.exists() and calls[-1].parent.name.startswith(".tmp-")
    index = open_index(settings_for(index_dir))  # every file matches the new manifest
    assert index.manifest.query_encoder == {"export": 2}
    assert (repaired / "query_encoder" / "model.onnx").read_bytes() == b"exported 2"
    unchanged = {k: v for k, v in before.files.items() if not k.startswith("query_encoder/")}
    assert {k: index.manifest.files[k] for k in unchanged} == unchanged
    assert index.manifest.built_at == before.built_at  # the same build, its encoder renewed
    # A build another process swapped in meanwhile is left as it is.
    assert repair_query_encoder(settings_for(index_dir), broken) == repaired.resolve()
    assert len(calls) == 2


def test_a_failed_repair_keeps_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.embedding.onnx_export

    index_dir, broken = _built_with_fake_export(tmp_path, monkeypatch, [])

    def fails(model_dir: Path, out_dir: Path, *, threads: int) -> dict[str, Any]:
        raise ModelError("cannot export this model")

    monkeypatch.setattr(rag.embedding.onnx_export, "export_query_encoder", fails)
    with pytest.raises(ModelError):
        repair_query_encoder(settings_for(index_dir), broken)
    assert current_path(index_dir).resolve() == broken.resolve()
    assert [p.name for p in (index_dir / "builds").iterdir()] == [broken.name]


def test_the_pipeline_repairs_a_broken_encoder_and_uses_the_new_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.embedding.onnx_encoder

    index_dir, broken = _built_with_fake_export(tmp_path, monkeypatch, [])
    loaded: list[Path] = []

    def from_dir(folder: Path, *, threads: int, name: str) -> Any:
        loaded.append(folder)
        if folder.parent == broken:
            raise ModelError(f"query encoder at {folder} is missing or broken: test")
        return FakeEmbedder()

    monkeypatch.setattr(rag.embedding.onnx_encoder.OnnxQueryEmbedder, "from_dir", from_dir)
    notes: list[str] = []
    settings = settings_for(index_dir)
    index, embedder = query_embedder(settings, open_index(settings), notes.append)
    assert isinstance(embedder, FakeEmbedder) and index.root == current_path(index_dir).resolve()
    assert loaded == [broken / "query_encoder", index.root / "query_encoder"]
    assert "exporting it again" in notes[0] and not broken.exists()


def rehash(build_dir: Path) -> None:
    """Record the files as they are now, as a corruption that also rewrote the manifest would:
    what is left to catch it is the check of the contents themselves."""
    dataclasses.replace(read_manifest(build_dir), files=record_files(build_dir)).write(build_dir)


def test_well_formed_but_changed_vectors_are_caught_by_their_hash(tmp_path: Path) -> None:
    import faiss

    index_dir = tmp_path / "p"
    built = build(index_dir)
    original = faiss.read_index(str(built / "vectors.faiss"))
    random = faiss.IndexFlatIP(original.d)
    vectors = np.random.default_rng(0).normal(size=(original.ntotal, original.d))
    random.add(vectors.astype("float32"))
    faiss.write_index(random, str(built / "vectors.faiss"))
    with pytest.raises(IndexUnreadable, match=r"vectors\.faiss changed since its build"):
        open_index(settings_for(index_dir))


def _npy_claiming(count: int) -> bytes:
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({count},), }}"
    header = header.ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


@pytest.mark.parametrize(
    "damage",
    [
        "zero-byte npy",
        "npy claiming 10^11 elements",
        "row ids out of range",
        "2-D array",
        "non-integer vocabulary ids",
        "paragraph 999",
        "sentence offsets outside the text",
    ],
)
def test_damaged_contents_are_unreadable_even_with_matching_hashes(
    tmp_path: Path, damage: str
) -> None:
    index_dir = tmp_path / "p"
    built = build(index_dir)
    bm25 = built / "bm25"
    if damage == "zero-byte npy":
        (bm25 / "data.csc.index.npy").write_bytes(b"")
    elif damage == "npy claiming 10^11 elements":
        (bm25 / "data.csc.index.npy").write_bytes(_npy_claiming(10**11))
    elif damage == "row ids out of range":
        indices = np.load(bm25 / "indices.csc.index.npy")
        np.save(bm25 / "indices.csc.index.npy", indices + 10_000)
    elif damage == "2-D array":
        data = np.load(bm25 / "data.csc.index.npy")
        np.save(bm25 / "data.csc.index.npy", data.reshape(1, -1))
    elif damage == "non-integer vocabulary ids":
        vocab = json.loads((bm25 / "vocab.index.json").read_text())
        (bm25 / "vocab.index.json").write_text(json.dumps({k: str(v) for k, v in vocab.items()}))
    else:
        documents = json.loads((built / "documents.json").read_text())
        paragraph = documents[0]["paragraphs"][3]
        if damage == "paragraph 999":
            paragraph["number"] = 999
        else:
            paragraph["sentences"][0] = [0, 10**6]
        (built / "documents.json").write_text(json.dumps(documents))
    rehash(built)
    with pytest.raises(IndexUnreadable):
        open_index(settings_for(index_dir))


@pytest.mark.parametrize("damage", ["hnsw on a flat index", "deeply nested"])
def test_a_damaged_manifest_is_unreadable(tmp_path: Path, damage: str) -> None:
    index_dir = tmp_path / "p"
    built = build(index_dir)
    manifest_path = built / "manifest.json"
    if damage == "hnsw on a flat index":
        manifest = json.loads(manifest_path.read_text())
        manifest["faiss"] = {**manifest["faiss"], "type": "hnsw", "ef_search": 64}
        manifest_path.write_text(json.dumps(manifest))
    else:
        manifest_path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(IndexUnreadable):
        open_index(settings_for(index_dir))


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("Error in faiss::FileIOWriter: No space left on device"),
        OSError(28, "No space left on device"),
    ],
)
def test_a_full_disk_during_a_build_is_one_error_and_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    import rag.index.build

    index_dir = tmp_path / "p"
    complete = build(index_dir)

    def full(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(rag.index.build, "build_bm25", full)
    with pytest.raises(IndexUnreadable, match=r"No space left on device.*current index"):
        build(index_dir)
    assert current_path(index_dir).resolve() == complete.resolve()
    assert [p.name for p in (index_dir / "builds").iterdir()] == [complete.name]


def test_an_unwritable_builds_folder_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.index.build

    def read_only(folder: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rag.index.build, "mark", read_only)
    with pytest.raises(IndexUnreadable, match=r"cannot build the index in .*Permission denied"):
        build(tmp_path / "p")
    assert not list((tmp_path / "p" / "builds").iterdir())  # the unfinished build is removed


def test_a_source_whose_name_is_not_utf8_is_refused_before_embedding(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    source = tmp_path / name
    source.write_text("Headline\n\nThe bridge opened on Monday.\n", encoding="utf-8")
    settings = Settings.load({"index_dir": tmp_path / "p"}, env={})
    with pytest.raises(SourceError, match="not valid UTF-8; rename it"):
        build_index(settings, [source], embedder=FakeEmbedder(fail_after=0))


def test_an_indexed_source_made_unreadable_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.index.ensure import stale_reason

    source = tmp_path / "story.txt"
    source.write_text("Headline\n\nThe bridge opened on Monday.\n", encoding="utf-8")
    settings = Settings.load({"index_dir": tmp_path / "p", "sources": (source,)}, env={})
    build_index(settings, [source], embedder=FakeEmbedder())
    real_read = Path.read_bytes

    def unreadable(self: Path) -> bytes:
        if self == source:
            raise PermissionError(13, "Permission denied")  # chmod 000 (root ignores it)
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    with pytest.raises(SourceError, match="indexed source cannot be read"):
        stale_reason(settings)


def test_a_symlink_loop_as_source_is_one_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    settings = Settings.load({"index_dir": tmp_path / "p"}, env={})
    with pytest.raises(SourceError, match="cannot be followed"):
        build_index(settings, [loop], embedder=FakeEmbedder(fail_after=0))
