"""A model with a 512-token context (issue 20, item 8): the evidence is trimmed to fit, keeping
the sentence the reader ranked best; only when that sentence cannot fit is the answer refused.

Before: the first retrieved paragraph was cut to its first sentences, so a best sentence later
in it never reached the model; a prompt that could not fit was sent anyway and llama.cpp's
overflow ("prompt of 351 tokens does not fit") was the answer. The model is the tiny
random-weight GGUF (scripts/make_tiny_gguf.py), whose byte-level tokenizer makes every character
about one token, loaded by the real llama.cpp with a 512-token context.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.answer.generative import ANSWER_OVERRUN, GenerativeAnswerer
from rag.errors import ModelError
from rag.retrieval.retriever import Hit, Retrieval

from ..fakes import FakeEmbedder, _assert_one_line, extractive_answerer, make_index, settings

pytest.importorskip("llama_cpp")

QUESTION = "How much did the bridge cost?"
ARTICLE = (
    "Harbour town opens its new bridge\n\n"
    "Crowds lined both banks of the river on Monday morning to watch the ribbon cut, and the "
    "harbour band played old sea songs until the ferry sounded its horn at noon and the first "
    "cars rolled slowly across. "
    "The bridge cost 12 million pounds. "
    "It was designed by the engineer Mara Quill.\n"
)


@pytest.fixture(scope="module")
def model(tiny_gguf: Path) -> Any:
    from rag.llm.runtime import LocalModel

    loaded = LocalModel.load(tiny_gguf, threads=1, n_ctx=512, seed=0)
    yield loaded
    loaded.close()


def answerer(tmp_path: Path, model: Any, **changes: Any) -> tuple[GenerativeAnswerer, Retrieval]:
    index = make_index(tmp_path, {"story": ARTICLE})
    chosen = settings(abstain_threshold=0.0, **changes)
    embedder = FakeEmbedder()
    extractive = extractive_answerer(index, chosen.abstain_threshold, embedder)
    hits = [Hit("story", 2, 1.0, 0.5, 1.0), Hit("story", 1, 0.5, 0.5, 1.0)]
    retrieval = Retrieval(QUESTION, embedder.embed_batch([QUESTION])[0], hits, 0.0)
    return GenerativeAnswerer(model, chosen, index, embedder, extractive), retrieval


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_the_best_sentence_is_kept_in_a_512_token_context(tmp_path: Path, model: Any) -> None:
    generator, retrieval = answerer(tmp_path, model, max_answer_tokens=16)
    ranked = generator.extractive.rank(retrieval)
    assert ranked.sentences[0].text == "The bridge cost 12 million pounds."
    prompt = generator.prompt_for(retrieval, QUESTION, ranked)
    user = prompt.messages[1]["content"]
    assert prompt.cut and "[A] … The bridge cost 12 million pounds." in user
    assert "Crowds lined" not in user  # the paragraph's long first sentence made room
    assert model.prompt_tokens(prompt.messages) + 16 + ANSWER_OVERRUN <= model.n_ctx == 512
    # The model is asked (it writes gibberish: the extractive answer stands, cited exactly).
    gen = generator.stream(retrieval, QUESTION, QUESTION)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            answer = stop.value
            break
    assert answer.mode == "llm" and "12 million pounds" in answer.text
    paragraph = generator.index.paragraph("story", 2)
    for citation in answer.citations:
        assert citation.quote == paragraph.text[citation.start : citation.end]


@pytest.mark.slow  # real llama.cpp (fast with the tiny model)
def test_no_room_for_the_best_sentence_is_one_clear_line(tmp_path: Path, model: Any) -> None:
    # The default 192 answer tokens leave the tiny model's 512 too few for its instructions.
    generator, retrieval = answerer(tmp_path, model)
    gen = generator.stream(retrieval, QUESTION, QUESTION)
    with pytest.raises(ModelError) as info:
        next(gen)
    line = _assert_one_line(info.value)
    assert "the context of model tiny (512 tokens) is too small" in line
    assert "192 are kept for the answer" in line and "lower RAG_MAX_ANSWER_TOKENS" in line
