"""Progress bars: on a terminal a bar on stderr, piped nothing at all."""

from __future__ import annotations

import io
import sys

import pytest

from rag.progress import terminal_bar

from .conftest import run_rag


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


def test_a_piped_index_shows_lines_not_a_bar(tmp_path) -> None:
    done = run_rag("index", str(tmp_path / "nope.txt"), index_dir=tmp_path / "index")
    assert "\r" not in done.stderr and "it/s" not in done.stderr
