"""The library: the documents of the index folder, added and removed one at a time.

The library is what the current build indexed (its manifest's sources). `Library.add` takes a
file, copied into `<index_dir>/uploads/<hash>/`, or an http(s) URL, fetched into
`<index_dir>/fetched/` (rag.documents.fetch); either is checked as `rag index` checks a source
(the content must be what the suffix says: rag.documents.sources) and refused, in one line,
over Settings.max_upload_mb, past Settings.max_documents, or when its content is already in the
library. The index is then rebuilt from the recorded sources plus the new one (rag.index.build:
under the build lock, swapped in atomically); `remove` rebuilds without one and deletes the
copy rag kept of it. A change is worked out from the build that is current when it starts and
worked out again when another process swaps in a build meanwhile. A refused document, or a
build that fails, leaves the library exactly as it was. `documents_of(index)` lists an opened
index's documents with their title, size and paragraph count.

Not here: building (rag.index.build), reading (rag.documents.sources) and fetching
(rag.documents.fetch) a source, or showing the library (ui).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings, is_url
from rag.documents.fetch import fetch, fetched_record
from rag.documents.parse import Document
from rag.documents.sources import KINDS, SUFFIXES, read_document, source_bytes
from rag.errors import InputError, SourceError
from rag.index.build import IndexChanged, build_index
from rag.index.folder import FETCHED, UPLOADS, current_build
from rag.index.manifest import Manifest, SourceEntry, read_manifest
from rag.index.store import Index
from rag.progress import Progress, no_progress

ATTEMPTS = 3  # a change worked out again when another process swapped in a build meanwhile


@dataclass(frozen=True)
class LibraryDocument:
    """One document of the library, as a list of them shows it."""

    id: str  # the document's name: how citations name it ([id ¶N])
    title: str
    paragraphs: int
    size: int  # bytes of its source file
    source: str  # the URL it was fetched from, or its file name

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def documents_of(index: Index) -> list[LibraryDocument]:
    """The documents of an opened index, in index order."""
    sources = {s.name: s for s in index.manifest.sources}
    entries = []
    for document in index.documents:
        source = sources.get(document.name)
        entries.append(_entry(document, source.location() if source else document.path))
    return entries


class Library:
    """Adds and removes the documents of `settings.index_dir`, one change at a time."""

    def __init__(self, settings: Settings, embedder: Any = None) -> None:
        """`embedder` embeds the passages of a rebuild; by default the settings' model, loaded
        on the first change and kept."""
        # A rebuild reads the documents added here, which may be larger than other sources.
        limit = max(settings.max_source_mb, settings.max_upload_mb)
        self.settings = settings.replace(max_source_mb=limit)
        self.max_bytes = settings.max_upload_mb * 2**20
        self._embedder = embedder
        self._lock = threading.Lock()

    def add(self, source: Path | str, progress: Progress = no_progress) -> LibraryDocument:
        """Add a file or an http(s) URL; the new document. SourceError or InputError (one line)
        when it is refused, and then nothing has changed."""
        with self._lock:
            _, manifest = self._current()
            self._check_room(manifest)
            if is_url(source):
                path = self._fetch(str(source), progress)
            else:
                path = self._copy(Path(source), manifest)
            try:
                return self._add(path, progress)
            except BaseException:
                self._discard(path)
                raise

    def remove(self, doc_id: str, progress: Progress = no_progress) -> None:
        """Remove the document named `doc_id` and the copy rag kept of it."""
        with self._lock:
            for _ in range(ATTEMPTS):
                base, manifest = self._current()
                gone = [s for s in manifest.sources if s.name == doc_id]
                if not gone:
                    raise InputError(f"no document {doc_id!r} in the library")
                if len(manifest.sources) == 1:
                    raise InputError(
                        f"{doc_id!r} is the library's only document; add another before removing it"
                    )
                kept = [s.location() for s in manifest.sources if s.name != doc_id]
                try:
                    self._build(kept, base, progress)
                except IndexChanged:
                    continue
                self._discard(gone[0].location())
                return
            raise _busy(self.settings)

    # -- the steps

    def _add(self, path: Path, progress: Progress) -> LibraryDocument:
        for _ in range(ATTEMPTS):
            base, manifest = self._current()
            self._check_room(manifest)
            document = self._read(path)
            _check_new(path, document.sha256, manifest)
            taken = {s.name for s in manifest.sources}
            if path.stem in taken:
                path = path.rename(path.with_stem(_free_name(path.stem, taken)))
                document = self._read(path)
            try:
                self._build([*(s.location() for s in manifest.sources), path], base, progress)
            except IndexChanged:
                continue
            return _entry(document, path)
        raise _busy(self.settings)

    def _current(self) -> tuple[Path, Manifest]:
        base = current_build(self.settings.index_dir)
        if base is None:
            raise SourceError(f"no index in {self.settings.index_dir}; run `rag index` first")
        return base, read_manifest(base)

    def _check_room(self, manifest: Manifest) -> None:
        most = self.settings.max_documents
        if len(manifest.sources) >= most:
            raise InputError(
                f"the library holds {len(manifest.sources)} documents, the most it takes "
                f"(RAG_MAX_DOCUMENTS={most}); remove one first"
            )

    def _copy(self, upload: Path, manifest: Manifest) -> Path:
        """The file copied into the index folder, after checks on its name, size and whether
        the library holds it already."""
        name = _shown(upload)
        if upload.suffix.lower() not in SUFFIXES:
            raise SourceError(f"{name}: only {KINDS} files can be added")
        limit = "for a document (RAG_MAX_UPLOAD_MB)"
        data = source_bytes(upload, self.max_bytes, limit, shown=name)
        _check_new(upload, hashlib.sha256(data).hexdigest(), manifest)
        stem = re.sub(r"[^\w.-]+", "-", upload.stem).strip("-.")[:80] or "document"
        folder = self.settings.index_dir / UPLOADS / hashlib.sha256(data).hexdigest()[:16]
        kept = folder / f"{stem}{upload.suffix.lower()}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(data)
        except OSError as exc:
            raise SourceError(f"{name}: cannot keep a copy in {folder} ({exc.strerror})") from None
        return kept

    def _fetch(self, url: str, progress: Progress) -> Path:
        progress(f"fetching {url}…")
        return fetch(
            url,
            self.settings.index_dir / FETCHED,
            allow_private=self.settings.allow_private_urls,
            max_bytes=self.max_bytes,
        )

    def _read(self, path: Path) -> Document:
        try:
            return read_document(path, self.max_bytes)
        except SourceError as exc:  # named by the file's name, not the copy's whole path
            raise SourceError(str(exc).replace(str(path), _shown(path))) from None

    def _build(self, sources: list[Path], base: Path, progress: Progress) -> None:
        if self._embedder is None:
            from rag.embedding.torch_encoder import SentenceTransformerEmbedder

            progress("loading the embedding model…")
            self._embedder = SentenceTransformerEmbedder.from_setting(
                self.settings.embedding_model, threads=self.settings.threads
            )
        build_index(
            self.settings,
            list(sources),
            progress=progress,
            embedder=self._embedder,
            based_on=base,
        )

    def _discard(self, path: Path) -> None:
        """Delete the folder rag kept a copy in (uploads/<hash>/ or fetched/<hash>/), unless
        the current build still reads from it. Files anywhere else are never touched."""
        folder = path.parent
        ours = {self.settings.index_dir / UPLOADS, self.settings.index_dir / FETCHED}
        if folder.parent not in ours or folder.is_symlink():
            return
        base = current_build(self.settings.index_dir)
        if base is not None:
            sources: tuple[SourceEntry, ...] = read_manifest(base).sources
            if any(s.location().parent == folder for s in sources):
                return
        shutil.rmtree(folder, ignore_errors=True)


def _entry(document: Document, path: Path) -> LibraryDocument:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    title = document.title or document.headline
    return LibraryDocument(
        document.name, title, len(document.paragraphs), size, document.source_url or path.name
    )


def _check_new(path: Path, sha256: str, manifest: Manifest) -> None:
    twin = next((s for s in manifest.sources if s.sha256 == sha256), None)
    if twin is not None:
        raise SourceError(f"{_shown(path)}: already in the library, as {twin.name!r}")


def _free_name(stem: str, taken: set[str]) -> str:
    number = 2
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


def _shown(path: Path) -> str:
    """A source as a message names it: the URL a fetched copy came from, else the file name."""
    fetched = fetched_record(path)
    return fetched.url if fetched is not None else path.name


def _busy(settings: Settings) -> IndexChanged:
    return IndexChanged(
        f"the index in {settings.index_dir} keeps being rebuilt by another process; try again"
    )
