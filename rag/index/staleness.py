"""Staleness: whether the index on disk still matches the settings and its sources, and which
sources a rebuild reads.

Not here: building (rag.index.build), opening (rag.index.store), or the decision to build
(rag.index.ensure).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rag.config import Settings
from rag.errors import IndexUnreadable, SourceError
from rag.index.folder import current_path
from rag.index.manifest import read_manifest
from rag.text.tokens import TOKENIZER_VERSION


def stale_reason(settings: Settings) -> str | None:
    """Why the index must be (re)built before answering, or None when it is fresh."""
    root = current_path(settings.index_dir)
    if not root.exists():
        return "no index yet"
    try:
        manifest = read_manifest(root)
    except IndexUnreadable as exc:
        return str(exc)
    if manifest.model.setting != settings.embedding_model:
        return "the embedding model setting changed"
    if manifest.tokenizer != TOKENIZER_VERSION:
        return "the tokenizer changed"
    for source in manifest.sources:
        path = source.location()
        if not path.is_file():
            return f"source {path} is gone"
        try:
            data = path.read_bytes()
        except OSError as exc:  # made unreadable since the build: say so, do not crash
            raise SourceError(f"{path}: indexed source cannot be read ({exc.strerror})") from None
        if _sha256(data) != source.sha256:
            return f"source {path.name} changed"
    return None


def sources_of(settings: Settings) -> list[Path | str]:
    """The sources to rebuild from: those of the current index if it names them, else settings."""
    try:
        recorded = [s.location() for s in read_manifest(current_path(settings.index_dir)).sources]
    except IndexUnreadable:
        return list(settings.sources)
    missing = [p for p in recorded if not p.is_file()]
    if missing:
        raise SourceError(f"{missing[0]}: indexed source is gone; run `rag index PATH...` again")
    return list(recorded)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
