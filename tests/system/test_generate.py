"""Generative answers (rag.answer.generative, rag.answer.prompt) with a fake model that returns

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.errors import ModelError
from rag.index.build import build_index
from rag.index.store import Index
from rag.pipeline import Pipeline
from rag.results import Answer

from ..fakes import (
    QUESTION,
    STORY,
    FakeEmbedder,
    FakeModel,
    settings,
)


def test_pipeline_streams_text_then_the_llm_answer(index: Index) -> None:
    model = FakeModel(
        "The bridge cost 12 million pounds.",
        "How much did the new bridge cost?",
        "It cost 12 million pounds [¶2].",
    )
    s = settings(k=3)
    embedder = FakeEmbedder()
    pipeline = Pipeline(s, index, embedder, model)
    assert pipeline.mode == "llm" and pipeline.model_name == "fake-model"
    stream = pipeline.stream(QUESTION)
    pieces = list(stream)
    assert pieces and all(isinstance(i, str) for i in pieces)
    first = stream.answer
    assert first.mode == "llm" and first.fallback is None
    assert first.text == "The bridge cost 12 million pounds. [¶3]"
    timings = first.timings_ms
    assert {"rewrite", "retrieve", "answer", "first_token", "generate"} <= set(timings)
    assert timings["answer"] >= timings["generate"] >= 0
    second = pipeline.ask("How much did it cost?", [(first.standalone_question, first.text)])
    assert second.standalone_question == "How much did the new bridge cost?"
    assert second.fallback is None and [c.paragraph for c in second.citations] == [3]
    pipeline.close()  # a model passed in is its owner's: FakeModel has no close() to call


def _index_settings(tmp_path: Path, **changes: Any) -> Settings:
    source = tmp_path / "story.txt"
    source.write_text(STORY, encoding="utf-8")
    values = {"index_dir": tmp_path / "index", "sources": (source,), **changes}
    built = Settings.load(values, env={})
    build_index(built, [source], embedder=FakeEmbedder())  # so open() does not embed for real
    return built


def test_open_with_a_broken_model_errors_or_falls_back(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_text("not a model\n")
    strict = _index_settings(tmp_path, model=str(broken))
    with pytest.raises(ModelError, match="not a GGUF file"):
        Pipeline.open(strict, progress=lambda _: None, embedder=FakeEmbedder())
    messages: list[str] = []
    lenient = strict.replace(on_model_error="extractive")
    pipeline = Pipeline.open(lenient, progress=messages.append, embedder=FakeEmbedder())
    assert pipeline.mode == "extractive"
    assert (
        messages[-1].startswith("notice: model file ") and "answering extractively" in messages[-1]
    )
    with pytest.raises(ModelError, match="missing"):
        Pipeline.open(
            strict.replace(model=str(tmp_path / "none.gguf")),
            progress=lambda _: None,
            embedder=FakeEmbedder(),
        )


@pytest.mark.slow  # real llama.cpp with the tiny random-weight model
def test_tiny_model_end_to_end_in_process(tmp_path: Path, tiny_gguf: Path) -> None:
    pytest.importorskip("llama_cpp")
    s = _index_settings(tmp_path, model=str(tiny_gguf), threads=1, max_answer_tokens=48)
    with Pipeline.open(s, progress=lambda _: None, embedder=FakeEmbedder()) as pipeline:
        assert pipeline.model_name == "tiny"
        stream = pipeline.stream(QUESTION)
        pieces = list(stream)
        answer = stream.answer
        assert isinstance(answer, Answer) and answer.mode == "llm" and answer.model == "tiny"
        assert all(isinstance(i, str) and i for i in pieces) and len(pieces) >= 1
        # The gibberish has no supported sentence: the extractive answer stands instead.
        assert answer.fallback is not None and answer.fallback.kind == "extractive"
        assert answer.text == "12 million. The bridge cost 12 million pounds. [¶3]"
        assert answer.timings_ms["first_token"] <= answer.timings_ms["generate"]
        for citation in answer.citations:
            paragraph = pipeline.index.paragraph(citation.doc, citation.paragraph)
            assert paragraph.text[citation.start : citation.end] == citation.quote
    # The pipeline loaded the model, so closing the pipeline freed it.
    assert pipeline.generator is not None
    with pytest.raises(ModelError, match="was unloaded"):
        pipeline.generator.model.count_tokens("anything")
