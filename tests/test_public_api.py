"""The library API (`import rag`): lazy names, a silent Pipeline.open, Conversation, and the
README's "Use it from Python" block run as it is written."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import rag
from rag.documents.parse import Document
from rag.errors import InputError
from rag.pipeline import check_question
from rag.results import Answer
from rag.streaming import AnswerStream

from .conftest import ROOT


def test_importing_rag_loads_only_rag_and_names_resolve_lazily() -> None:
    code = "import sys, rag; print(sorted(m for m in sys.modules if m.startswith('rag')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "['rag']", done.stderr
    assert {"Pipeline", "Settings", "Answer", "Citation", "Conversation", "RagError"} <= set(
        rag.__all__
    )
    assert rag.Settings.load({}, env={}).k == 3 and callable(rag.build_index)
    with pytest.raises(AttributeError):
        rag.Nothing  # noqa: B018


class EchoPipeline:
    """An `Asker` (rag.asker) that answers with the question and the number of earlier turns it
    was given."""

    mode = "extractive"
    model_name = None
    documents: tuple[Document, ...] = ()
    multi_doc = False
    max_question_chars = 100

    def check_question(self, question: str) -> str:
        return check_question(question, self.max_question_chars)

    def example_questions(self) -> list[str]:
        return []

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Answer:
        question = self.check_question(question)
        return Answer(question, question, f"{question} after {len(history)}", [], False, "x")

    def stream(self, question: str, history: Sequence[tuple[str, str]] = ()) -> AnswerStream:
        return AnswerStream(iter(["piece", self.ask(question, history)]))


def test_a_conversation_keeps_its_own_turns() -> None:
    chat = rag.Conversation(EchoPipeline())
    assert chat.ask("first?").text == "first? after 0"
    stream = chat.stream("second?")
    assert list(stream) == ["piece"] and stream.answer.text == "second? after 1"
    with pytest.raises(InputError):
        chat.ask("  ")  # refused: no turn recorded
    assert chat.turns == [("first?", "first? after 0"), ("second?", "second? after 1")]
    chat.clear()
    assert chat.ask("again?").text == "again? after 0"


@pytest.mark.slow
def test_the_readme_python_block_runs_as_written(
    article_index_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- python:start -->\n```python\n(.*?)```", readme, re.S)
    assert block is not None
    monkeypatch.setenv("RAG_INDEX_DIR", str(article_index_dir))
    exec(compile(block.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0] == "138"
    assert lines[1].startswith("13 Mr Al Sudani")
    assert lines[2] == "October 2022"
    assert printed.err == ""  # Pipeline.open is silent without a progress callback
