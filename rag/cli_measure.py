"""The commands that measure and fit: `rag eval` (a gold file or SQuAD 2.0), `rag fit-logistic`,
`rag tune-model` and `rag train-reader`, registered by rag.cli.

Like rag.cli, import-light: the evaluation and training code is imported when a command runs.
Not here: the commands that answer (rag.cli) or what they measure (rag.evaluation,
rag.answer.reader_training).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.errors import InputError

TRAINED_READER = "trained-reader"  # `rag train-reader`'s folder unless --out or --write
Options = Callable[[argparse.ArgumentParser], None]


def register(commands: Any, common: Options, gold: Options) -> None:
    """Add the commands to `commands` (argparse subparsers); `common` and `gold` add the options
    they share with rag.cli's."""
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
    common(p)

    p = commands.add_parser(
        "fit-logistic", help="(development) fit the logistic reader on the gold set's dev half"
    )
    gold(p)
    p.add_argument("--write", action="store_true", help="save rag/answer/logistic_reader.json")
    p.add_argument(
        "--report-test",
        action="store_true",
        help="also answer the test half (once choices are final: looking at it while changing "
        "features would tune on it)",
    )
    common(p)

    p = commands.add_parser(
        "tune-model",
        help="(development) choose a model's support threshold and prompt on the gold set's dev "
        "half with the real model (slow)",
    )
    p.add_argument("--model", required=True, help="installed model name or GGUF file")
    gold(p)
    p.add_argument(
        "--write",
        action="store_true",
        help="write bench/tune-NAME.json and the model's entry in rag/llm/tuned.json",
    )
    common(p)

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
    gold(p)


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.cli import progress, settings_from  # rag.cli imports this module

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
    from rag.cli import progress, settings_from  # rag.cli imports this module
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


def cmd_fit_logistic(args: argparse.Namespace) -> int:
    from rag.cli import progress, settings_from  # rag.cli imports this module
    from rag.evaluation.fit_logistic import fit_logistic
    from rag.evaluation.gold import default_gold

    settings = settings_from(args)
    fitted = fit_logistic(args.gold or default_gold(), args.report_test, print, settings)
    if args.write:
        progress(f"wrote {fitted.write()}")
    return 0


def cmd_tune_model(args: argparse.Namespace) -> int:
    from rag.cli import progress, settings_from  # rag.cli imports this module
    from rag.evaluation.gold import default_gold
    from rag.evaluation.tune_model import tune_model, write_tuning

    report = tune_model(settings_from(args), args.gold or default_gold(), print)
    if args.write:
        for path in write_tuning(report):
            progress(f"wrote {path}")
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from rag.answer.cross_encoder_reader import FOLDER
    from rag.cli import progress  # rag.cli imports this module
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
    "eval": cmd_eval,
    "fit-logistic": cmd_fit_logistic,
    "tune-model": cmd_tune_model,
    "train-reader": cmd_train_reader,
}
