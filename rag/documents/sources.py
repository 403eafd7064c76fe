"""Sources: the files a person names, checked and read into `Document`s by their format.

Text (.txt, .md), web pages (.html, .htm) and PDFs (.pdf) are read; the suffix picks the reader
and the content must agree with it (a binary renamed .pdf is refused before anything is parsed).
Files are checked for existence, size and encoding here; what a format's content means lives in
its own module (rag.documents.parse, rag.documents.html, rag.documents.pdf), imported only when
a file of that format is read. Not here: fetching URLs (rag.documents.fetch); a
fetched copy is read here as a file, with the URL it came from.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import warnings
from collections.abc import Iterable
from pathlib import Path

from rag.documents.fetch import fetched_record
from rag.documents.parse import Document, parse_text
from rag.errors import RagWarning, SourceError
from rag.progress import Bar

MAX_SOURCE_BYTES = 5 * 2**20  # default size limit of one source (Settings.max_source_mb)
TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf")
KINDS = ".txt, .md, .html and .pdf"


def read_document(path: Path, max_bytes: int = MAX_SOURCE_BYTES) -> Document:
    """Read one source file; raises SourceError for missing, empty, too large (more than
    `max_bytes`) files and for content that is not what the suffix says."""
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    document = document_from_bytes(source_bytes(path, max_bytes), path.stem, path)
    fetched = fetched_record(path)
    if fetched is None:
        return document
    return dataclasses.replace(document, source_url=fetched.url, fetched_at=fetched.fetched_at)


def source_bytes(
    path: Path,
    max_bytes: int,
    limit: str = "for a source (RAG_MAX_SOURCE_MB)",
    shown: str | None = None,
) -> bytes:
    """A file's bytes; SourceError, naming the file as `shown` (by default its path), when it
    is larger than `max_bytes` (the message names the `limit`) or cannot be read."""
    shown = str(path) if shown is None else shown
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(
                f"{shown}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit "
                f"{limit}"
            )
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{shown}: cannot read ({exc.strerror})") from None


def document_from_bytes(data: bytes, name: str, path: Path, kind: str = "") -> Document:
    """A source's bytes read as `kind` (a suffix; by default `path`'s), the content checked."""
    kind = kind or path.suffix.lower()
    if not data.strip():
        raise SourceError(f"{path}: file is empty")
    if kind == ".pdf":
        if not data.startswith(b"%PDF-"):
            raise SourceError(f"{path}: not a PDF (its content does not start with %PDF-)")
        from rag.documents.pdf import pdf_document

        document = pdf_document(data, name, path)
    elif kind in HTML_SUFFIXES:
        if not looks_like_html(data):
            raise SourceError(f"{path}: not an HTML page (its content does not start with a tag)")
        from rag.documents.html import html_document

        document = html_document(data, name, path)
    else:
        document = parse_text(_decoded(data, path), name, path)
    return dataclasses.replace(document, sha256=hashlib.sha256(data).hexdigest())


def looks_like_html(data: bytes) -> bool:
    """Whether bytes start like an HTML document (a tag, after a byte order mark and spaces)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") and b"\x00" not in data[:4096]


def _decoded(data: bytes, path: Path) -> str:
    """A text file's bytes as text: UTF-16 by its byte order mark, else UTF-8 with undecodable
    bytes replaced (and a RagWarning saying so); a NUL byte means binary, refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-16, which has NULs
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"{path}: starts as UTF-16 but is not valid UTF-16") from None
    if b"\x00" in data:
        raise SourceError(f"{path}: binary file, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        warnings.warn(
            RagWarning(f"{path}: not valid UTF-8 (byte {exc.start}); undecodable bytes replaced"),
            stacklevel=3,
        )
    if not text.strip():
        raise SourceError(f"{path}: file is empty")
    return text


def collect_sources(paths: Iterable[Path]) -> list[Path]:
    """Expand files and folders into the sorted list of source files they hold. A link inside
    a folder that leads out of it (`ln -s /etc/passwd articles/passwd.txt`) is skipped, with a
    RagWarning; a file named by the user is read wherever it leads."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = path.resolve()
            found = []
            for candidate in sorted(path.rglob("*")):
                if candidate.suffix.lower() not in SUFFIXES or not candidate.is_file():
                    continue
                try:
                    outside = not candidate.resolve().is_relative_to(inside)
                except (OSError, RuntimeError):  # a link loop
                    outside = True
                if outside:
                    warnings.warn(
                        RagWarning(f"skipped {candidate}: a link that leads out of {path}"),
                        stacklevel=2,
                    )
                    continue
                found.append(candidate)
            if not found:
                raise SourceError(f"{path}: folder holds no {KINDS} files")
            files.extend(found)
        elif not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        elif path.suffix.lower() not in SUFFIXES:
            raise SourceError(f"{path}: only {KINDS} files can be indexed")
        else:
            files.append(path)
    for file in files:  # checked before any work: the name is written to the index as text
        try:
            str(file).encode("utf-8")
        except UnicodeEncodeError:
            shown = str(file).encode("utf-8", "replace").decode("utf-8")
            raise SourceError(f"{shown}: the file name is not valid UTF-8; rename it") from None
    names = [f.stem for f in files]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SourceError(f"two sources share the name {sorted(duplicates)[0]!r}; rename one")
    return files


def load_documents(
    paths: Iterable[Path],
    max_bytes: int = MAX_SOURCE_BYTES,
    bar: Bar | None = None,
    kept: Iterable[Path] = (),
    kept_max_bytes: int = 0,
) -> list[Document]:
    """Every source the paths hold, read; `bar` shows the files being read. Files inside the
    `kept` folders (the copies rag keeps of uploads and fetched pages, accepted under their own
    limit when they came in) are read up to `kept_max_bytes` when that is larger."""
    files = collect_sources(paths)
    folders = [k.resolve() for k in kept]

    def limit(path: Path) -> int:
        inside = any(path.resolve().is_relative_to(folder) for folder in folders)
        return max(max_bytes, kept_max_bytes) if inside else max_bytes

    return [read_document(p, limit(p)) for p in (bar(files, len(files)) if bar else files)]
