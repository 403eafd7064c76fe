"""Measurements for the LLM benchmark (scripts/bench_llm.py): one model on one thread count, in
a fresh process.

`measure(spec, threads, …)` is what a child process of the LLM benchmark runs (`run_child` starts it
and reads its JSON): it opens the pipeline with `threads` CPU threads everywhere, then

* load time: `rag.llm.runtime.LocalModel.load` (llama.cpp model + context), median of `runs`;
* prefix reuse: time to first token of one prompt with the cache defeated (`Llama.reset()`),
  asked again straight away, and of a second question asked right after the first (llama-cpp-python
  keeps the longest common token prefix of the previous prompt: the constant system message);
* speed on the first gold question's prompt, cache defeated: prompt evaluation and decode
  tokens/s from llama.cpp's own counters, streamed (what `rag ask` does) and in one call;
* the gold questions through the real `Pipeline` in model mode (model loaded once, warmed with
  the system message): time from the question to the first streamed piece and to the checked
  `Answer`, per question; questions the support check abstains on never reach the model;
* peak resident memory of the process (VmHWM from /proc/self/status, else ru_maxrss) after all of
  that: the pipeline, the model (its mmapped weights count once touched) and the answers;
* the size of each gold question's prompt in the model's own tokens.

With spec "extractive" only the pipeline (no model) answers the gold questions: the baseline
for latency and memory. Nothing here writes files except the child's JSON.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.answer.generative import GenerativeAnswerer
from rag.answer.prompt import system_prompt
from rag.config import Settings
from rag.errors import ModelError
from rag.evaluation.gold import CHECKOUT_GOLD, GoldCase, load_gold
from rag.evaluation.replay import replay_history
from rag.llm.resolve import model_display_name
from rag.llm.runtime import LocalModel, context_size_for
from rag.pipeline import Pipeline
from rag.results import Answer

TINY, EXTRACTIVE = "tiny", "extractive"
FIRST_TOKEN_MAX = 4  # tokens generated when only the first one is timed


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 0.5), digits),
        "p95": round(percentile(values, 0.95), digits),
        "max": round(max(values), digits),
        "mean": round(statistics.fmean(values), digits),
    }


def median_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 4) for key in runs[0]}


def peak_rss_mb() -> dict[str, float]:
    """The process's peak resident set: VmHWM (Linux) and ru_maxrss (KiB on Linux)."""
    out = {"ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["vmhwm_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- llama.cpp level


def load_times(path: Path, threads: int, n_ctx: int, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model = LocalModel.load(path, threads=threads, n_ctx=n_ctx, seed=0)
        times.append(time.perf_counter() - started)
        model.close()
    return times


def generation(
    model: LocalModel, messages: list[dict[str, str]], max_tokens: int, stream: bool
) -> dict[str, float]:
    """One answer from an empty cache, timed end to end and by llama.cpp's own counters."""
    import llama_cpp

    llm: Any = model._llm  # measuring llama-cpp-python itself, below rag.llm.runtime's interface
    n_prompt = model.prompt_tokens(messages)
    llm.reset()  # no prompt-prefix reuse between runs
    llama_cpp.llama_perf_context_reset(llm.ctx)
    started = time.perf_counter()
    first = float("nan")
    if stream:
        for i, _ in enumerate(model.chat_stream(messages, max_tokens=max_tokens, temperature=0.0)):
            if i == 0:
                first = time.perf_counter() - started
        generated = int(llm.n_tokens) - n_prompt + 1
    else:
        out = llm.create_chat_completion(
            messages=messages,
            max_tokens=max_tokens,
            temperature=0.0,
            seed=0,
            logits_processor=model._end_at(n_prompt + max_tokens),  # same bound as streaming
        )
        generated = int(out["usage"]["completion_tokens"])
    total = time.perf_counter() - started
    perf = llama_cpp.llama_perf_context(llm.ctx)
    prompt_s = perf.t_p_eval_ms / 1000
    return {
        "prompt_tokens": n_prompt,
        "generated_tokens": generated,
        "seconds": total,
        "prompt_eval_s": prompt_s,
        "first_piece_s": first,
        "prompt_tokens_per_s": perf.n_p_eval / max(prompt_s, 1e-9),
        "decode_tokens_per_s": perf.n_eval / max(perf.t_eval_ms / 1000, 1e-9),
        "answer_tokens_per_s": generated / max(total - prompt_s, 1e-9),
    }


def first_token(model: LocalModel, messages: list[dict[str, str]], reset: bool) -> dict[str, float]:
    """Seconds to the first streamed piece, and the prompt tokens llama.cpp evaluated for it
    (the rest came from the previous prompt's cache unless `reset`)."""
    import llama_cpp

    llm: Any = model._llm
    if reset:
        llm.reset()
    llama_cpp.llama_perf_context_reset(llm.ctx)
    started = time.perf_counter()
    stream = model.chat_stream(messages, max_tokens=FIRST_TOKEN_MAX, temperature=0.0)
    try:
        next(stream, None)
        seconds = time.perf_counter() - started
    finally:
        getattr(stream, "close", lambda: None)()  # releases the model's lock
    perf = llama_cpp.llama_perf_context(llm.ctx)
    return {"seconds": seconds, "evaluated": perf.n_p_eval}


def prefix_reuse(
    model: LocalModel,
    first: list[dict[str, str]],
    second: list[dict[str, str]],
    runs: int,
    system: str,
) -> dict[str, Any]:
    """Time to first token of `second` with the cache defeated and right after `first`, and of
    `first` asked twice in a row (medians of `runs`)."""
    rows: list[dict[str, float]] = []
    for _ in range(runs):
        cold_first = first_token(model, first, reset=True)
        same = first_token(model, first, reset=False)
        after_other = first_token(model, second, reset=False)
        cold = first_token(model, second, reset=True)
        rows.append(
            {
                "cold_first_s": cold_first["seconds"],
                "same_question_s": same["seconds"],
                "same_question_evaluated": same["evaluated"],
                "cold_s": cold["seconds"],
                "cold_evaluated": cold["evaluated"],
                "after_other_s": after_other["seconds"],
                "after_other_evaluated": after_other["evaluated"],
            }
        )
    return {
        "prompt_tokens": model.prompt_tokens(second),
        "shared_prefix_tokens": shared_prefix(model, first, second),
        "system_message_tokens": model.count_tokens(system),
        **median_runs(rows),
    }


def shared_prefix(model: LocalModel, a: list[dict[str, str]], b: list[dict[str, str]]) -> int:
    """Leading tokens two formatted prompts have in common: what llama-cpp-python can reuse."""
    llm: Any = model._llm
    ta, tb = (
        llm.tokenize(model.format_prompt(m).encode("utf-8"), add_bos=False, special=True)
        for m in (a, b)
    )
    n = 0
    while n < min(len(ta), len(tb)) and ta[n] == tb[n]:
        n += 1
    return n


# --------------------------------------------------------------------------- pipeline level


def gold_run(pipeline: Pipeline, cases: Sequence[GoldCase]) -> list[dict[str, Any]]:
    """Each case through `Pipeline.stream`, timed (a follow-up after its replayed history, which
    is not timed)."""
    rows = []
    for case in cases:
        first: float | None = None
        answer: Answer | None = None
        try:
            history = replay_history(pipeline, case)
            started = time.perf_counter()
            stream = pipeline.stream(case.question, history)
            for _ in stream:
                if first is None:
                    first = time.perf_counter() - started
            answer = stream.answer
        except ModelError as exc:  # counted, not fatal: the run goes on
            print(f"  {case.id}: error: {exc}", file=sys.stderr)
            rows.append({"id": case.id, "asked": False, "error": str(exc)})
            continue
        whole = time.perf_counter() - started
        assert answer is not None
        timings = answer.timings_ms
        rows.append(
            {
                "id": case.id,
                "asked": "first_token" in timings,  # else abstained before the model
                "first_piece_s": first,
                "whole_s": whole,
                "model_first_token_ms": timings.get("first_token"),
                "generate_ms": timings.get("generate"),
                "retrieve_ms": timings.get("retrieve"),
                "rewrite_ms": timings.get("rewrite"),
                "abstained": answer.abstained,
                "fallback": answer.to_dict().get("fallback"),
            }
        )
        note = "" if rows[-1]["asked"] else " (not asked)"
        print(f"  {case.id}: {whole:.2f} s{note}", file=sys.stderr)
    return rows


def gold_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    asked = [r for r in rows if r["asked"]]
    return {
        "questions": len(rows) + len(errors),
        "errors": len(errors),
        "asked": len(asked),
        "first_piece_s": summary([r["first_piece_s"] for r in asked if r["first_piece_s"]]),
        "model_first_token_s": summary([r["model_first_token_ms"] / 1000 for r in asked]),
        "whole_asked_s": summary([r["whole_s"] for r in asked]),
        "whole_all_s": summary([r["whole_s"] for r in rows]),
        "retrieve_ms": summary([r["retrieve_ms"] for r in rows], 1),
        "fell_back": sum(1 for r in asked if (r["fallback"] or "").startswith("extractive")),
    }


def prompt_sizes(
    model: LocalModel, answerer: GenerativeAnswerer, pipeline: Pipeline
) -> dict[str, Any]:
    """Tokens of each gold question's fitted prompt, in the model's own tokenizer."""
    from rag.chat.rewrite import standalone_question

    tokens, shown = [], []
    for case in load_gold(CHECKOUT_GOLD):
        standalone = standalone_question(case.question, replay_history(pipeline, case))
        retrieval = pipeline.retriever.retrieve(standalone, pipeline.settings.k)
        prompt = answerer.prompt_for(retrieval, standalone)
        tokens.append(model.prompt_tokens(prompt.messages))
        shown.append(len(prompt.shown))
    return {"tokens": summary(tokens, 1), "shown": summary(shown, 2), "questions": len(tokens)}


# --------------------------------------------------------------------------- one child


def model_path(spec: str, settings: Settings, tmp: Path) -> Path:
    if spec == TINY:
        from make_tiny_gguf import build_tiny_gguf

        return build_tiny_gguf(tmp / "tiny.gguf")
    from rag.llm.resolve import resolve_model_path

    return resolve_model_path(spec, settings.models_dir)


def measure(spec: str, threads: int, questions: int | None, runs: int, max_tokens: int) -> dict:
    """Everything for one model (or "extractive") on `threads` threads, in this process."""
    result: dict[str, Any] = {"spec": spec, "threads": threads, "loadavg_start": loadavg()}
    wall = time.perf_counter()
    settings = Settings.load({"model": "", "threads": threads})
    pipeline = Pipeline.open(settings, progress=lambda m: print(m, file=sys.stderr))
    cases = load_gold(CHECKOUT_GOLD)[:questions]
    if spec == EXTRACTIVE:
        rows = gold_run(pipeline, cases)
        result.update(peak=peak_rss_mb(), gold=gold_summary(rows), per_question=rows)
        result.update(loadavg_end=loadavg(), wall_s=round(time.perf_counter() - wall, 1))
        return result
    n_ctx = context_size_for(settings.prompt_token_budget, settings.max_answer_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        path = model_path(spec, settings, Path(tmp))
        result["model_bytes"] = path.stat().st_size
        result["load_s"] = round(statistics.median(load_times(path, threads, n_ctx, runs)), 4)
        name = spec if spec == TINY else model_display_name(spec, path)
        model = LocalModel.load(path, threads=threads, n_ctx=n_ctx, seed=settings.seed, name=name)
        result.update(name=model.name, n_ctx=model.n_ctx)
        answerer = GenerativeAnswerer(
            model, settings, pipeline.index, pipeline.embedder, pipeline.extractive
        )
        result["support_threshold"] = answerer.support_threshold

        def messages(case: GoldCase) -> list[dict[str, str]]:
            retrieval = pipeline.retriever.retrieve(case.question, settings.k)
            return list(answerer.prompt_for(retrieval, case.question).messages)

        gold = load_gold(CHECKOUT_GOLD)
        first, second = messages(gold[0]), messages(gold[1])
        system = system_prompt(answerer.may_abstain)
        result["prefix_reuse"] = prefix_reuse(model, first, second, runs, system)
        print(f"  prefix reuse: {json.dumps(result['prefix_reuse'])}", file=sys.stderr)
        result["generation"] = {
            mode: median_runs(
                [generation(model, first, max_tokens, mode == "stream") for _ in range(runs)]
            )
            for mode in ("stream", "no_stream")
        }
        print(f"  generation: {json.dumps(result['generation'])}", file=sys.stderr)
        # Warm: weights paged in, the constant system message evaluated (as after any answer).
        model.chat(
            [{"role": "system", "content": system}, {"role": "user", "content": "Hi."}],
            max_tokens=1,
            temperature=0.0,
        )
        rows = gold_run(Pipeline(settings, pipeline.index, pipeline.embedder, model), cases)
        result.update(peak=peak_rss_mb(), gold=gold_summary(rows), per_question=rows)
        result["prompt_sizes"] = prompt_sizes(model, answerer, pipeline)
        model.close()
    result.update(loadavg_end=loadavg(), wall_s=round(time.perf_counter() - wall, 1))
    return result


def run_child(
    script: Path, spec: str, threads: int, questions: int | None, runs: int, max_tokens: int
) -> dict[str, Any]:
    """`measure` in a fresh Python process (so its peak memory is the model's and the
    pipeline's alone); its progress goes to our stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(script), "--child", spec, "--child-out", str(out)]
        command += ["--threads", str(threads), "--runs", str(runs), "--max-tokens", str(max_tokens)]
        if questions is not None:
            command += ["--questions", str(questions)]
        subprocess.run(command, check=True)
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return data
