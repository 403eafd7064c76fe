"""The extractive answerer: answer with the article's own sentences, no language model.

For the retrieved paragraphs, every sentence is scored by how well it answers the question:
its cosine with the question, the share of the question's (IDF-weighted) words it contains, and
a small bonus when it holds the kind of thing asked for (a number for "how many", a date for
"when", a name for "who"). The best sentence is the answer, verbatim, followed by its [¶N]; a
second one joins it when it comes from another paragraph and scores nearly as well.

Support, the evidence that the article answers at all, is the best sentence's cosine plus the
IDF-weighted share of the question's words found in its paragraph, less a penalty when the
question asks for a number, date or name and the sentence holds none. Below `abstain_threshold`
(chosen on the gold set: see scripts/calibrate_abstention.py and the README) the answer is
"The article does not say." A sentence addressing the reader or an AI system
(rag.injection) is never an answer. Not done: synthesis across sentences or rewording.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.index import Index
from rag.injection import addresses_the_system
from rag.lexical import tokenize
from rag.passages import labelled
from rag.results import ABSTENTION, Answer, Citation
from rag.retrieval import Retrieval

# Words that shape a question but say nothing about its subject.
_SHAPE_WORDS = """what which who whom whose when where why how many much name names kind type
    happen happened happens according article tell told describe mention mentioned one ones
    did do does done get got give given make made thing things people person"""
QUESTION_WORDS = frozenset([*tokenize(_SHAPE_WORDS), *_SHAPE_WORDS.split()])
MAX_QUOTE_CHARS = 400  # longer sentences are quoted in part
SECOND_SENTENCE_RATIO = 0.85
W_DENSE, W_COVERAGE, W_TYPE, W_RANK = 1.0, 0.5, 0.15, 0.05
TYPE_MISSING_PENALTY = 0.3

_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(
    rf"\b{_MONTH}\b|\b(19|20)\d\d\b|\b(19|20)?\d0s\b|\b\d{{1,2}}:\d\d\b|\b(Monday|Tuesday|Wednesday|"
    r"Thursday|Friday|Saturday|Sunday|yesterday|today|last week)\b"
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(two|three|four|five|six|seven|eight|nine|ten|hundred|"
    r"thousand|million|dozens?)\b",
    re.IGNORECASE,
)
# A name: a capitalised word (or acronym) that does not begin the sentence, or a run of two or
# more capitalised words anywhere ("Hadi Jalo Marie", "Reuters", "ISIS").
_NAME = re.compile(r"(?<=\S\s)[A-Z][\w’'-]+|\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+")


@dataclass
class ScoredSentence:
    doc: str
    paragraph: int
    index: int
    text: str
    start: int
    end: int
    score: float
    dense: float
    coverage: float
    typed: bool | None  # holds the kind of thing asked for (None: no particular kind asked)


def expected_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|share)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|day|time|month)\b|\bsince when\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhose\b|\bwhom\b|\bwhat is the name\b", q):
        return "name"
    return None


def has_type(sentence: str, kind: str | None, question: str) -> bool:
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "name":
        asked = question.lower()
        names = [m.group() for m in _NAME.finditer(sentence)]
        return any(name.lower() not in asked for name in names)
    return False


class Coverage:
    """IDF-weighted share of a question's content words found in a text."""

    def __init__(self, index: Index) -> None:
        self._lexical = index.lexical
        self._n = max(1, index.lexical.num_docs)

    def idf(self, token: str) -> float:
        return math.log(1 + self._n / (self._lexical.document_frequency(token) + 0.5))

    def content_words(self, question: str) -> list[str]:
        return [t for t in dict.fromkeys(tokenize(question)) if t not in QUESTION_WORDS]

    def share(self, question: str, text: str) -> float:
        words = self.content_words(question)
        if not words:
            return 0.0
        present = set(tokenize(text))
        total = sum(self.idf(w) for w in words)
        return sum(self.idf(w) for w in words if w in present) / total


class ExtractiveAnswerer:
    def __init__(self, index: Index, abstain_threshold: float) -> None:
        self.index = index
        self.abstain_threshold = abstain_threshold
        self.coverage = Coverage(index)

    def rank_sentences(self, retrieval: Retrieval) -> list[ScoredSentence]:
        question = retrieval.question
        kind = expected_type(question)
        scored: list[ScoredSentence] = []
        for rank, hit in enumerate(retrieval.hits):
            paragraph = self.index.paragraph(hit.doc, hit.paragraph)
            paragraph_share = self.coverage.share(question, labelled(paragraph, paragraph.text))
            for i, sentence in enumerate(paragraph.sentences):
                if addresses_the_system(sentence.text):
                    continue  # "ignore previous instructions…" is never an answer
                dense = hit.sentence_dense.get(i, hit.dense)
                searchable = labelled(paragraph, sentence.text)
                share = max(self.coverage.share(question, searchable), paragraph_share * 0.5)
                typed = None if kind is None else has_type(sentence.text, kind, question)
                fit = 0.0 if typed is None else (W_TYPE if typed else -W_TYPE)
                score = W_DENSE * dense + W_COVERAGE * share + fit - W_RANK * rank
                scored.append(
                    ScoredSentence(
                        hit.doc,
                        hit.paragraph,
                        i,
                        sentence.text,
                        sentence.start,
                        sentence.end,
                        score,
                        dense,
                        paragraph_share,
                        typed,
                    )
                )
        scored.sort(key=lambda s: -s.score)
        return scored

    @staticmethod
    def support(best: ScoredSentence) -> float:
        """Evidence that the sentence answers: meaning, shared words, and the asked-for kind."""
        return best.dense + best.coverage - (TYPE_MISSING_PENALTY if best.typed is False else 0.0)

    def paragraph_support(
        self, retrieval: Retrieval, ranked: list[ScoredSentence] | None = None
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
        ranked: list[ScoredSentence] | None = None,
    ) -> Answer:
        """The best sentence(s) of `retrieval`, or the abstention; `ranked` is
        `rank_sentences(retrieval)` when the caller has it already."""
        ranked = self.rank_sentences(retrieval) if ranked is None else ranked
        if not ranked or self.support(ranked[0]) < self.abstain_threshold:
            return Answer(question, standalone, ABSTENTION, [], True, "extractive")
        chosen = [ranked[0]]
        for other in ranked[1:]:
            if other.score < ranked[0].score * SECOND_SENTENCE_RATIO:
                break
            if other.paragraph != ranked[0].paragraph or other.doc != ranked[0].doc:
                chosen.append(other)
                break
        citations = [self._citation(s, retrieval.question) for s in chosen]
        multi = self.index.multi_doc
        text = " ".join(
            f"{_shown(s, c)} {c.marker(multi)}" for s, c in zip(chosen, citations, strict=True)
        )
        return Answer(question, standalone, text, citations, False, "extractive")

    def _citation(self, sentence: ScoredSentence, question: str) -> Citation:
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


def _shown(sentence: ScoredSentence, citation: Citation) -> str:
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
