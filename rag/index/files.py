"""Each index file's size and sha256, recorded in the manifest at build time and checked on open.

A file that changed after its build (truncated, zeroed, overwritten with random but well-formed
data, replaced) makes the index unreadable, so `rag` rebuilds it instead of answering from it.
Files up to SMALL_FILE_BYTES are hashed on every open (the article's index: about 70 KB, well
under a millisecond); larger ones (the ONNX query encoder, the vectors of a big corpus) are
checked by size on open, their hash being recorded once per build. Not here: what the files
mean (rag.index.store, rag.index.vectors, rag.index.bm25) or whether their contents make sense
(checked when loaded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.errors import IndexUnreadable

SMALL_FILE_BYTES = 8 * 2**20
NOT_RECORDED = ("manifest.json", ".rag-build")


@dataclass(frozen=True)
class FileRecord:
    """One file of a build as the manifest records it (`{"size", "sha256"}` on disk)."""

    size: int
    sha256: str | None


def record_files(root: Path, under: str = "") -> dict[str, FileRecord]:
    """{path relative to `root`: record} of every file of a build but the manifest, or only of
    those in its sub-folder `under`."""
    files = {}
    top = root / under if under else root
    for path in sorted(p for p in top.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in NOT_RECORDED:
            files[relative] = FileRecord(path.stat().st_size, _sha256_of(path))
    return files


def check_files(root: Path, recorded: Mapping[str, FileRecord]) -> None:
    """IndexUnreadable when a recorded file is missing, of another size, or (small files) of
    another sha256 than at build time."""
    for relative, expected in recorded.items():
        path = root / relative
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexUnreadable(f"index in {root} lacks {relative}") from None
        if size != expected.size:
            raise IndexUnreadable(
                f"index file {relative} changed since its build ({size} bytes, "
                f"{expected.size} recorded)"
            )
        if size <= SMALL_FILE_BYTES and _sha256_of(path) != expected.sha256:
            raise IndexUnreadable(f"index file {relative} changed since its build (sha256)")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise IndexUnreadable(f"cannot read index file {path}: {exc.strerror}") from None
    return digest.hexdigest()
