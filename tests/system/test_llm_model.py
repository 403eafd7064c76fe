"""rag.llm.runtime against real llama.cpp with a tiny random-weight GGUF

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.llm.resolve import resolve_model_path

from ..fakes import ROOT


def test_importing_rag_llm_does_not_import_llama_cpp() -> None:
    code = (
        "import sys, rag.llm.runtime; "
        "heavy = [m for m in ('llama_cpp', 'huggingface_hub', 'jinja2') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_script_runs_as_a_cli(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    out = tmp_path / "cli.gguf"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_tiny_gguf.py"), str(out), "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert resolve_model_path(str(out)) == out
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(out, copy)
    assert copy.read_bytes()[:4] == b"GGUF"
