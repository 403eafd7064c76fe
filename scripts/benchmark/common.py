"""Shared by the benchmark's parts: paths, running a timed child process (wall time and peak
RSS), the statistics the tables report, and small facts about the machine.

Not here: what is measured (workers, tiers, llm_measure), in what order (run, llm) or how it is
reported (report, blocks).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parents[1]
ROOT = SCRIPTS.parent
BENCH_DIR = ROOT / "bench"
CACHE_DIR = BENCH_DIR / "cache"
BENCH_SCRIPT = SCRIPTS / "bench.py"  # the entry point; runs `--worker NAME` children


@dataclass
class Child:
    wall_s: float
    peak_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_child(
    cmd: Sequence[str], env: dict[str, str] | None = None, timeout_s: float = 3600
) -> Child:
    """Run a command; wall time by perf_counter, peak RSS of that child from os.wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=ROOT)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.002)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        child = Child(
            wall,
            usage.ru_maxrss / 1024,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
    if child.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:4])}… exited {child.returncode}: {child.stderr[-2000:]}"
        )
    return child


def child_env(index_dir: Path | None = None) -> dict[str, str]:
    """The children's environment: no RAG_* settings but RAG_READER, the reader measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k == "RAG_READER"}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONHASHSEED="0")
    if index_dir is not None:
        env["RAG_INDEX_DIR"] = str(index_dir)
    return env


def worker(name: str, args: dict[str, Any], env: dict[str, str] | None = None) -> tuple[Any, Child]:
    child = run_child(
        [sys.executable, str(BENCH_SCRIPT), "--worker", name, json.dumps(args)],
        env or child_env(),
    )
    return json.loads(child.stdout.strip().splitlines()[-1]), child


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "mean": round(statistics.fmean(values), 3),
        "n": len(values),
    }


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp} load {os.getloadavg()[0]:.2f}] {message}", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
