"""The index folder on disk: what in it is ours, the build lock, swapping `current`, cleaning up.

    <index_dir>/.lock             held (flock) while a build runs; opened without following links
    <index_dir>/current           symlink to builds/<stamp>, replaced atomically
    <index_dir>/builds/<stamp>/   complete builds, each holding the marker file `.rag-build`
    <index_dir>/builds/.tmp-*/    builds in progress (also marked)

Nothing here deletes or overwrites what rag did not make: cleanup removes only marked build
folders (or, from before the marker, folders holding our `manifest.json`), and `check_ours`
refuses, in one line, an index folder whose `current` is a real folder or file, whose `builds`
is a symlink or not a folder, or whose `builds/` holds folders that are not builds of ours.
Files are fsynced before a build is swapped in. Not here: what a build contains (rag.index.build).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from rag.errors import IndexUnreadable

UPLOADS = "uploads"  # <index_dir>/uploads/<hash>/<name>: the files added to the library
FETCHED = "fetched"  # <index_dir>/fetched/<hash>/<name>: fetched URLs (rag.documents.fetch)

MARKER = ".rag-build"


def current_path(index_dir: Path) -> Path:
    return index_dir / "current"


def current_build(index_dir: Path) -> Path | None:
    """The build folder `current` points to (resolved), or None when there is none: a cheap
    identity of the index (each build is a new folder; nothing is rewritten in place)."""
    link = current_path(index_dir)
    try:
        return link.resolve(strict=True)
    except (OSError, RuntimeError):
        return None


def is_ours(folder: Path) -> bool:
    """A build folder rag made: it holds our marker, or (older builds) our manifest."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if (folder / MARKER).is_file():
        return True
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format" in manifest


def check_ours(index_dir: Path) -> None:
    """Refuse (IndexUnreadable, one line) an index folder holding things rag did not make."""
    where = f"index folder {index_dir}"
    current = current_path(index_dir)
    if current.exists() and not current.is_symlink():
        kind = "folder" if current.is_dir() else "file"
        raise IndexUnreadable(
            f"{where}: 'current' is a {kind} rag did not make; move it away or use another "
            "--index-dir"
        )
    builds = index_dir / "builds"
    if builds.is_symlink() or (builds.exists() and not builds.is_dir()):
        raise IndexUnreadable(f"{where}: 'builds' is not a folder of its own; refusing to use it")
    if builds.is_dir():
        strangers = sorted(p.name for p in builds.iterdir() if not is_ours(p))
        if strangers:
            raise IndexUnreadable(
                f"{where}: builds/ holds {', '.join(strangers[:3])}, not made by rag; move it "
                "away or use another --index-dir"
            )


def mark(folder: Path) -> None:
    (folder / MARKER).write_text("made by rag index\n", encoding="utf-8")


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold `<index_dir>/.lock`; the file is never truncated and never followed as a link."""
    path = index_dir / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IndexUnreadable(f"{path} is a symlink; refusing to open it") from None
        if exc.errno == errno.EISDIR:
            raise IndexUnreadable(f"{path} is a folder; remove it") from None
        raise IndexUnreadable(f"cannot lock {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, and the folders themselves, to disk."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(Path(root) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_current(index_dir: Path, build: Path) -> None:
    """Point `current` at `build` atomically (a symlink renamed over the old one)."""
    link = current_path(index_dir)
    tmp_link = index_dir / f".current-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(build.relative_to(index_dir))
    os.replace(tmp_link, link)
    _fsync_dir(index_dir)


def remove_leftovers(builds: Path) -> None:
    """Builds in progress left by an interrupted `rag index` (ours only)."""
    for leftover in builds.glob(".tmp-*"):
        if is_ours(leftover):
            shutil.rmtree(leftover, ignore_errors=True)


def remove_old_builds(builds: Path, keep: Path) -> None:
    """Complete builds other than `keep` (ours only)."""
    for old in builds.iterdir():
        if old != keep and not old.name.startswith(".") and is_ours(old):
            shutil.rmtree(old, ignore_errors=True)
