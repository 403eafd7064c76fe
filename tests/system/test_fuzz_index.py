"""The index fuzzer: damage one file of a real index; the next ask answers right or says one line.

For a file of the article's built index and a kind of damage — truncated to half, zeroed (same
size), random bytes (same size), deleted, or shape-preserving garbage (a .npy with its header
kept and random data, JSON of the wrong shape, a FAISS file of random vectors of the same count
and dimension) — the pristine index is copied, the one file damaged and `rag ask --json` run in a
fresh process. A good outcome: the ask answers right (exit 0, cites ¶13, names the
Co-ordination Framework), noting whether it rebuilt the index first, or fails with exactly one
`error:` line and no traceback.

The slow test runs a bounded sample: `SAMPLED` case(s) drawn with a fixed seed from every file
and damage, as most damage makes the ask rebuild the index first (10 s on an idle 2-core machine,
about 45 s on a busy one). `scripts/fuzz_index.py` runs them all (60 cases), kills `rag index`
at random moments, and writes the README tables.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ..fakes import run_rag

QUESTION = "who nominated Al Sudani?"

DAMAGES = ("truncate", "zero", "random", "delete", "garbage")

SEED = 0

SAMPLED = 1  # cases of the slow test: a rebuild costs 10-45 s here

GOOD = ("rebuilt, answered", "answered", "one error line")


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
    """One of GOOD, or "FAIL: why"."""
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


def build_files(pristine: Path) -> list[str]:
    """The files of the index's current build, relative to it."""
    build = (pristine / "current").resolve()
    return sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())


def damaged_ask(pristine: Path, work: Path, name: str, how: str, rng: np.random.Generator) -> str:
    """Copy the index to `work`, damage its file `name` by `how`, ask once: the outcome."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work, symlinks=True)
    damage((work / "current").resolve() / name, how, rng)
    return outcome(run_rag("ask", "--json", QUESTION, index_dir=work))


def sample(files: list[str], rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    cases = [(name, how) for name in files for how in DAMAGES]
    return [cases[i] for i in sorted(rng.choice(len(cases), size=n, replace=False))]


def test_the_outcomes_are_judged_as_promised() -> None:
    def done(code: int, out: str = "", err: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], code, out, err)

    right = json.dumps({"answer": "the Co-ordination Framework", "citations": [{"paragraph": 13}]})
    assert outcome(done(0, right)) == "answered"
    assert outcome(done(0, right, "building the index…\n")) == "rebuilt, answered"
    assert outcome(done(3, err="error: the index is broken\n")) == "one error line"
    assert outcome(done(3, err="error: one\nerror: two\n")) == "FAIL: exit 3"
    assert outcome(done(1, err="Traceback (most recent call last):\n")) == "FAIL: traceback"
    assert outcome(done(0, json.dumps({"answer": "no", "citations": []}))) == "FAIL: wrong answer"


@pytest.mark.slow
def test_a_damaged_index_file_is_repaired_or_refused_in_one_line(
    article_index_dir: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(SEED)
    files = build_files(article_index_dir)
    assert "manifest.json" in files and "vectors.faiss" in files
    for name, how in sample(files, rng, SAMPLED):
        result = damaged_ask(article_index_dir, tmp_path / "case", name, how, rng)
        assert result in GOOD, (name, how, result)
