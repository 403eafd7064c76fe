"""Tuning a language model on the gold set's dev half: `rag tune-model --model NAME`.

For each prompt variant (the model asked to abstain when the text does not answer, or not) the
real pipeline answers every `dev` case with the real model; the model's raw outputs are cached
(`bench/cache/model-outputs-NAME.json`, keyed by the exact messages) so that the sweep of support
thresholds re-checks the same outputs instead of generating again. The rule, fixed before
looking at any figure: the variant and threshold with the highest mean of answer containment
and citation accuracy on dev's answerable cases; ties go to more answers written by the model,
then to the higher threshold (the stricter check). The chosen setting is then run once on the
`test` half, beside the extractive default on the same half. Nothing here reads the test half
before the choice.

`write_tuning` keeps the result: the whole report in `bench/tune-NAME.json`, and the chosen
values with their provenance in the model catalogue's data (rag.llm.catalogue, `tuned.json`),
where generative answers read them. Not here: the support measure (rag.answer.attribution).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import InputError
from rag.evaluation.gold import CHECKOUT_GOLD, GoldCase, gold_settings, load_gold, select_split
from rag.evaluation.scoring import evaluate
from rag.llm import catalogue
from rag.pipeline import Pipeline

BENCH = CHECKOUT_GOLD.parents[2] / "bench"  # the checkout's bench/ folder
THRESHOLDS = [round(0.20 + 0.02 * i, 2) for i in range(26)]  # 0.20 … 0.70
RULE = (
    "max mean(containment, citation accuracy) on dev answerable; ties: model share, then higher "
    "threshold"
)
KEYS = (
    "cases",
    "answerable",
    "unanswerable",
    "answer_containment",
    "citation_accuracy",
    "abstention_recall",
    "false_abstention_rate",
    "model_written_answerable",
    "sentences_kept",
    "sentences_dropped",
)


class CachedModel:
    """A model whose outputs are remembered by their exact messages (for sweeps only)."""

    def __init__(self, model: Any, cache: dict[str, str]) -> None:
        self.model = model
        self.cache = cache
        self.name = model.name
        self.n_ctx = model.n_ctx

    def count_tokens(self, text: str) -> int:
        return int(self.model.count_tokens(text))

    def prompt_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        return int(self.model.prompt_tokens(messages))

    def chat_stream(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        key = hashlib.sha256(
            json.dumps([list(messages), max_tokens, temperature], sort_keys=True).encode()
        ).hexdigest()
        if key not in self.cache:
            self.cache[key] = self.model.chat(
                messages, max_tokens=max_tokens, temperature=temperature
            )
        yield self.cache[key]


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics.get(k) for k in KEYS}


def _rank(row: dict[str, Any]) -> tuple[float, float, float]:
    quality = (row["answer_containment"] + row["citation_accuracy"]) / 2
    return (quality, row["model_written_answerable"] or 0.0, row["support_threshold"])


def tune_model(
    settings: Settings, gold: Path = CHECKOUT_GOLD, say: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """The dev sweep for `settings.model`, the setting chosen by the rule and its test figures
    beside the extractive ones (`say` is given each line of progress and the result)."""
    if not settings.model:
        raise InputError("tune-model needs a model: pass --model NAME (see rag models)")
    cases = load_gold(gold)  # a bad file fails before the model loads
    dev, test = select_split(cases, "dev"), select_split(cases, "test")
    settings = gold_settings(settings, gold)
    base = Pipeline.open(settings)
    assert base.generator is not None  # a model that does not load raises ModelError
    name = base.generator.model_name
    cache_file = BENCH / "cache" / f"model-outputs-{name}.json"
    cache: dict[str, str] = {}
    if cache_file.is_file():
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    model = CachedModel(base.generator.model, cache)

    def run(variant: Settings, split: list[GoldCase]) -> dict[str, Any]:
        pipeline = Pipeline(variant, base.index, base.embedder, model)
        return summary(evaluate(pipeline, split)["metrics"])

    results = []
    try:
        for may_abstain in (False, True):
            for threshold in THRESHOLDS:
                variant = settings.replace(
                    model_may_abstain=may_abstain, support_threshold=threshold
                )
                results.append(
                    {"model_may_abstain": may_abstain, "support_threshold": threshold}
                    | run(variant, dev)
                )
                say(json.dumps(results[-1]))
        chosen = max(results, key=_rank)
        say(f"chosen on dev: {json.dumps(chosen)}")
        final = settings.replace(
            model_may_abstain=chosen["model_may_abstain"],
            support_threshold=chosen["support_threshold"],
        )
        # The same cache: outputs are deterministic (temperature 0); timings are the benchmark's.
        on_test = run(final, test)
    finally:
        _save(cache_file, cache)
    extractive = summary(evaluate(Pipeline(settings, base.index, base.embedder), test)["metrics"])
    report = {
        "model": name,
        "rule": RULE,
        "gold": str(gold),
        "gold_sha256": hashlib.sha256(gold.read_bytes()).hexdigest(),
        "dev_sweep": results,
        "chosen": chosen,
        "test": on_test,
        "test_extractive": extractive,
    }
    say(f"test, model: {json.dumps(on_test)}")
    say(f"test, extractive: {json.dumps(extractive)}")
    say(markdown(report))
    return report


def _save(cache_file: Path, cache: dict[str, str]) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(cache), encoding="utf-8")


def write_tuning(report: dict[str, Any], bench: Path = BENCH) -> list[Path]:
    """Keep a tuning: the report as `bench/tune-NAME.json`, and for a catalogue model its chosen
    values and their provenance in the catalogue's data. The paths written."""
    name = report["model"]
    out = bench / f"tune-{name}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if name not in catalogue.CATALOGUE:  # a GGUF's stem names no model for others
        return [out]
    chosen = dict(report["chosen"])
    entry = {
        "support_threshold": chosen.pop("support_threshold"),
        "model_may_abstain": chosen.pop("model_may_abstain"),
        "tuned": {
            "file": f"bench/{out.name}",
            "on": f"{Path(report['gold']).name}, split dev",
            "gold_sha256": report["gold_sha256"],
            "rule": report["rule"],
            "dev": chosen,
            "command": f"rag tune-model --model {name} --write",
        },
    }
    catalogue.write_tuned(name, entry)
    return [out, catalogue.TUNED]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def markdown(report: dict[str, Any]) -> str:
    """Rows for the README table: dev (the chosen setting), then test, model and extractive."""
    chosen, test, extractive = report["chosen"], report["test"], report["test_extractive"]
    setting = f"threshold {chosen['support_threshold']}, " + (
        "may abstain" if chosen["model_may_abstain"] else "not asked to abstain"
    )

    def row(label: str, m: dict[str, Any], model: bool) -> str:
        written = _pct(m.get("model_written_answerable")) if model else "–"
        kept = f"{m['sentences_kept']} / {m['sentences_dropped']}" if model else "–"
        return (
            f"| {label} | {_pct(m['answer_containment'])} | {_pct(m['citation_accuracy'])} | "
            f"{_pct(m['abstention_recall'])} | {_pct(m['false_abstention_rate'])} | {written} | "
            f"{kept} |"
        )

    return "\n".join(
        [
            "| split, answerer | contained | cited | unanswerable abstained | answerable wrongly "
            "abstained | written by the model | sentences kept / dropped |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            row(f"dev, {report['model']} ({setting})", chosen, True),
            row(f"**test**, {report['model']}", test, True),
            row("**test**, extractive", extractive, False),
        ]
    )
