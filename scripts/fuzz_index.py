"""Corrupt every file of a real index in several ways; each ask must answer right or say one line.

    python scripts/fuzz_index.py [--write] [--kills N] [--no-damage]

Builds the article's index once (the real `rag index`, in a temporary folder), then for every
file of the build and every kind of damage — truncated to half, zeroed (same size), random bytes
(same size), deleted, and shape-preserving garbage (a .npy with its header kept and random data,
JSON of the wrong shape, a FAISS file of random vectors of the same count and dimension) — it
copies the pristine index, damages the one file and runs `rag ask --json` in a fresh process.

An outcome is good when the ask answers right (exit 0, cites ¶13, names the Co-ordination
Framework), noting whether it rebuilt the index first, or fails with exactly one `error:` line and
no traceback. Anything else is a failure, and the script exits 1. `--write` puts the table in
docs/reliability.md between the fuzz markers.

With `--kills N` it also starts `rag index` N times and kills it with SIGKILL after a random
0.5-12 s (parse, embedding, FAISS, ONNX export, swap), then asks: every ask must answer right
from the previous or the new index, and no `.tmp-*` build may be taken for the index.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from rag.config import SEED_ARTICLES

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = SEED_ARTICLES / "000_5d857531382a8c3c.txt"
QUESTION = "who nominated Al Sudani?"
DAMAGES = ("truncate", "zero", "random", "delete", "garbage")
RAG = [sys.executable, "-m", "rag.cli"]


def run(args: list[str], index_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_INDEX_DIR"] = str(index_dir)
    return subprocess.run(
        [*RAG, *args], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def garbage(path: Path, rng: np.random.Generator) -> None:
    """Damage that keeps the file's outward shape."""
    if path.suffix == ".npy":
        array = np.load(path, allow_pickle=False)
        np.save(path, rng.integers(-(2**31), 2**31, size=array.shape).astype(array.dtype))
    elif path.suffix == ".json":
        original = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps([] if isinstance(original, dict) else {}), encoding="utf-8")
    elif path.suffix == ".faiss":
        import faiss

        index = faiss.read_index(str(path))
        random = faiss.IndexFlatIP(index.d)
        random.add(rng.normal(size=(index.ntotal, index.d)).astype("float32"))
        faiss.write_index(random, str(path))
    else:
        path.write_bytes(rng.integers(0, 256, size=path.stat().st_size, dtype=np.uint8).tobytes())


def damage(path: Path, how: str, rng: np.random.Generator) -> None:
    size = path.stat().st_size
    if how == "truncate":
        path.write_bytes(path.read_bytes()[: size // 2])
    elif how == "zero":
        path.write_bytes(bytes(size))
    elif how == "random":
        path.write_bytes(rng.integers(0, 256, size=size, dtype=np.uint8).tobytes())
    elif how == "delete":
        path.unlink()
    else:
        garbage(path, rng)


def outcome(done: subprocess.CompletedProcess[str]) -> str:
    if "Traceback" in done.stderr:
        return "FAIL: traceback"
    if done.returncode == 0:
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            return "FAIL: no JSON"
        right = "Co-ordination Framework" in answer["answer"] and any(
            c["paragraph"] == 13 for c in answer["citations"]
        )
        if not right:
            return "FAIL: wrong answer"
        return "rebuilt, answered" if "building the index" in done.stderr else "answered"
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    if len(errors) == 1 and done.stderr.strip().splitlines()[-1] == errors[0]:
        return "one error line"
    return f"FAIL: exit {done.returncode}"


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
    if run(["index", str(ARTICLE)], index_dir).returncode != 0:
        return "FAIL: first build"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_INDEX_DIR"] = str(index_dir)
    outcomes = []
    for _ in range(count):
        process = subprocess.Popen(
            [*RAG, "index", str(ARTICLE)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=float(rng.uniform(0.5, 12.0)))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        outcomes.append(outcome(run(["ask", "--json", QUESTION], index_dir)))
        print(f"kill -9: {outcomes[-1]}", flush=True)
    good = sum(not o.startswith("FAIL") for o in outcomes)
    return (
        f"`kill -9` during `rag index`, {count} times at random moments: {good} of {count} "
        "asks after it answered right."
    )


def write_readme(section: str, marker: str = "fuzz") -> None:
    readme = ROOT / "docs" / "reliability.md"
    text = readme.read_text(encoding="utf-8")
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{section}\n{end}{after}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the table in docs/reliability.md")
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
                write_readme(section)
        if args.kills:
            line = kills(args.kills, rng, Path(tmp))
            print(line)
            failed = failed or "FAIL" in line or " 0 of" in line
            if args.write:
                write_readme(line, "kills")
    return 1 if failed else 0


def damage_every_file(tmp: Path, rng: np.random.Generator) -> dict[tuple[str, str], str] | None:
    pristine = tmp / "pristine"
    built = run(["index", str(ARTICLE)], pristine)
    if built.returncode != 0:
        print(built.stderr, file=sys.stderr)
        return None
    build = (pristine / "current").resolve()
    files = sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())
    results: dict[tuple[str, str], str] = {}
    for name in files:
        for how in DAMAGES:
            case = tmp / "case"
            shutil.rmtree(case, ignore_errors=True)
            shutil.copytree(pristine, case, symlinks=True)
            damage((case / "current").resolve() / name, how, rng)
            results[(name, how)] = outcome(run(["ask", "--json", QUESTION], case))
            print(f"{name:40} {how:9} {results[(name, how)]}", flush=True)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
