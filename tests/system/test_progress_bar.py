"""Progress bars: on a terminal a bar on stderr, piped nothing at all.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

from ..fakes import run_rag


def test_a_piped_index_shows_lines_not_a_bar(tmp_path) -> None:
    done = run_rag("index", str(tmp_path / "nope.txt"), index_dir=tmp_path / "index")
    assert "\r" not in done.stderr and "it/s" not in done.stderr
