"""Corrupt every file of a real index in several ways; each ask must answer right or say one line.

    python scripts/fuzz_index.py [--write]

Builds the article's index once (the real `rag index`, in a temporary folder), then for every
file of the build and every kind of damage — truncated to half, zeroed (same size), random bytes
(same size), deleted, and shape-preserving garbage (a .npy with its header kept and random data,
JSON of the wrong shape, a FAISS file of random vectors of the same count and dimension) — it
copies the pristine index, damages the one file and runs `rag ask --json` in a fresh process.

An outcome is good when the ask answers right (exit 0, cites ¶13, names the Co-ordination
Framework), noting whether it rebuilt the index first, or fails with exactly one `error:` line and
no traceback. Anything else is a failure, and the script exits 1. `--write` puts the table in the
README between the fuzz markers.
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

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "seeds" / "000_5d857531382a8c3c.txt"
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


def write_readme(section: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- fuzz:start -->", "<!-- fuzz:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{section}\n{end}{after}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the table in the README")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="rag-fuzz-") as tmp:
        pristine = Path(tmp) / "pristine"
        built = run(["index", str(ARTICLE)], pristine)
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 1
        build = (pristine / "current").resolve()
        files = sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())
        results: dict[tuple[str, str], str] = {}
        for name in files:
            for how in DAMAGES:
                case = Path(tmp) / "case"
                shutil.rmtree(case, ignore_errors=True)
                shutil.copytree(pristine, case, symlinks=True)
                damage((case / "current").resolve() / name, how, rng)
                results[(name, how)] = outcome(run(["ask", "--json", QUESTION], case))
                print(f"{name:40} {how:9} {results[(name, how)]}", flush=True)
    section = table(results)
    print(section)
    if args.write:
        write_readme(section)
    return 1 if any(r.startswith("FAIL") for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
