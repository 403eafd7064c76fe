"""Benchmark: cold start, warm latency, indexing and scale, written to bench/ and the README
(run as scripts/bench.py, whose docstring shows the command lines).

What is measured (every child process is timed with time.perf_counter and its peak RSS read
from os.wait4, so memory is the child's own maximum):

* cold `rag ask "…" --json` against a prebuilt index, beside a straightforward script a typical
  project would write (sentence-transformers + FAISS, same model, same vectors); medians;
* warm latency in one process: Pipeline.open once, 3 warm-up questions, then every gold question
  (follow-ups after their replayed history, untimed) `--rounds` times; p50/p95 of total,
  retrieve and answer;
* `rag index` on the article: wall time, passages/s, torch embedding rate, size on disk;
* scale tiers of synthetic news paragraphs (scripts/synthetic_corpus.py): build (embedding and
  indexing apart), peak memory and warm query latency of a fresh process, and flat against
  HNSW FAISS search (latency at the retrieval depth, recall@10).

Embeddings of the synthetic tiers are computed with the ONNX export of the same MiniLM model
(identical vectors to sentence-transformers within 1e-6, about 1.5-3x faster on this CPU) and cached
in bench/cache/ by (seed, size, mode). Tiers up to `--full-embed-max` paragraphs embed every
passage; above it only the unique-sentence pool is embedded and each paragraph's vector is the
normalised mean of its sentences' vectors (the README notes say so). FAISS, BM25, loading and
querying are always real.

Internally the script re-runs itself with `--worker NAME` for the measurements that need a
fresh process. This module measures the article, runs the tiers in order and holds the command
line; the other parts are listed in the package's docstring (scripts/benchmark/__init__.py).
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.config import SEED_ARTICLES

from .blocks import write_block
from .common import (
    BENCH_DIR,
    Child,
    child_env,
    cpu_model,
    folder_bytes,
    loadavg,
    log,
    run_child,
    worker,
)
from .report import markdown, plot
from .tiers import bench_tier, w_build
from .workers import w_ann, w_embed_rate, w_serve

RESULTS = BENCH_DIR / "results.json"
PLOT = BENCH_DIR / "scale.png"
RAG = Path(sys.executable).parent / "rag"
COLD_QUESTION = "Who nominated Al Sudani?"
WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "embed-rate": w_embed_rate,
    "serve": w_serve,
    "build": w_build,
    "ann": w_ann,
}

# The "straightforward path": what a typical project does for one question.
STRAIGHTFORWARD = r"""
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import faiss
from sentence_transformers import SentenceTransformer

model_dir, index_dir, question = sys.argv[1:4]
model = SentenceTransformer(model_dir, device="cpu")
index = faiss.read_index(os.path.join(index_dir, "vectors.faiss"))
texts = []
with open(os.path.join(index_dir, "documents.json"), encoding="utf-8") as handle:
    for document in json.load(handle):
        for paragraph in document["paragraphs"]:
            texts.append(paragraph["text"])
            if len(paragraph["sentences"]) > 1:
                texts.extend(paragraph["text"][s:e] for s, e in paragraph["sentences"])
