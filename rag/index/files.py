"""Each index file's size and sha256, recorded in the manifest at build time and checked on open.

A file that changed after its build (truncated, zeroed, overwritten with random but well-formed
data, replaced) makes the index unreadable, so `rag` rebuilds it instead of answering from it.
Files up to SMALL_FILE_BYTES are hashed on every open (the article's index: about 70 KB, well
under a millisecond); larger ones (the ONNX query encoder, the vectors of a big corpus) are
checked by size on open, their hash being recorded once per build. Not here: what the files
mean (rag.index.store, rag.index.vectors, rag.index.bm25) or whether their contents make sense
(checked
when loaded).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rag.errors import IndexUnreadable

SMALL_FILE_BYTES = 8 * 2**20
NOT_RECORDED = ("manifest.json", ".rag-build")


def record_files(root: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {"size", "sha256"}} of every file of a build but the manifest."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in NOT_RECORDED:
            files[relative] = {"size": path.stat().st_size, "sha256": _sha256_of(path)}
    return files


def check_files(root: Path, recorded: Any) -> None:
    """IndexUnreadable when a recorded file is missing, of another size, or (small files) of
    another sha256 than at build time."""
    if not isinstance(recorded, dict) or not recorded:
        raise IndexUnreadable(f"index in {root} records no file sizes and hashes")
    for relative, expected in recorded.items():
        path = root / relative
        if not isinstance(expected, dict) or not isinstance(expected.get("size"), int):
            raise IndexUnreadable(f"index manifest in {root} is damaged (entry for {relative})")
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexUnreadable(f"index in {root} lacks {relative}") from None
        if size != expected["size"]:
            raise IndexUnreadable(
                f"index file {relative} changed since its build ({size} bytes, "
                f"{expected['size']} recorded)"
            )
        if size <= SMALL_FILE_BYTES and _sha256_of(path) != expected.get("sha256"):
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
