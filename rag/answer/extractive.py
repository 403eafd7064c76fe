"""The extractive answerer: answer with the article's own sentences, no language model.

The reader (rag.answer.reader) gives every candidate sentence of the retrieved paragraphs a
probability of answering the question. The most probable sentence is the answer, verbatim,
followed by its [¶N]; a second one joins it when it comes from another paragraph and is nearly as
probable. Below the abstention threshold (the reader's own unless the settings say otherwise) the
article is taken not to answer, and the answer says what it lacks (rag.answer.abstention). When
the question asks for a name, number, date or place, the answer leads with it
(rag.answer.short_answer). `rank` is also what the generative answerer asks: one reader, one
measure, in both modes. Not done: synthesis across sentences or rewording.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

from rag.answer.abstention import abstention, unknown_names
from rag.answer.coverage import Coverage
from rag.answer.question import Asked
from rag.answer.reader import Question, Reader
from rag.answer.short_answer import lead_sentence, short_answer
from rag.index.store import Index
from rag.results import Answer, Citation
from rag.retrieval.candidates import Candidate, candidates_of
from rag.retrieval.retriever import Retrieval

MAX_QUOTE_CHARS = 400  # longer sentences are quoted in part
SECOND_SENTENCE_RATIO = 0.85


@dataclass
class Ranked:
    """The candidates of a retrieval, most probable answer first, and the question they answer."""

    question: Question
    sentences: list[Candidate]

    @property
    def asked(self) -> Asked:
        return self.question.asked


class ExtractiveAnswerer:
    def __init__(
        self, index: Index, reader: Reader, abstain_threshold: float | None = None
    ) -> None:
        """`abstain_threshold` replaces the reader's own (a setting)."""
        self.index = index
        self.reader = reader
        self.abstain_threshold = (
            reader.threshold if abstain_threshold is None else abstain_threshold
        )
        self.coverage = Coverage(index)

    def rank(self, retrieval: Retrieval) -> Ranked:
        """Every candidate of `retrieval` scored by the reader, most probable first."""
        question = Question.of(retrieval.question)
        candidates = candidates_of(retrieval, self.index)
        for candidate, probability in zip(
            candidates, self.reader.score(question, candidates).tolist(), strict=True
        ):
            candidate.score = float(probability)
        candidates.sort(key=lambda c: -c.score)
        return Ranked(question, candidates)

    def answers(self, ranked: Ranked) -> bool:
        """Whether the best candidate reaches the abstention threshold."""
        return bool(ranked.sentences) and ranked.sentences[0].score >= self.abstain_threshold

    @staticmethod
    def paragraph_support(ranked: Ranked) -> dict[tuple[str, int], float]:
        """Each retrieved paragraph's support for answering the question (its best sentence's):
        the measure that decides abstention, applied paragraph by paragraph."""
        best: dict[tuple[str, int], float] = {}
        for sentence in ranked.sentences:
            best[sentence.key] = max(best.get(sentence.key, -math.inf), sentence.score)
        return best

    def stream(
        self, retrieval: Retrieval, standalone: str, question: str, prompt_k: int | None = None
    ) -> Generator[str, None, Answer]:
        """The answerers' one call shape (see rag.answer.generative): nothing is streamed, the
        whole answer is returned."""
        return self.answer(retrieval, standalone, question)
        yield  # a generator that produces no text: the extractive answer comes whole

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
        if not self.answers(ranked) or unknown:
            said, closest = abstention(ranked.asked, best[0] if best else None, self.index, unknown)
            if closest is not None:  # quoted as an answer would be: a long sentence in part
                closest = self._citation(best[0], retrieval.question)
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
        return self.index.cite(sentence.doc, sentence.paragraph, start, end, sentence.score)


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
