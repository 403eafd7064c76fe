"""The library API (`import rag`): lazy names, a silent Pipeline.open, Conversation, and the

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rag

from ..fakes import ROOT


def test_importing_rag_loads_only_rag_and_names_resolve_lazily() -> None:
    code = "import sys, rag; print(sorted(m for m in sys.modules if m.startswith('rag')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "['rag']", done.stderr
    assert {"Pipeline", "Settings", "Answer", "Citation", "Conversation", "RagError"} <= set(
        rag.__all__
    )
    assert rag.Settings.load({}, env={}).k == 3 and callable(rag.build_index)
    with pytest.raises(AttributeError):
        rag.Nothing  # noqa: B018


@pytest.mark.slow
def test_the_readme_python_block_runs_as_written(
    article_index_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- python:start -->\n```python\n(.*?)```", readme, re.S)
    assert block is not None
    monkeypatch.setenv("RAG_INDEX_DIR", str(article_index_dir))
    exec(compile(block.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0] == "138"
    assert lines[1].startswith("13 Mr Al Sudani")
    assert lines[2] == "October 2022"
    assert printed.err == ""  # Pipeline.open is silent without a progress callback
