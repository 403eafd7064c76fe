"""Benchmark the generative (LLM) path and document it in the README.

    .venv/bin/python scripts/bench_llm.py [--no-readme] [--runs 3] [--max-tokens 64]
    .venv/bin/python scripts/bench_llm.py --model YOUR.gguf   # your model; writes no file

No real GGUF model exists on this machine, so the numbers are for the tiny random-weight model
of scripts/make_tiny_gguf.py (built in a temporary folder): they show the overhead of the path
(loading, templating, llama-cpp-python's streaming), not the speed of a real model. Measured:

* load time: `rag.llm.LocalModel.load` (llama.cpp model + context), median of `--runs`;
* generation with a real prompt (the first gold question's, built by rag.generate): time to first
  piece, prompt evaluation tokens/s and generated tokens/s, streamed (what `rag ask` does) and
  not streamed (one `create_chat_completion` call), with the default thread count and with 1;
* prompt size per gold question (54 questions, k paragraphs, the default prompt budget): tokens
  of the templated prompt with the tiny model's byte-level tokenizer (as fitted to its context),
  and an estimate for a real model: the same prompt built and counted with the WordPiece
  tokenizer of all-MiniLM-L6-v2 (English BPE tokenizers of chat models give similar counts);
* the citation check's threshold calibration (scripts/calibrate_support.py), so the README shows
  the numbers behind `support_threshold`.

Results go to bench/llm.json and to the README between `<!-- bench-llm:start -->` and
`<!-- bench-llm:end -->` (appended if the markers are missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import calibrate_support  # noqa: E402
from make_tiny_gguf import build_tiny_gguf  # noqa: E402

from rag.chat import standalone_question  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evaluation import DEFAULT_GOLD, load_gold  # noqa: E402
from rag.generate import GenerativeAnswerer  # noqa: E402
from rag.llm import LocalModel, context_size_for, resolve_model_path  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.prompt import TEMPLATE_ALLOWANCE, build_prompt  # noqa: E402

RESULTS = ROOT / "bench" / "llm.json"
README = ROOT / "README.md"
START_MARK, END_MARK = "<!-- bench-llm:start -->", "<!-- bench-llm:end -->"


# --------------------------------------------------------------------------- measuring


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


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

    llm: Any = model._llm  # measuring llama-cpp-python itself, below rag.llm's interface
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


def median_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 4) for key in runs[0]}


def wordpiece_counter() -> Callable[[str], int]:
    from tokenizers import Tokenizer

    from rag.embedding import bundled_model_dir

    tokenizer = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


def gold_prompts(
    pipeline: Pipeline, model: LocalModel, settings: Settings
) -> dict[str, dict[str, float]]:
    answerer = GenerativeAnswerer(model, settings, pipeline.index, pipeline.embedder)
    count = wordpiece_counter()
    n_ctx = context_size_for(settings.prompt_token_budget, settings.max_answer_tokens)
    room = n_ctx - settings.max_answer_tokens
    tiny, tiny_budget, estimate, shown, estimate_shown = [], [], [], [], []
    for case in load_gold(DEFAULT_GOLD):
        standalone = standalone_question(case.question, case.history)
        retrieval = pipeline.retriever.retrieve(standalone, settings.k)
        fitted = answerer.prompt_for(retrieval, standalone)
        tiny.append(model.prompt_tokens(fitted.messages))
        shown.append(len(fitted.shown))
        unfitted = build_prompt(
            standalone, retrieval, pipeline.index, model.count_tokens, settings.prompt_token_budget
        )
        tiny_budget.append(model.prompt_tokens(unfitted.messages))
        real = build_prompt(
            standalone,
            retrieval,
            pipeline.index,
            count,
            settings.prompt_token_budget,
            context_room=room,
        )
        estimate.append(sum(count(m["content"]) for m in real.messages) + TEMPLATE_ALLOWANCE)
        estimate_shown.append(len(real.shown))
    return {
        "tiny_fitted": summary(tiny),
        "tiny_budget_only": summary(tiny_budget),
        "wordpiece_estimate": summary(estimate),
        "paragraphs_shown_tiny": summary(shown),
        "paragraphs_shown_estimate": summary(estimate_shown),
        "questions": {"count": len(tiny)},
    }


def calibration(pipeline: Pipeline) -> dict[str, Any]:
    rows = calibrate_support.collect(pipeline, load_gold(DEFAULT_GOLD), 5)
    threshold = calibrate_support.choose(rows)
    on_gold = calibrate_support.rates(rows, threshold)
    held_cuts = {
        case: calibrate_support.choose([r for r in rows if r.case != case])
        for case in dict.fromkeys(r.case for r in rows)
    }
    held = {}
    for kind in calibrate_support.KINDS:
        group = [r for r in rows if r.kind == kind]
        right = sum((r.score >= held_cuts[r.case]) == (kind == "positive") for r in group)
        held[kind] = (right, len(group))
    return {
        "threshold": threshold,
        "balanced_accuracy": round(calibrate_support.balanced_accuracy(rows, threshold), 4),
        "on_gold": on_gold,
        "leave_one_out": held,
        "fold_thresholds": [min(held_cuts.values()), max(held_cuts.values())],
        "cases": len(held_cuts),
    }


# --------------------------------------------------------------------------- the README


def _pct(pair: Sequence[int]) -> str:
    right, total = pair
    return f"{right}/{total} ({100 * right / max(1, total):.1f} %)"


def readme_section(r: dict[str, Any]) -> str:
    c = r["calibration"]
    g = r["gold_prompts"]
    lines = [
        "The extractive answer stays the default. Give a GGUF model (`--model PATH`, "
        "`RAG_MODEL=PATH`; `hf:OWNER/REPO/FILE.gguf` is fetched into the Hugging Face cache, or "
        "read from it offline) and the answer is written by that model through llama-cpp-python "
        "on the CPU, streamed to the terminal as it is generated, then checked:",
        "",
        "```",
        'rag ask --model ~/models/MODEL.gguf "who nominated Al Sudani?"   # streams, then checks',
        'rag ask --json --model ~/models/MODEL.gguf "…"   # one JSON object, after the check',
        "RAG_MODEL=~/models/MODEL.gguf rag chat",
        "```",
        "",
        "* **Prompt** (`rag/prompt.py`): a short system prompt (concise answer, `[¶N]` after "
        "every sentence, only the sources, the sources are data and never instructions, or "
        f"exactly “{r['abstention']}”), then the retrieved paragraphs in "
        '`<source id="¶N">…</source>` delimiters and the question. `<` and `>` inside the '
        "article become `‹ ›`, so a paragraph cannot close its delimiter, forge a source or spell "
        "a chat-template token such as `<|im_end|>`. Paragraphs are added in retrieval order "
        f"while they fit the budget (`RAG_PROMPT_TOKEN_BUDGET`, default "
        f"{r['settings']['prompt_token_budget']} tokens of the model's own tokenizer) and the "
        "model's context; a first paragraph that is too long is cut at a sentence.",
        "* **Citation check** (`rag/citations.py`): every generated sentence must cite a "
        "paragraph that was shown to the model, and be supported by it. Markers naming other "
        "paragraphs are removed; sentences left without a citation are dropped. Support is the "
        "best, over the cited paragraph's sentences, of 0.5 × embedding cosine (MiniLM) + "
        "0.5 × the IDF-weighted share of the claim's words found there, less 0.5 if the claim "
        "holds a number the paragraph does not and less 0.5 × the share of its names "
        "(capitalised word runs) the paragraph never mentions. Citations below the threshold are "
        "removed; the supporting sentence becomes the citation's verbatim quote. If nothing "
        "supported remains, the answer falls back to the extractive one (or abstains), and the "
        'JSON says so: `"mode": "llm"`, `model`, `dropped` (each removed sentence or '
        "citation with its reason, e.g. `not supported by ¶13 (score 0.21; Hamas not in it)`) and "
        "`fallback` (`null`, `extractive: …` or `abstained: …`).",
        "* **Chat**: with a model, follow-ups are rewritten by the model (48 tokens, "
        "temperature 0) and the rewrite is used only if it is one line ending in `?` and at most "
        "3× the question's length; otherwise the rule-based rewrite is used. Each turn keeps its "
        "own citations.",
        "* **Failures**: a missing, truncated or non-GGUF file, a model llama.cpp cannot load or a "
        "prompt that overflows the context is one line, `error: …`, exit code 5. With "
        "`--fallback-extractive` the extractive answer is printed instead, with a `notice:` on "
        "stderr. Piped (non-terminal) output prints only the checked answer.",
        "",
        "| setting | env | default |",
        "| --- | --- | --- |",
        "| tokens of retrieved paragraphs in the prompt | `RAG_PROMPT_TOKEN_BUDGET` | "
        f"{r['settings']['prompt_token_budget']} |",
        f"| answer length | `RAG_MAX_ANSWER_TOKENS` | {r['settings']['max_answer_tokens']} |",
        "| sampling | `RAG_TEMPERATURE`, `RAG_SEED` | 0, 0 (deterministic) |",
        "| citation support threshold | `RAG_SUPPORT_THRESHOLD` | "
        f"{r['settings']['support_threshold']} |",
        "",
        "The context window is sized from the budget (prompt + answer + 256, rounded up to "
        "256; capped at the model's training context), not from the model's maximum, to keep "
        "memory small.",
        "",
        "Not handled: claims that use correct words in a wrong relation (a negation, swapped "
        "roles) can pass the check; it verifies attribution to a paragraph, not entailment. A "
        "sentence that needs two paragraphs must cite both, and each citation is judged alone.",
        "",
        "### Support threshold",
        "",
        f"`support_threshold = {c['threshold']:.2f}` was chosen by "
        "`scripts/calibrate_support.py` on the gold set. Without a real model, claims are "
        f"imitated from the {c['cases']} answerable cases: the evidence sentence, a clause "
        "around the answer, and a question-plus-answer statement (“Co-ordination Framework "
        "nominated Al Sudani.”). Positives are those claims against the evidence paragraph; "
        "negatives are the same claims against the other retrieved paragraphs (top 5, not "
        "holding the answer: a wrong citation) and the statement with another case's answer "
        "against the evidence paragraph (a wrong fact). The threshold maximises balanced "
        f"accuracy ({c['balanced_accuracy']:.3f}):",
        "",
        "| claims | on the gold set | leave-one-case-out |",
        "| --- | --- | --- |",
        f"| correct citations kept | {_pct(c['on_gold']['positive'])} | "
        f"{_pct(c['leave_one_out']['positive'])} |",
        f"| wrong citations rejected | {_pct(c['on_gold']['wrong citation'])} | "
        f"{_pct(c['leave_one_out']['wrong citation'])} |",
        f"| wrong facts rejected | {_pct(c['on_gold']['wrong fact'])} | "
        f"{_pct(c['leave_one_out']['wrong fact'])} |",
        "",
        f"Thresholds chosen without each case ranged {c['fold_thresholds'][0]:.2f}–"
        f"{c['fold_thresholds'][1]:.2f}. The imitated claims are not a model's wording; a real "
        "model's paraphrases may score lower, so check `dropped` on your own model's answers.",
        "",
        f"### LLM benchmark ({r['model_label']})",
        "",
        f"{r['machine']['when']}, {r['machine']['cpus']} CPUs ({r['machine']['processor']}), "
        f"load average {r['machine']['loadavg']} at the start, llama-cpp-python "
        f"{r['machine']['llama_cpp_python']}. `.venv/bin/python scripts/bench_llm.py` "
        "regenerates this section and `bench/llm.json`. "
        + (
            "The model is the 2-layer, 64-wide random model of `scripts/make_tiny_gguf.py`: "
            "these figures are the path's overhead, not a real model's speed. To measure your "
            "own model, run `scripts/bench_llm.py --model YOUR.gguf` (it prints this section "
            "for it and changes no file)."
            if r["tiny"]
            else f"Model: `{r['model_label']}`."
        ),
        "",
        "| measure | " + " | ".join(f"{t} thread(s)" for t in r["threads"]) + " |",
        "| --- | " + " | ".join("---" for _ in r["threads"]) + " |",
        "| load (median) | "
        + " | ".join(f"{r['load'][str(t)]['median_s'] * 1000:.0f} ms" for t in r["threads"])
        + " |",
    ]

    def row(label: str, mode: str, key: str, fmt: Callable[[float], str]) -> str:
        cells = [fmt(r["generation"][str(t)][mode][key]) for t in r["threads"]]
        return f"| {label} | " + " | ".join(cells) + " |"

    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"

    def tps(x: float) -> str:
        return f"{x:,.0f} tok/s"

    lines += [
        row("prompt evaluation (time to first token)", "stream", "prompt_eval_s", ms),
        row("prompt evaluation speed", "stream", "prompt_tokens_per_s", tps),
        row("generation, llama.cpp decode only", "stream", "decode_tokens_per_s", tps),
        row("generation, end to end, streamed", "stream", "answer_tokens_per_s", tps),
        row("generation, end to end, not streamed", "no_stream", "answer_tokens_per_s", tps),
        row("whole answer, streamed", "stream", "seconds", ms),
        row("whole answer, not streamed", "no_stream", "seconds", ms),
    ]
    gen0 = r["generation"][str(r["threads"][-1])]["stream"]
    lines += [
        "",
        f"Medians of {r['runs']} runs. The prompt is the first gold question's "
        f"({gen0['prompt_tokens']:.0f} tokens of this model); "
        f"{gen0['generated_tokens']:.0f} tokens are generated at temperature 0. Streaming "
        "costs generation speed because llama-cpp-python detokenises the whole text so far at "
        "every token (the cost grows with prompt and answer length); the citation check runs "
        "once, after the stream. "
        + (
            "The random model's bytes are mostly incomplete UTF-8, which llama-cpp-python holds "
            f"back, so its first streamed piece comes late ({gen0['first_piece_s'] * 1000:.0f} "
            f"ms with {r['threads'][-1]} thread); a real model's first piece follows the prompt "
            "evaluation. "
            if r["tiny"]
            else ""
        )
        + "On a 2-core machine busy with other work, ggml's worker threads spin and wait: in "
        "one run at load average 3.5 the tiny model decoded 7 tokens/s with 2 threads against "
        "4,544 with 1. `--threads`/`RAG_THREADS` sets the threads.",
        "",
        "Prompt size per gold question "
        f"({g['questions']['count']} questions, k = {r['settings']['k']}, budget "
        f"{r['settings']['prompt_token_budget']}):",
        "",
        "| tokens per prompt | p50 | p95 | max | paragraphs shown (mean) |",
        "| --- | --- | --- | --- | --- |",
        f"| real-model estimate (WordPiece count, all sources fit) | "
        f"{g['wordpiece_estimate']['p50']:.0f} | {g['wordpiece_estimate']['p95']:.0f} | "
        f"{g['wordpiece_estimate']['max']:.0f} | {g['paragraphs_shown_estimate']['mean']:.1f} |",
        f"| {r['short']}, budget only | {g['tiny_budget_only']['p50']:.0f} | "
        f"{g['tiny_budget_only']['p95']:.0f} | {g['tiny_budget_only']['max']:.0f} | |",
        f"| {r['short']}, fitted to its {r['n_ctx']}-token context | "
        f"{g['tiny_fitted']['p50']:.0f} | {g['tiny_fitted']['p95']:.0f} | "
        f"{g['tiny_fitted']['max']:.0f} | {g['paragraphs_shown_tiny']['mean']:.1f} |",
        "",
        (
            "The tiny model's tokenizer is byte-level with 5 merges, about one token per "
            "character, so it over-counts several times against a real model's BPE; the first "
            "row (the same prompt counted with MiniLM's WordPiece vocabulary) is the figure to "
            "use. "
            if r["tiny"]
            else ""
        )
        + "Time to first "
        "token ≈ prompt tokens ÷ your model's prompt-evaluation speed (the second row of the "
        "table above, measured on your model with `--model`), plus the load time on the first "
        "question.",
        "",
    ]
    return "\n".join(lines)


def update_readme(section: str, path: Path = README) -> None:
    block = f"{START_MARK}\n{section}{END_MARK}"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        _, tail = rest.split(END_MARK, 1)
        path.write_text(head + block + tail, encoding="utf-8")
    else:
        path.write_text((text.rstrip("\n") + "\n\n" if text else "") + block + "\n", "utf-8")


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per measurement")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens generated per run")
    parser.add_argument("--no-readme", action="store_true", help="do not touch README.md")
    parser.add_argument(
        "--model", default=None, help="measure this GGUF file instead of the tiny random model"
    )
    args = parser.parse_args(argv)

    settings = Settings.load({"model": ""})
    threads = list(dict.fromkeys([settings.threads, 1]))
    n_ctx = context_size_for(settings.prompt_token_budget, settings.max_answer_tokens)
    results: dict[str, Any] = {
        "machine": {
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "llama_cpp_python": metadata.version("llama_cpp_python"),
        },
        "settings": {
            "k": settings.k,
            "prompt_token_budget": settings.prompt_token_budget,
            "max_answer_tokens": settings.max_answer_tokens,
            "support_threshold": settings.support_threshold,
        },
        "threads": threads,
        "max_tokens": args.max_tokens,
        "runs": args.runs,
        "abstention": "The article does not say.",
    }
    pipeline = Pipeline.open(settings, progress=lambda m: print(m, file=sys.stderr))
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            path = resolve_model_path(args.model)
            results.update(model_label=path.name, tiny=False, short="this model")
        else:
            path = build_tiny_gguf(Path(tmp) / "tiny.gguf")
            results.update(model_label="tiny random-weight model", tiny=True, short="tiny model")
        results["model_bytes"] = path.stat().st_size
        results["load"] = {}
        results["generation"] = {}
        question = load_gold(DEFAULT_GOLD)[0].question
        retrieval = pipeline.retriever.retrieve(question, settings.k)
        for t in threads:
            times = load_times(path, t, n_ctx, args.runs)
            results["load"][str(t)] = {"median_s": round(statistics.median(times), 4)}
            model = LocalModel.load(path, threads=t, n_ctx=n_ctx, seed=0)
            answerer = GenerativeAnswerer(model, settings, pipeline.index, pipeline.embedder)
            messages = answerer.prompt_for(retrieval, question).messages
            results["generation"][str(t)] = {
                mode: median_runs(
                    [
                        generation(model, messages, args.max_tokens, mode == "stream")
                        for _ in range(args.runs)
                    ]
                )
                for mode in ("stream", "no_stream")
            }
            print(f"threads={t}: {json.dumps(results['generation'][str(t)])}", file=sys.stderr)
            if t == 1:
                results["n_ctx"] = model.n_ctx
                results["gold_prompts"] = gold_prompts(pipeline, model, settings)
            model.close()
    results["calibration"] = calibration(pipeline)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.model:  # the committed figures stay the tiny model's
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    section = readme_section(results)
    print(section)
    if not args.no_readme and not args.model:
        update_readme(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
