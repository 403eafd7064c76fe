"""The `rag` command: a thin layer that parses arguments, calls the library, prints results.

Every `RagError` becomes one line on stderr (`error: …`) and a non-zero exit; Ctrl-C exits 130.
Heavy libraries are only imported by the commands that need them, after arguments are parsed,
so `rag --help` and argument errors are instant. Extra commands (`rag serve`, from ui/) plug in
through the `rag.commands` entry-point group, so this package never imports the UI.
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

from rag import __version__
from rag.errors import InputError, RagError, RagWarning
from rag.terminal import answer_on_terminal, for_terminal

if TYPE_CHECKING:
    from rag import Asker

# Flag name -> settings field, for the options every command shares.
TRAINED_READER = "trained-reader"  # `rag train-reader`'s folder unless --out or --write
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

    p = commands.add_parser("eval", help="score the system on a gold Q&A file or SQuAD 2.0")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--gold",
        type=Path,
        default=None,
        help="gold JSONL file (default: tests/gold/qa.jsonl of a source checkout)",
    )
    source.add_argument(
        "--squad",
        type=Path,
        default=None,
        metavar="FILE",
        help="a SQuAD 2.0 JSON file: each article indexed on its own, every question asked",
    )
    p.add_argument(
        "--split",
        choices=("dev", "test", "train", "all"),
        default="all",
        help="score only one split: of the gold file (dev/test), or of the bundled SQuAD "
        "articles (train/dev/test); default: all",
    )
    p.add_argument(
        "--sample",
        type=int,
        default=0,
        metavar="N",
        help="with --squad: N questions of each article, the same seeded sample every run",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--k", type=int, default=None, help="paragraphs retrieved per question")
    p.add_argument(
        "--model", default=None, help="installed model name or GGUF file for generative answers"
    )
    _common(p)

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

    p = commands.add_parser(
        "fit-logistic", help="(development) fit the logistic reader on the gold set's dev half"
    )
    _gold(p)
    p.add_argument("--write", action="store_true", help="save rag/answer/logistic_reader.json")
    p.add_argument(
        "--report-test",
        action="store_true",
        help="also answer the test half (once choices are final: looking at it while changing "
        "features would tune on it)",
    )
    _common(p)

    p = commands.add_parser(
        "tune-model",
        help="(development) choose a model's support threshold and prompt on the gold set's dev "
        "half with the real model (slow)",
    )
    p.add_argument("--model", required=True, help="installed model name or GGUF file")
    _gold(p)
    p.add_argument(
        "--write",
        action="store_true",
        help="write bench/tune-NAME.json and the model's entry in rag/llm/tuned.json",
    )
    _common(p)

    p = commands.add_parser(
        "train-reader",
        help="(development) train the cross-encoder reader on SQuAD 2.0 train articles (slow)",
    )
    p.add_argument("--squad", type=Path, default=None, help="SQuAD 2.0 file (default: bundled)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"folder for the model and its card (default: {TRAINED_READER})",
    )
    p.add_argument("--max-questions", type=int, default=0, help="a seeded sample (0: all)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--write", action="store_true", help="write into the shipped rag/answer/cross_encoder/"
    )
    _gold(p)

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


def cmd_eval(args: argparse.Namespace) -> int:
    if args.squad is not None:
        return _eval_squad(args)
    if args.split == "train":
        raise InputError("the gold file has no train split (dev or test)")
    if args.sample:
        raise InputError("--sample applies to --squad only")
    from rag import Pipeline
    from rag.evaluation.gold import default_gold, gold_settings, load_gold, select_split
    from rag.evaluation.scoring import evaluate, format_report

    gold = args.gold or default_gold()
    cases = select_split(load_gold(gold), args.split)
    settings = settings_from(args)
    if args.index_dir is None:  # an index of the documents the gold file is about
        settings = gold_settings(settings, gold)
    from rag.progress import terminal_bar

    with Pipeline.open(settings, progress=progress) as pipeline:
        report = evaluate(pipeline, cases, bar=None if args.json else terminal_bar)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0


def _eval_squad(args: argparse.Namespace) -> int:
    from rag.evaluation.squad import read_squad, sample, select
    from rag.evaluation.squad_scoring import evaluate_squad, format_squad_report
    from rag.progress import terminal_bar

    articles = select(read_squad(args.squad), None if args.split == "all" else args.split)
    if args.sample:
        articles = sample(articles, args.sample)
    report = evaluate_squad(
        settings_from(args), articles, progress, bar=None if args.json else terminal_bar
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_squad_report(report))
    return 0


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


def cmd_fit_logistic(args: argparse.Namespace) -> int:
    from rag.evaluation.fit_logistic import fit_logistic
    from rag.evaluation.gold import default_gold

    settings = settings_from(args)
    fitted = fit_logistic(args.gold or default_gold(), args.report_test, print, settings)
    if args.write:
        progress(f"wrote {fitted.write()}")
    return 0


def cmd_tune_model(args: argparse.Namespace) -> int:
    from rag.evaluation.gold import default_gold
    from rag.evaluation.tune_model import tune_model, write_tuning

    report = tune_model(settings_from(args), args.gold or default_gold(), print)
    if args.write:
        for path in write_tuning(report):
            progress(f"wrote {path}")
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from rag.answer.cross_encoder_reader import FOLDER
    from rag.evaluation.gold import default_gold
    from rag.evaluation.squad import BUNDLED

    if args.write and args.out is not None:
        raise InputError("--write and --out name two places: give one")
    if args.max_questions < 0 or args.epochs <= 0:
        raise InputError("--max-questions must be 0 or more and --epochs more than 0")
    from rag.answer.reader_training.run import train_reader
    from rag.answer.reader_training.train import Recipe

    out = FOLDER if args.write else (args.out or Path(TRAINED_READER))
    recipe = Recipe(epochs=args.epochs, max_questions=args.max_questions, seed=args.seed)
    card = train_reader(
        args.squad or BUNDLED, out, recipe, progress, gold=args.gold or default_gold()
    )
    progress(f"wrote {card}")
    return 0


HANDLERS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "eval": cmd_eval,
    "models": cmd_models,
    "fit-logistic": cmd_fit_logistic,
    "tune-model": cmd_tune_model,
    "train-reader": cmd_train_reader,
}


if __name__ == "__main__":
    raise SystemExit(main())
