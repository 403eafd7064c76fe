"""Hostile input (issue 11, items 4, 11, 12; issue 20, items 6-8): one `error:` line instead of a
traceback or a hang, refused before any index work where it can be, and no control or bidi
override character from a document reaching the terminal.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rag.config import Settings, max_threads
from rag.errors import InputError

from ..fakes import ARTICLE, RAG, ROOT, one_line_error, rag_index, run_rag

HOSTILE = (
    "Bridge opens\x1b]0;pwned\x07 in Testville\n\n"
    "The mayor said the bridge\x08\x08\x08\x08\x08\x08 cost 12 million \u202esrallod\u202c and "
    "opened on Monday.\x1b[2J\n"
)

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_threads_have_an_upper_bound() -> None:
    with pytest.raises(InputError, match="at most"):
        Settings.load({}, env={"RAG_THREADS": "20000"})
    assert Settings.load({}, env={"RAG_THREADS": str(max_threads())}).threads == max_threads()
    done = run_rag("ask", "who?", env={"RAG_THREADS": "20000"}, timeout=60)
    assert "threads must be at most" in one_line_error(done, 2)


@pytest.mark.parametrize("question", ["🔥🔥🔥", "\u200b\u200b\u200d"])
def test_a_question_of_no_words_is_refused_before_any_index_work(
    tmp_path: Path, question: str
) -> None:
    done = run_rag("ask", question, index_dir=tmp_path / "index", timeout=60)
    assert "the question has no words in it" in one_line_error(done, 2)
    assert not (tmp_path / "index").exists()


def test_an_index_folder_whose_name_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    bad = os.fsdecode(os.fsencode(tmp_path) + b"/index\xff")  # the child gets the raw bytes
    by_env = run_rag("ask", "who?", env={"RAG_INDEX_DIR": bad}, timeout=60)
    assert "index_dir is not a valid UTF-8 path" in one_line_error(by_env, 2)
    by_option = run_rag("index", "--index-dir", bad, str(ARTICLE), timeout=60)
    assert "index_dir is not a valid UTF-8 path" in one_line_error(by_option, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cli_refuses_undecodable_questions_and_chat_goes_on(article_index_dir: Path) -> None:
    done = run_rag("ask", "who\udcff?", index_dir=article_index_dir)
    assert "not valid UTF-8" in one_line_error(done, 2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_INDEX_DIR"] = str(article_index_dir)
    chat = subprocess.run(
        [*RAG, "chat"],
        input=b"who\xff nominated him?\nwho nominated Al Sudani?\n",
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert chat.returncode == 0, chat.stderr
    assert b"Traceback" not in chat.stderr
    assert b"error: the question is not valid UTF-8 text" in chat.stderr
    assert "Co-ordination Framework" in chat.stdout.decode("utf-8")  # the next line answered


@pytest.mark.slow
def test_document_text_is_shown_without_control_characters(tmp_path: Path) -> None:
    source = tmp_path / "hostile.txt"
    source.write_text(HOSTILE, encoding="utf-8")
    index_dir = rag_index(tmp_path / "index", source)
    done = run_rag("ask", "How much did the bridge cost?", index_dir=index_dir)
    assert done.returncode == 0, done.stderr
    assert "12 million" in done.stdout
    assert not any(c in done.stdout + done.stderr for c in "\x1b\x07\x08" + BIDI)


@pytest.mark.slow  # builds an index with the real MiniLM
def test_closed_or_full_standard_streams_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_INDEX_DIR"] = str(tmp_path / "index")

    closed_out = subprocess.run(
        [*RAG, "ask", "who?"], env=env, stderr=subprocess.PIPE, text=True, timeout=60,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert closed_out.returncode == 1 and "Traceback" not in closed_out.stderr
    assert "standard output is closed" in closed_out.stderr
    closed_in = subprocess.run(
        [*RAG, "chat", "--json"], env=env, capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert closed_in.returncode == 0 and "Traceback" not in closed_in.stderr
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*RAG, "ask", "who nominated Al Sudani?"], env=env, stdout=full,
            stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: cannot write the output (No space left on device)"
    )
