"""Corrupt every file of a real index in several ways; each ask must answer right or say one line.

    python scripts/fuzz_index.py [--write] [--kills N] [--no-damage]

The full run of the fuzzer whose cases are the slow test tests/system/test_fuzz_index.py (which says
what a case is and what a good outcome is, and runs a seeded sample of them): builds the
article's index once (the real `rag index`, in a temporary folder), then runs every file of the
build with every kind of damage. Any bad outcome makes the script exit 1. `--write` puts the table
in the README (or the docs/ page) between the fuzz markers.

With `--kills N` it also starts `rag index` N times and kills it with SIGKILL after a random
0.5-12 s (parse, embedding, FAISS, ONNX export, swap), then asks: every ask must answer right
from the previous or the new index, and no `.tmp-*` build may be taken for the index.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from benchmark.blocks import write_block  # noqa: E402

from tests.fakes import ARTICLE, RAG, child_environment, run_rag  # noqa: E402
from tests.system.test_fuzz_index import DAMAGES, QUESTION, build_files, damaged_ask, outcome  # noqa: E402


def table(results: dict[tuple[str, str], str]) -> str:
    files = sorted({f for f, _ in results})
    short = {
        "rebuilt, answered": "rebuilt ✓",
        "answered": "answered ✓",
        "one error line": "error line ✓",
    }
    lines = ["| file | " + " | ".join(DAMAGES) + " |", "|---" * (len(DAMAGES) + 1) + "|"]
    for name in files:
        cells = [short.get(results[(name, how)], results[(name, how)]) for how in DAMAGES]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    counts = Counter(results.values())
    summary = ", ".join(f"{n} {what}" for what, n in counts.most_common())
    return "\n".join(lines) + f"\n\n{len(results)} cases: {summary}."


def kills(count: int, rng: np.random.Generator, tmp: Path) -> str:
    """Kill `rag index` at random moments; each following ask must answer right."""
    index_dir = tmp / "killed"
    if run_rag("index", str(ARTICLE), index_dir=index_dir).returncode != 0:
        return "FAIL: first build"
    outcomes = []
    for _ in range(count):
        process = subprocess.Popen(
            [*RAG, "index", str(ARTICLE)],
            env=child_environment(index_dir),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=float(rng.uniform(0.5, 12.0)))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        outcomes.append(outcome(run_rag("ask", "--json", QUESTION, index_dir=index_dir)))
        print(f"kill -9: {outcomes[-1]}", flush=True)
    good = sum(not o.startswith("FAIL") for o in outcomes)
    return (
        f"`kill -9` during `rag index`, {count} times at random moments: {good} of {count} "
        "asks after it answered right."
    )


def damage_every_file(tmp: Path, rng: np.random.Generator) -> dict[tuple[str, str], str] | None:
    pristine = tmp / "pristine"
    built = run_rag("index", str(ARTICLE), index_dir=pristine)
    if built.returncode != 0:
        print(built.stderr, file=sys.stderr)
        return None
    results: dict[tuple[str, str], str] = {}
    for name in build_files(pristine):
        for how in DAMAGES:
            results[(name, how)] = damaged_ask(pristine, tmp / "case", name, how, rng)
            print(f"{name:40} {how:9} {results[(name, how)]}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the table in the README")
    parser.add_argument("--kills", type=int, default=0, help="also kill rag index N times")
    parser.add_argument("--no-damage", action="store_true", help="skip the file damage")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    failed = False
    with tempfile.TemporaryDirectory(prefix="rag-fuzz-") as tmp:
        if not args.no_damage:
            results = damage_every_file(Path(tmp), rng)
            if results is None:
                return 1
            section = table(results)
            print(section)
            failed = any(r.startswith("FAIL") for r in results.values())
            if args.write:
                write_block("fuzz", section)
        if args.kills:
            line = kills(args.kills, rng, Path(tmp))
            print(line)
            failed = failed or "FAIL" in line or " 0 of" in line
            if args.write:
                write_block("kills", line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
