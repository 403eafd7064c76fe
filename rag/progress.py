"""Progress: how long work reports what it is doing. The library says nothing unless given one."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    """The library's default progress: say nothing."""
