"""Every reader named in rag.answer.reader.READERS keeps the Reader contract: one probability in
[0, 1] per candidate, none for no candidates, a threshold in (0, 1), answer_k of at least 1, and
the same scores when asked twice. A reader whose shipped files are missing fails here.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader import READERS, Question, Reader, open_reader
from rag.errors import RagError
from rag.index.store import Index
from rag.retrieval.candidates import candidates_of

from ..fakes import STORY, FakeEmbedder, make_index, retrieval_of


def opened(name: str, index: Index) -> Reader:
    try:
        return open_reader(name, index, FakeEmbedder())
    except RagError as err:
        pytest.fail(f"reader {name!r} cannot be opened (are its shipped files there?): {err}")


@pytest.mark.parametrize("name", READERS)
def test_reader_gives_one_probability_per_candidate(name: str, tmp_path: Path) -> None:
    index = make_index(tmp_path, {"story": STORY})
    reader = opened(name, index)
    candidates = candidates_of(retrieval_of(index, 0, 1), index)
    assert candidates
    question = Question.of("Who founded the company?")
    scores = reader.score(question, candidates)
    assert scores.shape == (len(candidates),)
    assert np.all((scores >= 0.0) & (scores <= 1.0))
    assert np.array_equal(reader.score(question, candidates), scores)


@pytest.mark.parametrize("name", READERS)
def test_reader_scores_no_candidates_as_an_empty_array(name: str, tmp_path: Path) -> None:
    reader = opened(name, make_index(tmp_path, {"story": STORY}))
    assert reader.score(Question.of("Who founded the company?"), []).shape == (0,)


@pytest.mark.parametrize("name", READERS)
def test_reader_threshold_and_answer_k_are_usable(name: str, tmp_path: Path) -> None:
    reader = opened(name, make_index(tmp_path, {"story": STORY}))
    assert 0.0 < reader.threshold < 1.0
    assert reader.answer_k >= 1
    assert reader.name == name
