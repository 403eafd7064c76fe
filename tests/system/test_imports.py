"""The start-up path stays light, and the layers point one way (ui → rag, never back).

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..fakes import ROOT, run_rag

HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "gradio",
    "llama_cpp",
    "faiss",
    "onnxruntime",
    "bm25s",
    "scipy",
    "trafilatura",
    "lxml",
    "pypdf",
    "httpx",
)


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    return [name for name in HEAVY if name in modules]


def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert loaded_after("import rag.cli; rag.cli.build_parser()") == []


def test_importing_the_library_modules_loads_nothing_heavy() -> None:
    modules = [p.stem for p in (ROOT / "rag").glob("*.py") if p.stem != "__init__"]
    code = "\n".join(f"import rag.{m}" for m in modules)
    assert loaded_after(code) == []


def test_help_and_argument_errors_are_light_and_clean() -> None:
    done = run_rag("--help")
    assert done.returncode == 0 and "ask" in done.stdout and "serve" in done.stdout
    done = run_rag("ask")
    assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_ask_path_loads_only_onnxruntime_faiss_and_numpy(article_index_dir: Path) -> None:
    code = (
        "from rag.config import Settings\nfrom rag.pipeline import Pipeline\n"
        f"p = Pipeline.open(Settings.load({{'index_dir': {str(article_index_dir)!r}}}))\n"
        "p.ask('who nominated Al Sudani?')"
    )
    assert sorted(loaded_after(code)) == ["faiss", "onnxruntime"]


@pytest.mark.slow  # imports gradio (seconds)
def test_importing_the_web_chat_sets_no_environment_variable() -> None:
    probe = (
        "import os\nbefore = dict(os.environ)\n"
        "import ui.app, ui.cli, ui.render, ui.guard, ui.library, ui.server\n"
        "changed = set(before).symmetric_difference(os.environ)\n"
        "changed |= {k for k in before if before[k] != os.environ.get(k, before[k])}\n"
        "print(sorted(changed))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
