"""`rag ask` / `rag chat` with a GGUF model, end to end: the real CLI, index, llama.cpp.

The model is the tiny random-weight GGUF of scripts/make_tiny_gguf.py, built here in a temporary
folder. Its answers are gibberish, so attribution must reject them: every answer reports dropped
sentences or a fallback (the extractive answer), and any citation left is verbatim in its
paragraph. Also: streaming on a terminal (a pseudo-terminal), JSON output, chat follow-ups, and
the one-line errors (exit code 5) or extractive fallback (with a notice) for broken models.

First, fast: the catalogue of named models (rag.llm.catalogue) with a fake model in two tiny parts —
assembled atomically into the models folder, verified by sha256, a wrong file refused and never
left behind — and an unknown model name as a one-line error. The real named models are tested in
tests/system/test_real_model.py.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.llm import catalogue

from ..fakes import PARTS, ROOT, fake_model


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
