"""Building the index: parse the sources, embed their passages, write vectors, BM25, documents,
the ONNX query encoder and the manifest into a fresh folder, then make it the current index.

Sources that make more than `max_passages` passages are refused before anything is embedded (a
clear limit on how long a build can run), and the embedding, made in batches, reports its rate.
A build writes a fresh `builds/.tmp-*` folder under the build lock, fsyncs it, and only then
repoints `current`, so an interrupted build leaves the previous index untouched; a build that
cannot export the query encoder never replaces an index that has one. With `unless_fresh`, a
build that another process finished while this one waited for the lock is used as it is; with
`based_on`, a build whose current index was replaced while it waited (another process indexed
meanwhile) stops with `IndexChanged`, so that a change worked out from the replaced build's
sources is worked out again (rag.index.library).
`repair_query_encoder` is the same kind of build for an index whose query encoder does not load:
the current build's other files with the encoder exported again, under the lock, swapped in
whole, so no process ever sees an encoder its manifest does not describe. Not here: opening the
index (rag.index.store) or deciding it is stale (rag.index.staleness), the FAISS file
(rag.index.vectors), BM25 (rag.index.bm25), the folder's lock, swap and cleanup
(rag.index.folder).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings, is_url
from rag.documents.passages import units_for
from rag.documents.sources import load_documents
from rag.embedding.batched import embed_in_batches
from rag.errors import IndexUnreadable, ModelError, RagError, SourceError, one_line
from rag.index.bm25 import build_bm25
from rag.index.documents import document_to_json
from rag.index.files import record_files
from rag.index.folder import (
    FETCHED,
    UPLOADS,
    build_lock,
    check_ours,
    current_build,
    current_path,
    fsync_tree,
    mark,
    remove_leftovers,
    remove_old_builds,
    swap_current,
)
from rag.index.manifest import new_manifest, read_manifest
from rag.index.staleness import stale_reason
from rag.index.store import open_index
from rag.index.vectors import write_vectors
from rag.progress import Bar, Progress, no_progress

ENCODER_DIR = "query_encoder"


class IndexChanged(RagError):
    """The current build is no longer the one a build was based on (another process swapped
    in its own while this one waited for the lock); nothing was written."""

    exit_code = 4


def build_index(
    settings: Settings,
    sources: Sequence[Path | str],
    *,
    progress: Progress = no_progress,
    embedder: Any = None,
    unless_fresh: bool = False,
    bar: Bar | None = None,
    based_on: Path | None = None,
) -> Path:
    """Parse, embed and index `sources`; atomically make the result the current index.

    Sources that make more than `settings.max_passages` passages are refused (`SourceError`)
    before anything is embedded; the embedding reports its rate through `progress` when it is
    slow enough to be noticed (rag.embedding.batched).

    With `unless_fresh`, a build that another process finished while this one waited for the
    lock is used as it is (two `rag ask` on a fresh machine build once). With `based_on` (a
    build folder, `current_build`), IndexChanged is raised, before anything is written, when
    the current build is another one by the time the lock is held.
    """
    started = time.perf_counter()
    max_bytes = settings.max_source_mb * 2**20
    local = [_local(s, settings, progress) for s in sources]
    kept = [settings.index_dir / UPLOADS, settings.index_dir / FETCHED]  # rag's own copies
    documents = load_documents(local, max_bytes, bar, kept, settings.max_upload_mb * 2**20)
    units = units_for(documents)
    if len(units) > settings.max_passages:  # before any embedding: the current index is kept
        raise SourceError(
            f"the sources make {len(units):,} passages, more than the {settings.max_passages:,} "
            "one index may hold (embedding them would take too long); index fewer or smaller "
            "files, or raise RAG_MAX_PASSAGES"
        )
    _make_builds_folder(settings)
    with build_lock(settings.index_dir):
        check_ours(settings.index_dir)
        if based_on is not None and current_build(settings.index_dir) != based_on:
            raise IndexChanged(f"the index in {settings.index_dir} changed while this build waited")
        if unless_fresh and stale_reason(settings) is None:
            with contextlib.suppress(IndexUnreadable):
                open_index(settings)
                return current_path(settings.index_dir).resolve()
        progress(
            f"indexing {len(documents)} document(s): {sum(len(d.paragraphs) for d in documents)}"
            f" paragraphs, {len(units)} passages"
        )
        if embedder is None:
            from rag.embedding.torch_encoder import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder.from_setting(
                settings.embedding_model, threads=settings.threads
            )

        def fill(tmp: Path) -> None:
            vectors = embed_in_batches(embedder, [u.search_text for u in units], progress)
            faiss_info = write_vectors(
                vectors,
                tmp / "vectors.faiss",
                threads=settings.threads,
                ann_min_vectors=settings.ann_min_vectors,
            )
            (tmp / "bm25").mkdir()
            build_bm25([u.search_text for u in units], tmp / "bm25")
            (tmp / "documents.json").write_text(
                json.dumps([document_to_json(d) for d in documents], ensure_ascii=False),
                encoding="utf-8",
            )
            encoder = _export_query_encoder(embedder, tmp / ENCODER_DIR, settings, progress)
            manifest = new_manifest(settings, embedder, documents, units, faiss_info, encoder)
            dataclasses.replace(
                manifest,
                build_seconds=round(time.perf_counter() - started, 3),
                files=record_files(tmp),
            ).write(tmp)

        final = _write_build(settings, fill)
    progress(f"index ready in {time.perf_counter() - started:.1f} s ({settings.index_dir})")
    return final


def repair_query_encoder(
    settings: Settings, broken: Path, progress: Progress = no_progress
) -> Path:
    """Make current a copy of the build `broken` with its query encoder exported again.

    Under the build lock; when another process has replaced `broken` meanwhile, its build is
    left as it is and returned. The copied files keep the sizes and hashes recorded at their
    build (they are not hashed again, so damage they have is still caught on open); only the
    new encoder's files are recorded anew. Raises ModelError when the export fails, and
    IndexUnreadable when the folder cannot be written; either way the current index is kept.
    """
    from rag.embedding.model import resolve_model_dir
    from rag.embedding.onnx_export import export_query_encoder

    _make_builds_folder(settings)
    with build_lock(settings.index_dir):
        check_ours(settings.index_dir)
        current = current_path(settings.index_dir).resolve()
        if current != broken.resolve():
            return current
        manifest = read_manifest(current)
        model_dir, _ = resolve_model_dir(settings.embedding_model)
        kept = {k: v for k, v in manifest.files.items() if not k.startswith(f"{ENCODER_DIR}/")}

        def fill(tmp: Path) -> None:
            for relative in kept:
                (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(current / relative, tmp / relative)
            progress("exporting the query encoder to ONNX…")
            config = export_query_encoder(model_dir, tmp / ENCODER_DIR, threads=settings.threads)
            files = {**kept, **record_files(tmp, under=ENCODER_DIR)}
            dataclasses.replace(manifest, query_encoder=config, files=files).write(tmp)

        return _write_build(settings, fill)


def _make_builds_folder(settings: Settings) -> None:
    builds = settings.index_dir / "builds"
    check_ours(settings.index_dir)  # before any work: never build over what is not ours
    try:
        builds.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexUnreadable(f"cannot create index folder {builds}: {exc.strerror}") from None


def _write_build(settings: Settings, fill: Callable[[Path], None]) -> Path:
    """A new build, written by `fill` into a fresh marked `builds/.tmp-*` folder, fsynced, then
    made current. Called under the build lock. On any failure or interruption the unfinished
    folder is removed and the current index kept."""
    builds = settings.index_dir / "builds"
    remove_leftovers(builds)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = builds / f".tmp-{stamp}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise IndexUnreadable(f"cannot write in {builds}: {exc.strerror}") from None
    try:
        mark(tmp)
        fill(tmp)
        fsync_tree(tmp)  # on disk before it can become `current`
        final = builds / stamp
        tmp.rename(final)
    except (OSError, RuntimeError) as exc:  # a full disk, a read-only folder (faiss: Runtime)
        shutil.rmtree(tmp, ignore_errors=True)
        raise IndexUnreadable(
            f"cannot build the index in {settings.index_dir} ({one_line(exc, last=True)}); "
            "the current index, if any, is kept"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_current(settings.index_dir, final)
    remove_old_builds(builds, keep=final)
    return final


def _export_query_encoder(
    embedder: Any, out_dir: Path, settings: Settings, progress: Progress
) -> dict[str, Any] | None:
    model_dir = getattr(embedder, "model_dir", None)
    if model_dir is None:
        return None
    from rag.embedding.onnx_export import export_query_encoder

    progress("exporting the query encoder to ONNX…")
    try:
        return export_query_encoder(model_dir, out_dir, threads=settings.threads)
    except (ModelError, OSError, RuntimeError) as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        why = one_line(exc, last=not isinstance(exc, ModelError))
        if _current_has_encoder(settings):  # a complete index is never replaced by a lesser one
            raise IndexUnreadable(
                f"cannot export the query encoder ({why}); the current index is kept"
            ) from None
        progress(f"warning: no fast query encoder ({why}); queries will load sentence-transformers")
        return None


def _current_has_encoder(settings: Settings) -> bool:
    try:
        return bool(read_manifest(current_path(settings.index_dir)).query_encoder)
    except IndexUnreadable:
        return False


def _local(source: Path | str, settings: Settings, progress: Progress) -> Path:
    """A source as a file: a URL fetched into the index folder, a path resolved."""
    if is_url(source):
        from rag.documents.fetch import fetch

        progress(f"fetching {source}…")
        folder = settings.index_dir / FETCHED
        return fetch(str(source), folder, allow_private=settings.allow_private_urls)
    return _resolved(Path(source))


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise SourceError(f"{path}: cannot be followed ({one_line(exc)})") from None