query = model.encode([question], normalize_embeddings=True)
scores, ids = index.search(query, 3)
print(texts[ids[0][0]])
"""


# --- the benchmark ---------------------------------------------------------------------------


def bench_article(work: Path, runs: int, rounds: int) -> dict[str, Any]:
    sources = sorted(str(p) for p in SEED_ARTICLES.glob("*.txt"))
    index_dir = work / "article"
    log("rag index on the article")
    child = run_child([str(RAG), "index", *sources], child_env(index_dir))
    build = (index_dir / "current").resolve()
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    rate, _ = worker("embed-rate", {"sources": sources})
    index = {
        "wall_s": round(child.wall_s, 3),
        "build_s": manifest["build_seconds"],
        "peak_mib": round(child.peak_mib, 1),
        "paragraphs": manifest["counts"]["paragraphs"],
        "passages": manifest["counts"]["passages"],
        "passages_per_s": round(manifest["counts"]["passages"] / manifest["build_seconds"], 2),
        "embed_passages_per_s": round(rate["passages_per_s"], 1),
        "size_bytes": folder_bytes(build),
        "size_bytes_without_encoder": folder_bytes(build) - folder_bytes(build / "query_encoder"),
    }
    log(f"index: {index}")

    from rag.embedding.model import bundled_model_dir

    script = work / "straightforward.py"
    script.write_text(STRAIGHTFORWARD, encoding="utf-8")
    ours_cmd = [str(RAG), "ask", COLD_QUESTION, "--json"]
    plain_cmd = [sys.executable, str(script), str(bundled_model_dir()), str(build), COLD_QUESTION]
    env = child_env(index_dir)
    run_child(ours_cmd, env)  # one untimed run each: page cache warm, as for a user's 2nd ask
    plain_first = run_child(plain_cmd, env)
    ours: list[Child] = []
    plain: list[Child] = []
    log(f"cold runs ×{runs}")
    for _ in range(runs):  # interleaved, so background load hits both alike
        ours.append(run_child(ours_cmd, env))
        plain.append(run_child(plain_cmd, env))
    answer = json.loads(ours[-1].stdout)
    cold = {
        "question": COLD_QUESTION,
        "runs": runs,
        "ours_s": [round(c.wall_s, 3) for c in ours],
        "straightforward_s": [round(c.wall_s, 3) for c in plain],
        "ours_median_s": round(statistics.median(c.wall_s for c in ours), 3),
        "straightforward_median_s": round(statistics.median(c.wall_s for c in plain), 3),
        "ours_peak_mib": round(statistics.median(c.peak_mib for c in ours), 1),
        "straightforward_peak_mib": round(statistics.median(c.peak_mib for c in plain), 1),
        "ours_answer": answer["answer"],
        "straightforward_top": plain_first.stdout.strip(),
    }
    cold["speedup"] = round(cold["straightforward_median_s"] / cold["ours_median_s"], 1)
    cold["memory_ratio"] = round(cold["straightforward_peak_mib"] / cold["ours_peak_mib"], 1)
    log(
        f"cold: ours {cold['ours_median_s']} s, straightforward "
        f"{cold['straightforward_median_s']} s, ×{cold['speedup']}"
    )

    log("warm latency")
    warm, child = worker("serve", {"index_dir": str(index_dir), "rounds": rounds})
    warm["peak_mib"] = round(child.peak_mib, 1)
    log(f"warm: total {warm['total_ms']}")
    return {"index": index, "cold": cold, "warm": warm, "index_dir": str(index_dir)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_start = loadavg()
    results: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_start": load_start,
        },
        "settings": {
            "quick": args.quick,
            "runs": args.runs,
            "rounds": args.rounds,
            "tiers": args.tiers,
            "seed": args.seed,
        },
    }
    from rag.config import Settings

    results["ann_min_vectors"] = args.ann_min_vectors or Settings().ann_min_vectors
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        article = bench_article(work, args.runs, args.rounds)
        results.update(index=article["index"], cold=article["cold"], warm=article["warm"])
        encoder_dir = Path(article["index_dir"]) / "current" / "query_encoder"
        results["tiers"] = [
            bench_tier(
                n,
                args.seed,
                work,
                encoder_dir,
                args.full_embed_max,
                args.rounds,
                args.ann_min_vectors,
                sweep=n == max(args.tiers),
            )
            for n in args.tiers
        ]
    results["machine"]["load_end"] = loadavg()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark rag; writes bench/ and the README.")
    parser.add_argument("--quick", action="store_true", help="fewer runs, tiers 1k and 10k")
    parser.add_argument("--tiers", default=None, help="paragraph counts, e.g. 1000,10000,100000")
    parser.add_argument("--runs", type=int, default=None, help="cold runs of each (≥ 5)")
    parser.add_argument("--rounds", type=int, default=None, help="passes over the gold set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--full-embed-max",
        type=int,
        default=10_000,
        help="largest tier whose every passage is embedded",
    )
    parser.add_argument(
        "--ann-min-vectors",
        type=int,
        default=None,
        help="override Settings.ann_min_vectors for the tiers",
    )
    parser.add_argument("--no-readme", action="store_true", help="do not touch the README or docs/")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="only redraw the plot and README from a results file",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("worker_args", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](json.loads(args.worker_args))))
        return 0
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        args.tiers = [
            int(t)
            for t in (args.tiers or ("1000,10000" if args.quick else "1000,10000,100000")).split(
                ","
            )
        ]
        args.runs = max(5, args.runs or (5 if args.quick else 7))
        args.rounds = args.rounds or (1 if args.quick else 2)
        results = run(args)
        BENCH_DIR.mkdir(exist_ok=True)
        RESULTS.write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if results["tiers"]:
        plot(results, PLOT)
    section = markdown(results)
    if not args.no_readme:
        write_block("bench", section)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
