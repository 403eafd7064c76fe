"""Hostile index folders (issue 11, data loss): rag never deletes or overwrites what is not its.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..fakes import ARTICLE, one_line_error, run_rag


def test_rag_index_refuses_in_one_line(tmp_path: Path) -> None:
    index_dir = tmp_path / "p"
    (index_dir / "builds" / "release-1.0").mkdir(parents=True)
    done = run_rag("index", "--index-dir", str(index_dir), str(ARTICLE))
    line = one_line_error(done, 4)
    assert "release-1.0, not made by rag" in line
    assert (index_dir / "builds" / "release-1.0").is_dir()
    assert os.listdir(index_dir / "builds") == ["release-1.0"]
