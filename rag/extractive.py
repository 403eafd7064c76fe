"""The extractive answerer: answer with the article's own sentences, no language model.

Every sentence of the retrieved paragraphs gets a probability of answering the question
(rag.support: meaning, shared words, the question's focus and expected kind, fitted on the gold
set's dev half). The most probable sentence is the answer, verbatim, followed by its [¶N]; a
second one joins it when it comes from another paragraph and is nearly as probable. Below
`abstain_threshold` the article is taken not to answer, and the answer says what it lacks
(rag.abstention). When the question asks for a name, number, date or place, the answer leads
with it (rag.short_answer). A sentence addressing the reader or an AI system (rag.injection) is
never an answer. Not done: synthesis across sentences or rewording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rag.abstention import abstention, unknown_names
from rag.coverage import Coverage
from rag.embedding import Embedder
from rag.index import Index
from rag.question import Asked, analyse
from rag.results import Answer, Citation
from rag.retrieval import Retrieval
from rag.short_answer import lead_sentence, short_answer
from rag.support import Candidate, Measurer, SupportModel

MAX_QUOTE_CHARS = 400  # longer sentences are quoted in part
SECOND_SENTENCE_RATIO = 0.85


@dataclass
class Ranked:
    """The sentences of a retrieval, most probable answer first, and what the question asks."""

    asked: Asked
    sentences: list[Candidate]


class ExtractiveAnswerer:
    def __init__(
        self,
        index: Index,
        abstain_threshold: float,
        embedder: Embedder | None = None,
        model: SupportModel | None = None,
    ) -> None:
        """`embedder` encodes the question's focus phrase; without one the question's own
        vector stands in for it."""
        self.index = index
        self.abstain_threshold = abstain_threshold
        self.embedder = embedder
        self.coverage = Coverage(index)
        self.measurer = Measurer(index)
        self.model = model or SupportModel()

    def candidates(self, retrieval: Retrieval) -> tuple[Asked, list[Candidate]]:
        """What the question asks for, and every retrieved sentence measured against it."""
        asked = analyse(retrieval.question)
        focus_vector = None
        if self.embedder is not None and asked.focus_text != retrieval.question:
            focus_vector = self.embedder.embed_batch([asked.focus_text])[0]
        return asked, self.measurer.measure(retrieval, asked, focus_vector)

    def rank(self, retrieval: Retrieval) -> Ranked:
        asked, candidates = self.candidates(retrieval)
        if not candidates:
            return Ranked(asked, [])
        probabilities = self.model.probability(np.vstack([c.features for c in candidates]))
        for candidate, probability in zip(candidates, probabilities.tolist(), strict=True):
            candidate.score = float(probability)
        candidates.sort(key=lambda c: -c.score)
        return Ranked(asked, candidates)

    def rank_sentences(self, retrieval: Retrieval) -> list[Candidate]:
        return self.rank(retrieval).sentences

    @staticmethod
    def support(best: Candidate) -> float:
        """Evidence that the sentence answers: its probability."""
        return best.score

    def paragraph_support(
        self, retrieval: Retrieval, ranked: list[Candidate] | None = None
    ) -> dict[tuple[str, int], float]:
        """Each retrieved paragraph's support for answering the question (its best sentence's):
        the measure that decides abstention, applied paragraph by paragraph."""
        best: dict[tuple[str, int], float] = {}
        for sentence in self.rank_sentences(retrieval) if ranked is None else ranked:
            key = (sentence.doc, sentence.paragraph)
            best[key] = max(best.get(key, -math.inf), self.support(sentence))
        return best

    def answer(
        self,
        retrieval: Retrieval,
        standalone: str,
        question: str,
        ranked: Ranked | None = None,
    ) -> Answer:
        """The best sentence(s) of `retrieval`, or the abstention saying what is missing;
        `ranked` is `rank(retrieval)` when the caller has it already."""
        ranked = self.rank(retrieval) if ranked is None else ranked
        best = ranked.sentences
        unknown = unknown_names(ranked.asked, self.index)  # "France" is in no document
        if not best or self.support(best[0]) < self.abstain_threshold or unknown:
            said, closest = abstention(ranked.asked, best[0] if best else None, self.index, unknown)
            return Answer(question, standalone, said, [], True, "extractive", closest=closest)
        chosen = [best[0]]
        for other in best[1:]:
            if other.score < best[0].score * SECOND_SENTENCE_RATIO:
                break
            if other.paragraph != best[0].paragraph or other.doc != best[0].doc:
                chosen.append(other)
                break
        citations = [self._citation(s, retrieval.question) for s in chosen]
        multi = self.index.multi_doc
        text = " ".join(
            f"{_shown(s, c)} {c.marker(multi)}" for s, c in zip(chosen, citations, strict=True)
        )
        short = short_answer(ranked.asked, best[0].text)
        if short is not None:
            text = f"{lead_sentence(short)} {text}"
        return Answer(
            question, standalone, text, citations, False, "extractive", short_answer=short
        )

    def _citation(self, sentence: Candidate, question: str) -> Citation:
        paragraph = self.index.paragraph(sentence.doc, sentence.paragraph)
        start, end = sentence.start, sentence.end
        if end - start > MAX_QUOTE_CHARS:  # a run-on "sentence": quote the part that matches
            start, end = _window(paragraph.text, start, end, self.coverage.content_words(question))
        return Citation(
            sentence.doc,
            sentence.paragraph,
            paragraph.text[start:end],
            paragraph.text,
            start,
            end,
            self.support(sentence),
        )


def _shown(sentence: Candidate, citation: Citation) -> str:
    """The quote as it reads in an answer, with … where it was cut from its sentence."""
    lead = "…" if citation.start > sentence.start else ""
    tail = "…" if citation.end < sentence.end else ""
    return f"{lead}{citation.quote}{tail}"


def _window(text: str, start: int, end: int, words: list[str]) -> tuple[int, int]:
    """A span of at most MAX_QUOTE_CHARS inside text[start:end], at word boundaries, centred on
    the first question word it contains (else its beginning)."""
    lowered = text[start:end].lower()
    hits = [lowered.find(w) for w in words if w and lowered.find(w) >= 0]
    centre = start + (min(hits) if hits else 0)
    lo = max(start, centre - MAX_QUOTE_CHARS // 3)
    hi = min(end, lo + MAX_QUOTE_CHARS)
    lo = max(start, hi - MAX_QUOTE_CHARS)
    while lo > start and not text[lo - 1].isspace():
        lo += 1
    while hi < end and not text[hi].isspace():
        hi -= 1
    return lo, hi
