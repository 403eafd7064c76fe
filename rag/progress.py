"""Progress: how long work reports what it is doing (a line of news, or a bar over items). The
library says nothing unless given one."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Progress = Callable[[str], None]
Bar = Callable[[Iterable[Any], int], Iterable[Any]]  # wraps `total` items in a progress bar


def no_progress(_: str) -> None:
    """The library's default progress: say nothing."""


def terminal_bar(items: Iterable[Any], total: int) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal (tqdm), else the items as they are."""
    if not sys.stderr.isatty():
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, total=total, leave=False, file=sys.stderr)
