"""`rag ask` / `rag chat` with a GGUF model, end to end: the real CLI, index, llama.cpp.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ..fakes import RAG, ROOT, one_line_error, run_rag

QUESTION = "who nominated Al Sudani?"

# One llama.cpp thread (ggml threads spin on a busy 2-core machine) and short answers.
FAST = {"RAG_THREADS": "1", "RAG_MAX_ANSWER_TOKENS": "48"}


def test_an_unknown_model_name_is_a_one_line_error(tmp_path: Path) -> None:
    done = run_rag("ask", "--model", "nosuch", "who nominated Al Sudani?", index_dir=tmp_path)
    line = one_line_error(done, 5)
    assert line.startswith("error: unknown model 'nosuch'")
    assert "qwen2.5-coder-0.5b" in line and "rag models" in line
    assert not (tmp_path / "index").exists() and list(tmp_path.iterdir()) == []  # no index built


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
        stdin="Who ordered a crackdown on the militias?\nWhen did he take office?\n",
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
    assert "the context of model tiny (2048 tokens) is too small" in line
    assert "lower RAG_MAX_ANSWER_TOKENS" in line
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
    assert answer["fallback"].startswith("extractive: model tiny failed (the context of model")
    assert "Traceback" not in done.stderr
