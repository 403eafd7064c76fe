"""Progress bars: on a terminal a bar on stderr, piped nothing at all.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import io
import sys

import pytest

from rag.progress import terminal_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_and_nothing_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert list(terminal_bar(iter(range(5)), 5)) == [0, 1, 2, 3, 4]
    assert piped.getvalue() == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(terminal_bar(iter(range(5)), 5)) == [0, 1, 2, 3, 4]
    assert "/5 [" in terminal.getvalue()
