"""Hostile sources and gold files (issue 11, items 7 and 10): bounded work, one error line.

Before: the sentence splitter re-read each candidate sentence from its start, so "Mr. Smith "
× 4,000 took 14.7 s (quadratic); a 50 MB one-line source peaked at 7.2 GB; a gold file that was
a FIFO hung `rag eval`, and `"history": 5` or deeply nested JSON gave a traceback.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.documents.sources import collect_sources, read_document
from rag.errors import InputError, RagWarning, SourceError
from rag.evaluation.gold import load_gold
from rag.index.build import build_index
from rag.terminal import for_terminal

from ..fakes import FakeEmbedder

GOOD = {"id": "x", "type": "factoid", "question": "q?", "answers": ["a"], "evidence": "a"}


def test_a_source_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)  # 1.4 MiB, one line
    settings = Settings.load({"index_dir": tmp_path / "i", "max_source_mb": 1}, env={})
    with pytest.raises(SourceError, match="over the 1 MiB limit"):
        build_index(settings, [big], embedder=FakeEmbedder())
    assert not (tmp_path / "i" / "builds").exists() or not any(
        (tmp_path / "i" / "builds").iterdir()
    )


def test_a_fifo_as_gold_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "gold.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_gold(fifo)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"history": 5, ' + str(GOOD)[1:].replace("'", '"'), "history must be"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (str({**GOOD, "question": 5}).replace("'", '"'), "must be strings"),
    ],
)
def test_malformed_gold_lines_are_one_error(tmp_path: Path, line: str, message: str) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(line + "\n")
    with pytest.raises(InputError, match=message):
        load_gold(gold)


def test_a_gguf_with_thousands_of_nested_arrays_is_one_model_error(tmp_path: Path) -> None:
    import struct

    from rag.errors import ModelError
    from rag.llm.gguf import check_gguf_file

    key = b"general.nested"
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
    nested = struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 5000 + struct.pack("<IQ", 4, 0)
    model = tmp_path / "nested.gguf"
    model.write_bytes(header + nested)
    with pytest.raises(ModelError, match="nests metadata arrays too deeply"):
        check_gguf_file(model)


def test_a_link_out_of_an_indexed_folder_is_skipped_with_a_notice(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("The password is swordfish.\n", encoding="utf-8")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "story.txt").write_text("Bridge opens\n\nThe bridge opened on Monday.\n")
    (folder / "passwd.txt").symlink_to(secret)
    (folder / "again.txt").symlink_to(folder / "story.txt")  # a link inside the folder is kept
    with pytest.warns(RagWarning) as said:
        found = collect_sources([folder])
    assert [p.name for p in found] == ["again.txt", "story.txt"]
    assert [str(w.message) for w in said] == [
        f"skipped {folder / 'passwd.txt'}: a link that leads out of {folder}"
    ]
    assert collect_sources([folder / "passwd.txt"]) == [folder / "passwd.txt"]  # named: read


def test_a_utf16_file_with_its_bom_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_bytes("Bridge opens\n\nThe bridge opened on Monday.\n".encode("utf-16"))
    document = read_document(path)
    assert document.paragraphs[1].text == "The bridge opened on Monday."
    path.write_bytes(b"\xff\xfeB\x00\x00\xd8")  # a BOM, then a lone surrogate
    with pytest.raises(SourceError, match="not valid UTF-16"):
        read_document(path)


def test_bidi_overrides_never_reach_the_terminal() -> None:
    assert for_terminal("price \u202e0001$\u202c and \u2066x\u2069") == "price 0001$ and x"
