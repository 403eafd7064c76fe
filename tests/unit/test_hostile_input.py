"""Hostile input (issue 11, items 4, 11, 12): one `error:` line instead of a traceback or a hang,
and no control character from a document or question reaching the terminal.

Before: a question with invalid UTF-8 or a lone surrogate raised TypeError in the tokenizer (and
ended `rag chat`); RAG_THREADS=20000 hung; `\x1b]0;pwned\x07` in a document retitled the
terminal. The logic cases are fast; the CLI cases against a real index are marked slow.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import os

import pytest

from rag.config import Settings
from rag.errors import InputError
from rag.pipeline import check_question
from rag.terminal import for_terminal


@pytest.mark.parametrize("question", ["who\udcff?", "who \ud800 is it?"])
def test_a_question_that_is_not_utf8_is_refused_in_one_line(question: str) -> None:
    with pytest.raises(InputError, match="not valid UTF-8"):
        check_question(question, 500)


@pytest.mark.parametrize("question", ["🔥🔥🔥", "\u200b\u200b", "?!…", "\u200d 🙂 \ufeff"])
def test_a_question_without_a_letter_or_digit_is_refused(question: str) -> None:
    with pytest.raises(InputError, match="no words in it"):
        check_question(question, 500)
    assert check_question("wer ist 🙂 Sudani?", 500) == "wer ist 🙂 Sudani?"


def test_control_characters_never_reach_the_terminal() -> None:
    shown = for_terminal("Bridge\x1b]0;pwned\x07 opens\x08\x08 on \x9bMonday\x7f\nline two\tok")
    assert shown == "Bridge]0;pwned opens on Monday\nline two\tok"
    assert for_terminal("who\udcff?") == "who\ufffd?"


def test_an_index_folder_whose_name_is_not_utf8_is_refused() -> None:
    with pytest.raises(InputError, match="index_dir is not a valid UTF-8 path"):
        Settings.load({"index_dir": os.fsdecode(b"/tmp/bad\xff")}, env={})
