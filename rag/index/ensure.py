"""Ensuring the index: `ensure_index` opens the current index, building it first when it is
missing, stale (rag.index.staleness) or unreadable.

Not here: building (rag.index.build) or opening (rag.index.store).
"""

from __future__ import annotations

from rag.config import Settings
from rag.errors import IndexUnreadable
from rag.index.build import build_index
from rag.index.staleness import sources_of, stale_reason
from rag.index.store import Index, open_index
from rag.progress import Progress, no_progress


def ensure_index(settings: Settings, progress: Progress = no_progress) -> Index:
    """Open the index, first (re)building it when missing, stale or unreadable."""
    reason = stale_reason(settings)
    if reason is None:
        try:
            return open_index(settings)
        except IndexUnreadable as exc:
            reason = str(exc)
    progress(f"building the index ({reason})…")
    build_index(settings, sources_of(settings), progress=progress, unless_fresh=True)
    return open_index(settings)
