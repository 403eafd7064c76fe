"""The cross-encoder reader (rag.answer.cross_encoder_reader): bad reader files are one error
line, and the text pair is the one format (rag.answer.reader_pairs).

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from rag.answer.cross_encoder_reader import FORMAT, ReaderCard
from rag.answer.reader_pairs import text_pair
from rag.errors import ModelError


def folder_with(tmp_path: Path, model: bytes = b"onnx bytes", **card: object) -> Path:
    folder = tmp_path / "reader"
    folder.mkdir()
    (folder / "reader.int8.onnx").write_bytes(model)
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    raw = {
        "format": FORMAT,
        "model": "reader.int8.onnx",
        "sha256": hashlib.sha256(b"onnx bytes").hexdigest(),
        "tokenizer": "tokenizer.json",
        "tokenizer_sha256": hashlib.sha256(b"{}").hexdigest(),
        "max_length": 96,
        "shortlist": 10,
        "threshold": 0.5,
        "answer_k": 5,
        **card,
    }
    (folder / "card.json").write_text(json.dumps(raw), encoding="utf-8")
    return folder


def test_a_card_whose_files_match_is_read(tmp_path: Path) -> None:
    card = ReaderCard.read(folder_with(tmp_path))
    assert card.threshold == 0.5 and card.shortlist == 10
    assert card.checked(card.model, card.sha256).name == "reader.int8.onnx"


def test_a_truncated_or_replaced_model_is_one_error(tmp_path: Path) -> None:
    card = ReaderCard.read(folder_with(tmp_path, model=b"onnx by"))
    with pytest.raises(ModelError, match="damaged or replaced") as caught:
        card.checked(card.model, card.sha256)
    assert "\n" not in str(caught.value)


def test_a_missing_model_or_card_is_one_error(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    (folder / "reader.int8.onnx").unlink()
    card = ReaderCard.read(folder)
    with pytest.raises(ModelError, match="cannot be read"):
        card.checked(card.model, card.sha256)
    shutil.rmtree(folder)
    with pytest.raises(ModelError, match=r"card .* is unreadable"):
        ReaderCard.read(folder)


def test_a_card_of_another_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unreadable"):
        ReaderCard.read(folder_with(tmp_path, format="something else"))


def test_the_pair_holds_the_question_then_the_sentence_in_its_place() -> None:
    paragraph = "First things came. The bridge opened in 1932. Then rain fell."
    start = paragraph.index("The bridge")
    end = paragraph.index("1932.") + 5
    first, second = text_pair(" When  did it open?", paragraph, start, end, "Bridge news")
    assert first == "When did it open?"
    assert (
        second
        == "The bridge opened in 1932. [SEP] Bridge news | First things came. ⟨⟩ Then rain fell."
    )
