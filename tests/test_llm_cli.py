"""`rag ask` / `rag chat` with a GGUF model, end to end: the real CLI, index, llama.cpp.

The model is the tiny random-weight GGUF of scripts/make_tiny_gguf.py, built here in a temporary
folder. Its answers are gibberish, so attribution must reject them: every answer reports dropped
sentences or a fallback (the extractive answer), and any citation left is verbatim in its
paragraph. Also: streaming on a terminal (a pseudo-terminal), JSON output, chat follow-ups, and
the one-line errors (exit code 5) or extractive fallback (with a notice) for broken models.

First, fast: the catalogue of named models (rag.llm.catalogue) with a fake model in two tiny parts —
assembled atomically into the models folder, verified by sha256, a wrong file refused and never
left behind — and an unknown model name as a one-line error. The real named models are tested in
tests/test_real_model.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from rag.errors import ModelError
from rag.llm import catalogue
from rag.llm.resolve import resolve_model_path

from .conftest import RAG, ROOT, one_line_error, run_rag

QUESTION = "who nominated Al Sudani?"
# One llama.cpp thread (ggml threads spin on a busy 2-core machine) and short answers.
FAST = {"RAG_THREADS": "1", "RAG_MAX_ANSWER_TOKENS": "48"}


# --------------------------------------------------------------------------- the catalogue (fast)

PARTS = (b"GGUF first part of a fake model, ", b"and its second part.")


def fake_model(
    monkeypatch: pytest.MonkeyPatch, folder: Path, parts: tuple[bytes, ...] = PARTS, **pins: Any
) -> catalogue.KnownModel:
    """A catalogue entry "fake-2part" whose parts are tiny files in `folder` (as if installed)."""
    whole = b"".join(parts)
    known = catalogue.KnownModel(
        name="fake-2part",
        title="a fake model in parts",
        requirements=tuple(f"fake-part{i}==1.0" for i in range(1, len(parts) + 1)),
        parts=tuple(f"part{i}.bin" for i in range(1, len(parts) + 1)),
        size=pins.get("size", len(whole)),
        sha256=pins.get("sha256", hashlib.sha256(whole).hexdigest()),
        source="tests",
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in zip(known.parts, parts, strict=True):
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    monkeypatch.setitem(catalogue.CATALOGUE, known.name, known)
    installed = catalogue.InstalledModel(known, tuple(paths))
    monkeypatch.setattr(catalogue, "find_installed", lambda name: installed)
    return known


def test_a_model_in_parts_is_assembled_once_and_hashed_on_every_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_model(monkeypatch, tmp_path / "site-packages")
    folder = tmp_path / "models"
    path = catalogue.model_file("Fake-2part ", folder)
    assert path == folder / "fake-2part.gguf" and path.read_bytes() == b"".join(PARTS)
    assert sorted(p.name for p in folder.iterdir()) == ["fake-2part.gguf"]
    # An intact file is not copied again.
    monkeypatch.setattr(catalogue, "_assemble", lambda *a: pytest.fail("assembled again"))
    assert catalogue.model_file("fake-2part", folder) == path
    monkeypatch.undo()
    # Tampered in place with its size and modification time kept (issue 20): hashed, found
    # out, and assembled again from the parts.
    fake_model(monkeypatch, tmp_path / "site-packages")
    stat = path.stat()
    whole = bytearray(path.read_bytes())
    whole[5:10] = b"XXXXX"
    path.write_bytes(bytes(whole))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert catalogue.model_file("fake-2part", folder).read_bytes() == b"".join(PARTS)


@pytest.mark.parametrize("pin", ["sha256", "size"])
def test_a_wrong_model_file_is_refused_and_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pin: str
) -> None:
    wrong = {"sha256": "0" * 64} if pin == "sha256" else {"size": 5}
    fake_model(monkeypatch, tmp_path / "site-packages", **wrong)
    folder = tmp_path / "models"
    with pytest.raises(ModelError, match=r"model fake-2part is not the pinned file .*reinstall"):
        catalogue.model_file("fake-2part", folder)
    assert list(folder.iterdir()) == []  # no partial file, no assembled file, no record


def test_a_single_file_model_is_used_in_place_and_verified(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = (b"GGUF a one-file model",)
    fake_model(monkeypatch, tmp_path / "site-packages", parts=data)
    folder = tmp_path / "models"
    path = catalogue.model_file("fake-2part", folder)
    assert path == tmp_path / "site-packages" / "part1.bin"  # not copied
    assert not folder.exists() or list(folder.iterdir()) == []
    stat = path.stat()
    path.write_bytes(b"GGUF a one-file modeL")  # same size, other bytes, the old time back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ModelError, match="is not the pinned file"):
        catalogue.model_file("fake-2part", folder)


def test_a_model_that_is_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_model(monkeypatch, tmp_path)
    monkeypatch.setattr(catalogue, "find_installed", lambda name: None)
    with pytest.raises(ModelError, match=r"fake-2part is not installed: run scripts/setup"):
        catalogue.model_file("fake-2part", tmp_path / "models")


def test_resolve_model_path_assembles_a_named_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_gguf: Path
) -> None:
    data = tiny_gguf.read_bytes()
    half = len(data) // 2
    fake_model(monkeypatch, tmp_path / "site-packages", parts=(data[:half], data[half:]))
    path = resolve_model_path("fake-2part", tmp_path / "models")
    assert path == tmp_path / "models" / "fake-2part.gguf" and path.read_bytes() == data
    monkeypatch.chdir(tmp_path)  # a file of that name in the current folder wins over the name
    (tmp_path / "fake-2part").write_bytes(data)
    assert resolve_model_path("fake-2part", tmp_path / "elsewhere") == Path("fake-2part")


def test_an_unknown_model_name_is_a_one_line_error(tmp_path: Path) -> None:
    done = run_rag("ask", "--model", "nosuch", "who nominated Al Sudani?", index_dir=tmp_path)
    line = one_line_error(done, 5)
    assert line.startswith("error: unknown model 'nosuch'")
    assert "qwen2.5-coder-0.5b" in line and "rag models" in line
    assert not (tmp_path / "index").exists() and list(tmp_path.iterdir()) == []  # no index built


def test_each_catalogue_model_carries_its_tuned_values_with_their_provenance() -> None:
    tuned = catalogue.read_tuned()
    assert set(tuned) <= set(catalogue.CATALOGUE)
    # The values chosen by the tuning runs in bench/ (not re-tuned here: that needs the models).
    for name in tuned:
        report = json.loads((ROOT / "bench" / f"tune-{name}.json").read_text(encoding="utf-8"))
        chosen = report["chosen"]
        assert catalogue.model_tuning(name) == catalogue.Tuning(
            chosen["support_threshold"], chosen["model_may_abstain"]
        )
        provenance = tuned[name]["tuned"]
        assert isinstance(provenance, dict)
        assert provenance["file"] == f"bench/tune-{name}.json"
        assert provenance["rule"] == report["rule"]
    assert catalogue.model_tuning("qwen2.5-coder-0.5b") == catalogue.Tuning(0.58, False)
    assert catalogue.model_tuning("SmolLM2-135M") == catalogue.Tuning(0.30, False)
    assert catalogue.model_tuning("some-file-stem") == catalogue.DEFAULT_TUNING


def test_a_broken_tuning_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "tuned.json"
    bad.write_text('{"format": "rag model tuning v1", "models": {"m": {}}}', encoding="utf-8")
    with pytest.raises(ModelError, match="m has no numeric support_threshold"):
        catalogue.model_tuning("m", bad)
    bad.write_text("[1]", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable"):
        catalogue.model_tuning("m", bad)


def test_written_tuning_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "tuned.json"
    path.write_text(catalogue.TUNED.read_text(encoding="utf-8"), encoding="utf-8")
    entry: dict[str, object] = {"support_threshold": 0.4, "model_may_abstain": True, "tuned": {}}
    catalogue.write_tuned("smollm2-135m", entry, path)
    assert catalogue.model_tuning("smollm2-135m", path) == catalogue.Tuning(0.4, True)
    assert catalogue.model_tuning("qwen2.5-coder-0.5b", path) == catalogue.Tuning(0.58, False)


@pytest.mark.parametrize("command", [["fit-logistic"], ["tune-model", "--model", "smollm2-135m"]])
def test_fitting_and_tuning_refuse_a_missing_gold_file_in_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rag.cli import main

    missing = tmp_path / "none.jsonl"
    assert main([*command, "--gold", str(missing), "--index-dir", str(tmp_path / "i")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {missing}: no such gold file\n"
    assert not (tmp_path / "i").exists()  # refused before any index or model


# --------------------------------------------------------------------------- the tiny model (slow)


def ask(index_dir: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_rag("ask", *args, index_dir=index_dir, env={**FAST, **(env or {})}, timeout=120)


def assert_checked(answer: dict[str, Any], article_index_dir: Path) -> None:
    assert answer["mode"] == "llm" and answer["model"] == "tiny"
    assert answer["dropped"] or answer["fallback"]  # the gibberish was rejected
    for entry in answer["dropped"]:
        assert entry["reason"] and entry["removed"] == "sentence"
    for citation in answer["citations"]:
        assert citation["text"][citation["start"] : citation["end"]] == citation["quote"]
        assert citation["quote"] in citation["text"]
        assert f"¶{citation['paragraph']}]" in answer["answer"]


@pytest.mark.slow
def test_ask_json_is_one_checked_object(article_index_dir: Path, tiny_gguf: Path) -> None:
    done = ask(article_index_dir, "--json", "--model", str(tiny_gguf), QUESTION)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert_checked(answer, article_index_dir)
    assert answer["fallback"] == "extractive: the model's answer had no supported sentence"
    assert "Co-ordination Framework" in answer["answer"]  # the extractive fallback
    timings = answer["timings_ms"]
    assert set(timings) == {"rewrite", "retrieve", "answer", "first_token", "generate"}
    assert 0 <= timings["first_token"] <= timings["generate"] <= timings["answer"]


@pytest.mark.slow
def test_model_from_the_environment(article_index_dir: Path, tiny_gguf: Path) -> None:
    done = ask(article_index_dir, "--json", QUESTION, env={"RAG_MODEL": str(tiny_gguf)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == "tiny"


@pytest.mark.slow
def test_piped_text_output_is_the_checked_answer(article_index_dir: Path, tiny_gguf: Path) -> None:
    done = ask(article_index_dir, "--model", str(tiny_gguf), QUESTION)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("Co-ordination Framework. Mr Al Sudani, who took office in")
    assert "\n[¶13] " in done.stdout  # the source, quote marked
    assert "notice: extractive: the model's answer had no supported sentence" in done.stderr


def _run_on_a_terminal(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run a command with stdout on a pseudo-terminal; return what it printed there."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        args, stdout=secondary, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 4096)
            except OSError:  # the terminal closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(main)
    process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.slow
def test_ask_streams_on_a_terminal(article_index_dir: Path, tiny_gguf: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(FAST, RAG_INDEX_DIR=str(article_index_dir), NO_COLOR="1")
    shown = _run_on_a_terminal([*RAG, "ask", "--model", str(tiny_gguf), QUESTION], env)
    # The raw tokens come first, then the checked answer and its sources.
    streamed, _, rest = shown.partition("checked answer: ")
    assert streamed.strip(), shown
    assert rest.startswith("Co-ordination Framework. Mr Al Sudani, who took office in"), shown
    assert "[¶13]" in rest


@pytest.mark.slow
def test_chat_json_with_follow_ups(article_index_dir: Path, tiny_gguf: Path) -> None:
    done = run_rag(
        "chat",
        "--json",
        "--model",
        str(tiny_gguf),
        index_dir=article_index_dir,
        stdin="Who is Iraq's prime minister?\nWhen did he take office?\n",
        env=FAST,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    turns = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert len(turns) == 2
    for turn in turns:
        assert_checked(turn, article_index_dir)
    # The tiny model's rewrite is gibberish, so the rules resolve "he" instead.
    assert turns[1]["question"] == "When did he take office?"
    assert "Al Sudani" in turns[1]["standalone_question"]
    assert "October 2022" in turns[1]["answer"]
    assert turns[0]["citations"] and turns[1]["citations"]  # each turn has its own


def _one_line_error(done: Any) -> str:
    line = one_line_error(done, 5)
    # Progress lines may precede the error; llama.cpp's own log may not.
    assert not any(
        "llama" in x and not x.startswith("error: ") for x in done.stderr.splitlines()
    ), done.stderr
    return line


@pytest.mark.slow
def test_missing_model_is_a_one_line_error(article_index_dir: Path, tmp_path: Path) -> None:
    line = _one_line_error(ask(article_index_dir, "--model", str(tmp_path / "missing.gguf"), "q?"))
    assert "missing" in line


@pytest.mark.slow
def test_text_file_as_model_is_a_one_line_error(article_index_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "notgguf.gguf"
    fake.write_text("hello\n" * 20)
    line = _one_line_error(ask(article_index_dir, "--json", "--model", str(fake), QUESTION))
    assert "not a GGUF file" in line


@pytest.mark.slow
def test_truncated_model_is_a_one_line_error(
    article_index_dir: Path, tiny_gguf: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[:5000])
    assert "truncated" in _one_line_error(ask(article_index_dir, "--model", str(cut), QUESTION))


@pytest.mark.slow
def test_fallback_flag_answers_extractively_with_a_notice(
    article_index_dir: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "notgguf.gguf"
    fake.write_text("hello\n" * 20)
    done = ask(article_index_dir, "--json", "--fallback-extractive", "--model", str(fake), QUESTION)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "extractive" and "Co-ordination Framework" in answer["answer"]
    assert "notice: model file" in done.stderr and "answering extractively" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_context_overflow_errors_or_falls_back(article_index_dir: Path, tiny_gguf: Path) -> None:
    # 2000 answer tokens leave no room for the prompt in the tiny model's 2048-token context.
    env = {"RAG_MAX_ANSWER_TOKENS": "2000"}
    line = _one_line_error(ask(article_index_dir, "--model", str(tiny_gguf), QUESTION, env=env))
    assert "does not fit the model context" in line
    done = ask(
        article_index_dir,
        "--json",
        "--fallback-extractive",
        "--model",
        str(tiny_gguf),
        QUESTION,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "llm" and "Co-ordination Framework" in answer["answer"]
    assert answer["fallback"].startswith("extractive: model tiny failed (prompt of ")
    assert "Traceback" not in done.stderr
