"""The start-up path stays light, and the layers point one way (ui → rag, never back)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, run_rag

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
)
ADAPTERS = {
    "torch": {"rag/embedding.py", "rag/embedding_onnx_export.py"},
    "sentence_transformers": {"rag/embedding.py"},
    "transformers": {"rag/embedding_onnx_export.py"},
    "onnxruntime": {"rag/embedding_onnx.py"},
    "faiss": {"rag/vector_store.py"},
    "llama_cpp": {"rag/llm.py"},
    "gradio": set(),  # only ui/
    "bm25s": {"rag/lexical.py"},
}


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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_rag_never_imports_ui_and_heavy_libraries_stay_in_their_adapters() -> None:
    for path in sorted((ROOT / "rag").glob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        imported = _imports(path)
        assert "ui" not in imported, f"{relative} imports ui/"
        for library, allowed in ADAPTERS.items():
            if library in imported:
                assert relative in allowed, f"{relative} imports {library}"
