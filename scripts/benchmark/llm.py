"""Benchmark the generative (LLM) path and document it in the README (run as
scripts/bench_llm.py, whose docstring shows the command lines).

Models: the tiny random-weight model of scripts/make_tiny_gguf.py (built in a temporary folder:
its figures are the path's overhead, not a real model's speed) and every installed real model
(`rag.llm.catalogue.installed_models()`), each on the default thread count and on 1 thread, each
in a fresh child process (scripts/benchmark/llm_measure.py says what it measures: load time, prompt
evaluation and generation speed, prefix reuse, time to first token and whole answer over the
gold questions through the real Pipeline, peak memory, prompt sizes). An extractive-only child
gives the baseline.

With `--write` the results go to bench/llm.json and to the block between
`<!-- bench-llm:start -->` and `<!-- bench-llm:end -->` of the README or docs/ (blocks.py);
without it the section is printed (and the JSON written to `--json PATH` if given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.evaluation.gold import CHECKOUT_GOLD, load_gold
from rag.llm import catalogue

from .blocks import write_block
from .common import ROOT, SCRIPTS
from .llm_measure import EXTRACTIVE, TINY, loadavg, measure, run_child

RESULTS = ROOT / "bench" / "llm.json"
TARGETS = {"first_token_p50_s": 1.5, "whole_answer_p50_s": 4.0}  # warm, on the default threads


# --------------------------------------------------------------------------- the README


def _s(x: float | None) -> str:
    """Seconds, in ms below one second."""
    if x is None or math.isnan(x):
        return "–"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def _p50_p95(stats: dict[str, float]) -> str:
    if not stats:
        return "–"
    return f"{_s(stats['p50'])} / {_s(stats['p95'])}"


def _tps(x: float) -> str:
    return f"{x:,.0f} tok/s"


def _load(x: dict[str, Any]) -> str:
    return f"{x['loadavg_start'].split()[0]}–{x['loadavg_end'].split()[0]}"


def _verdict(gold: dict[str, Any]) -> str:
    first, whole = gold["first_piece_s"].get("p50"), gold["whole_asked_s"].get("p50")
    return " / ".join(
        "met" if value is not None and value < TARGETS[key] else "missed"
        for value, key in ((first, "first_token_p50_s"), (whole, "whole_answer_p50_s"))
    )


def _label(m: dict[str, Any]) -> str:
    return f"{m['name']} ({m['bytes'] / 1e6:,.0f} MB)" if m["spec"] != TINY else "tiny (random)"


def benchmark_section(r: dict[str, Any]) -> list[str]:
    m0, t0 = r["machine"], r["threads"][0]
    n_q, n_all = r["questions"], r["gold_questions"]
    rows: list[str] = []
    for m in r["models"]:
        for t in r["threads"]:
            x = m["runs"][str(t)]
            g = x["gold"]
            rows.append(
                f"| {_label(m)} | {t} | {_load(x)} | {_s(x['load_s'])} | "
                f"{_tps(x['generation']['stream']['prompt_tokens_per_s'])} | "
                f"{_tps(x['generation']['stream']['decode_tokens_per_s'])} | "
                f"{g['asked']} | {_p50_p95(g['first_piece_s'])} | "
                f"{_p50_p95(g['whole_asked_s'])} | {x['peak']['vmhwm_mb']:,.0f} MB | "
                f"{'–' if m['spec'] == TINY else _verdict(g)} |"
            )
    e = r["extractive"]
    rows.append(
        f"| extractive, no model | {e['threads']} | {_load(e)} | – | – | – | – | – | "
        f"{_p50_p95(e['gold']['whole_all_s'])} (all {e['gold']['questions']}) | "
        f"{e['peak']['vmhwm_mb']:,.0f} MB | – |"
    )
    reuse_rows, reused_all = [], True
    for m in r["models"]:
        for t in r["threads"]:
            p = m["runs"][str(t)]["prefix_reuse"]
            n = p["prompt_tokens"]
            reused = n - p["after_other_evaluated"]
            reused_all &= reused >= p["system_message_tokens"]
            reuse_rows.append(
                f"| {_label(m)} | {t} | {n:.0f} | {p['shared_prefix_tokens']:.0f} "
                f"({p['system_message_tokens']:.0f}) | {_s(p['cold_s'])} "
                f"({p['cold_evaluated']:.0f}) | {_s(p['after_other_s'])} "
                f"({p['after_other_evaluated']:.0f}) | {_s(p['same_question_s'])} "
                f"({p['same_question_evaluated']:.0f}) |"
            )
    sizes = [
        f"| {_label(m)} | {m['prompt_sizes']['tokens']['p50']:.0f} / "
        f"{m['prompt_sizes']['tokens']['p95']:.0f} / {m['prompt_sizes']['tokens']['max']:.0f} | "
        f"{m['prompt_sizes']['shown']['mean']:.2f} | {m['n_ctx']} |"
        for m in r["models"]
    ]
    first = {m["name"]: m["runs"][str(t0)]["generation"]["stream"] for m in r["models"]}
    first_prompt = ", ".join(f"{g['prompt_tokens']:.0f} for {n}" for n, g in first.items())
    generated = ", ".join(f"{g['generated_tokens']:.0f} for {n}" for n, g in first.items())
    return [
        f"{m0['when']}, {m0['cpus']} CPUs ({m0['processor']}), load average "
        f"{m0['loadavg_start']} at the start and {m0['loadavg_end']} at the end "
        f"({m0['minutes']:.0f} min), llama-cpp-python {m0['llama_cpp_python']}. "
        "`.venv/bin/python scripts/bench_llm.py --write` regenerates this section and "
        "`bench/llm.json`; without `--write` it prints them (`--model SPEC` measures another "
        "model, `--questions N` uses the first N gold questions). Each model and thread count "
        f"runs in a fresh process. Targets, warm on {t0} thread{'s' if t0 != 1 else ''}: "
        f"time to first token p50 < {TARGETS['first_token_p50_s']} s, whole answer p50 < "
        f"{TARGETS['whole_answer_p50_s']:.0f} s.",
        "",
        "| model | threads | load average | load | prompt evaluation | generation | questions "
        "asked | first token p50 / p95 | whole answer p50 / p95 | peak RSS | targets (first "
        "token / whole) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Load average: the 1-minute figure when that row's process started and ended. "
        f"Load: median of {r['runs']} `LocalModel.load` calls. Prompt evaluation and "
        "generation: llama.cpp's own counters on the first gold question's prompt "
        f"(in tokens: {first_prompt}), cache defeated, at most {r['max_tokens']} tokens asked "
        f"for at temperature 0 (generated: {generated}), streamed, median of {r['runs']}. "
        f"The rest is the gold set ({n_q} of {n_all} questions) through "
        "`Pipeline.stream`, the model loaded once and its system message already evaluated: "
        "time to first token runs from the question to the first streamed piece (rewrite, "
        "retrieval, prompt, prompt evaluation), whole answer to the checked `Answer`; both over "
        "the questions the model was asked (the others abstain on the support measure before "
        "the model). Peak RSS is VmHWM of that process (the pipeline with its ONNX query "
        "encoder, the model's mmapped weights, the answers). The tiny model's bytes are mostly "
        "incomplete UTF-8, which llama-cpp-python holds back, so its first piece comes late and "
        "its answers are noise: its rows are the path's overhead.",
        "",
        "### Prompt-prefix reuse",
        "",
        "Time to first token of the second gold question's prompt with the "
        "cache defeated (`Llama.reset()`) and right after the first question's; then the first "
        "question's asked twice in a row. In brackets, the prompt tokens llama.cpp evaluated "
        f"(median of {r['runs']}):",
        "",
        "| model | threads | prompt tokens | shared with the previous prompt (system "
        "message alone) | cache defeated | after a different question | same question again |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *reuse_rows,
        "",
        (
            "The constant system message is reused: after a different question only the tokens "
            "past the shared prefix are evaluated. "
            if reused_all
            else "The system message is NOT always reused (see the evaluated counts). "
        )
        + "llama-cpp-python keeps the previous prompt and answer in the cache and reuses their "
        "longest common token prefix with the next prompt. A chat follow-up's rewrite uses "
        "another system message, so the answer after it evaluates its whole prompt again.",
        "",
        "### Prompt size",
        "",
        f"Per gold question ({n_all} questions, k = {r['settings']['k']}, budget "
        f"{r['settings']['prompt_token_budget']}), in each model's tokens:",
        "",
        "| model | tokens per prompt p50 / p95 / max | paragraphs shown (mean) | context |",
        "| --- | --- | --- | --- |",
        *sizes,
        "",
        "The tiny model's tokenizer is byte-level, about one token per character, so its prompts "
        "are cut to fit its context.",
        "",
        "On a 2-core machine busy with other work, ggml's worker threads spin and wait, so 2 "
        "threads can be much slower than 1: compare the two thread counts (and their load "
        "averages) above, and set `--threads`/`RAG_THREADS`.",
        "",
    ]


def readme_section(r: dict[str, Any]) -> str:
    return "\n".join(benchmark_section(r))


# --------------------------------------------------------------------------- main


def model_entry(spec: str) -> dict[str, Any]:
    known = catalogue.CATALOGUE.get(spec)
    title = known.title if known else ("tiny random-weight model" if spec == TINY else spec)
    return {"spec": spec, "title": title, "runs": {}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        help="a model to measure (repeatable): 'tiny', an installed model's name, a GGUF path "
        "or hf:OWNER/REPO/FILE.gguf; default: tiny and every installed model",
    )
    parser.add_argument("--threads", default=None, help="thread counts, e.g. 2,1 (default)")
    parser.add_argument("--questions", type=int, default=None, help="first N gold questions")
    parser.add_argument("--runs", type=int, default=3, help="repetitions per measurement")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens generated per run")
    parser.add_argument(
        "--write", action="store_true", help="write the README/docs block and bench/llm.json"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    settings = Settings.load({"model": ""})
    threads = [int(t) for t in args.threads.split(",")] if args.threads else [settings.threads, 1]
    threads = list(dict.fromkeys(threads))
    if args.child:  # one model, one thread count, in this fresh process
        result = measure(args.child, threads[0], args.questions, args.runs, args.max_tokens)
        assert args.child_out is not None
        args.child_out.write_text(json.dumps(result), encoding="utf-8")
        return 0
    if args.questions is not None and args.questions < 1:
        parser.error("--questions must be at least 1")
    if args.write and args.model:
        parser.error("--write records the default models only; drop --model (or --write)")

    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        busy = f"warning: load average {loadavg()}: the machine is busy, figures will be noisy"
        print(busy, file=sys.stderr)
    specs = args.model or [TINY, *(found.model.name for found in catalogue.installed_models())]
    started = time.perf_counter()
    n_all = len(load_gold(CHECKOUT_GOLD))
    results: dict[str, Any] = {
        "machine": {
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "loadavg_start": loadavg(),
            "llama_cpp_python": metadata.version("llama_cpp_python"),
        },
        "settings": {
            "k": settings.k,
            "prompt_token_budget": settings.prompt_token_budget,
            "max_answer_tokens": settings.max_answer_tokens,
            # None: each model's own from the catalogue (rag/llm/tuned.json), in its runs.
            "support_threshold": settings.support_threshold,
        },
        "threads": threads,
        "max_tokens": args.max_tokens,
        "runs": args.runs,
        "questions": min(args.questions or n_all, n_all),
        "gold_questions": n_all,
        "targets": TARGETS,
        "models": [],
    }
    script = SCRIPTS / "bench_llm.py"  # the entry point, run again for each child
    for spec in specs:
        entry = model_entry(spec)
        for t in threads:
            print(f"{spec}, {t} thread(s), load average {loadavg()}", file=sys.stderr)
            run = run_child(script, spec, t, args.questions, args.runs, args.max_tokens)
            entry["runs"][str(t)] = run
            entry.update(name=run["name"], bytes=run["model_bytes"], n_ctx=run["n_ctx"])
            entry["prompt_sizes"] = run.pop("prompt_sizes")
        results["models"].append(entry)
    print(f"extractive, {threads[0]} thread(s)", file=sys.stderr)
    results["extractive"] = run_child(
        script, EXTRACTIVE, threads[0], args.questions, args.runs, args.max_tokens
    )
    results["machine"]["loadavg_end"] = loadavg()
    results["machine"]["minutes"] = round((time.perf_counter() - started) / 60, 1)

    text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    section = readme_section(results)
    print(section)
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        write_block("bench-llm", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
