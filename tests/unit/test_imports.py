"""The start-up path stays light, and the layers point one way (ui → rag, never back).

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from ..fakes import ROOT

ADAPTERS = {
    "torch": {
        "rag/embedding/torch_encoder.py",
        "rag/embedding/onnx_export.py",
        "rag/answer/reader_training/train.py",
        "rag/answer/reader_training/export.py",
    },
    "sentence_transformers": {"rag/embedding/torch_encoder.py"},
    "transformers": {"rag/embedding/onnx_export.py", "rag/answer/reader_training/train.py"},
    "onnxruntime": {"rag/embedding/onnx_encoder.py", "rag/answer/reader_training/export.py"},
    "faiss": {"rag/index/vectors.py"},
    "llama_cpp": {"rag/llm/runtime.py"},
    "gradio": set(),  # only ui/
    "bm25s": {"rag/index/bm25.py"},
    "trafilatura": {"rag/documents/html.py"},
    "lxml": {"rag/documents/html.py"},
    "pypdf": {"rag/documents/pdf.py"},
    "httpx": {"rag/documents/fetch.py"},
}


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
    paths = sorted((ROOT / "rag").rglob("*.py"))
    assert len(paths) > 40 and ROOT / "rag" / "index" / "vectors.py" in paths  # every stage
    for path in paths:
        relative = path.relative_to(ROOT).as_posix()
        imported = _imports(path)
        assert "ui" not in imported, f"{relative} imports ui/"
        for library, allowed in ADAPTERS.items():
            if library in imported:
                assert relative in allowed, f"{relative} imports {library}"


# What each layer over the library may import from it besides the public API (`from rag import
# Pipeline, …`): the answering itself goes through the API, never through its internals.
LAYERS = {
    "rag/cli.py": {
        "rag.errors",  # RagError and its exit codes
        "rag.terminal",  # printing text safely
        "rag.progress",  # the progress bar of `rag index` on a terminal
        "rag.pipeline",  # check_question, to refuse a bad question before loading anything
        "rag.llm",  # `rag models`: the catalogue
        "rag.cli_measure",  # the commands that measure and fit
    },
    "rag/cli_measure.py": {
        "rag.errors",  # InputError
        "rag.cli",  # the shared settings and progress
        "rag.progress",  # the progress bar of `rag eval` on a terminal
        "rag.evaluation.scoring",  # `rag eval`
        "rag.evaluation.gold",  # ... and the gold file it scores
        "rag.evaluation.squad",  # `rag eval --squad`: the SQuAD file
        "rag.evaluation.squad_scoring",  # ... and its scoring
        "rag.evaluation.fit_logistic",  # `rag fit-logistic`
        "rag.evaluation.tune_model",  # `rag tune-model`
        "rag.answer.cross_encoder_reader",  # `rag train-reader`: the shipped reader's folder
        "rag.answer.reader_training.run",  # ... the training
        "rag.answer.reader_training.train",  # ... and its recipe
    },
    "rag/evaluation/scoring.py": {
        "rag.errors",
        "rag.evaluation.gold",
        "rag.evaluation.replay",  # asking a case as a chat would
        "rag.answer.attribution",  # claims, for scoring
        "rag.text.numbers",  # the hedges left out of an exact match ("nearly 5,000")
        "rag.progress",  # the type of the bar over the questions
    },
    "rag/evaluation/replay.py": {"rag.evaluation.gold", "rag.chat.conversation", "rag.pipeline"},
    "ui/app.py": set(),
    "ui/cli.py": {"rag.errors", "rag.cli"},  # the CLI it plugs into
    "ui/render.py": {"rag.results"},  # the answer's format: the [¶N] marker, abstention
    "ui/guard.py": set(),
    "ui/library.py": {"rag.index.library"},  # the records of the library it lists
    "ui/server.py": set(),
    "ui/sessions.py": set(),
}


def _library_modules(path: Path) -> set[str]:
    """The rag.* modules a file imports, other than `rag` itself (the public API)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "rag":
            public = set(importlib.import_module("rag").__all__)
            modules.update(f"rag.{a.name}" for a in node.names if a.name not in public)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("rag."):
                modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(a.name for a in node.names if a.name.startswith("rag."))
    return modules


def test_the_cli_web_chat_and_evaluation_answer_through_the_public_api() -> None:
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "ui").glob("*.py")} - {
        "ui/__init__.py"
    } <= set(LAYERS)
    for relative, allowed in LAYERS.items():
        assert _library_modules(ROOT / relative) <= allowed, relative


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_time_imports(path: Path, known: set[str]) -> set[str]:
    """The rag modules `path` imports when it is imported: statements at module level (and in
    its classes, `if`s and `try`s), not inside functions or under `if TYPE_CHECKING:`."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:  # `from rag.index import build` imports a module
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
            elif isinstance(node, ast.If):
                test = node.test
                if not (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for part in (node.body, node.orelse, node.finalbody):
                    visit(part)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, ast.ClassDef | ast.With):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {module for module in found if module in known and module != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of `graph`, as the modules along it, or None."""
    state: dict[str, str] = {}  # "open" while on the path being explored, then "done"
    path: list[str] = []

    def explore(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := explore(target)):
                return found
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := explore(module)):
            return found
    return None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_circle() -> None:
    files = sorted((ROOT / "rag").rglob("*.py"))
    known = {_module_name(p) for p in files}
    graph = {_module_name(p): _import_time_imports(p, known) for p in files}
    assert graph["rag.index.ensure"] >= {"rag.index.build", "rag.index.store"}  # it reads them
    assert "rag.answer.generative" not in graph["rag.pipeline"]  # under TYPE_CHECKING only
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
