"""Candidates: the sentences of the retrieved paragraphs, each with where it stands and how the
retrieval scored it, in retrieval order. This is what a reader (rag.answer.reader) weighs.

A sentence of an instruction to the reader or an AI system ("ignore previous instructions…",
and what follows it in its paragraph: rag.text.injection) is never a candidate: it is evidence
of nothing but itself.
Not here: scoring the candidates (readers) or choosing the answer (rag.answer.extractive).
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.documents.passages import steering_sentences
from rag.index.store import Index
from rag.retrieval.retriever import Retrieval


@dataclass
class Candidate:
    """One sentence of a retrieved paragraph."""

    doc: str
    paragraph: int
    index: int  # the sentence's position in its paragraph
    text: str
    start: int  # character offsets in the paragraph text
    end: int
    rank: int  # the paragraph's retrieval rank, 0 for the best
    dense: float  # MiniLM cosine of the question with the sentence
    paragraph_dense: float  # ... and with the paragraph's best passage
    score: float = 0.0  # the reader's probability that it answers, once weighed

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc, self.paragraph)


def candidates_of(retrieval: Retrieval, index: Index) -> list[Candidate]:
    """Every sentence of `retrieval`'s paragraphs, paragraph by paragraph in retrieval order."""
    found: list[Candidate] = []
    for rank, hit in enumerate(retrieval.hits):
        paragraph = index.paragraph(hit.doc, hit.paragraph)
        steering = steering_sentences(paragraph)
        for i, sentence in enumerate(paragraph.sentences):
            if steering[i]:
                continue
            found.append(
                Candidate(
                    hit.doc,
                    hit.paragraph,
                    i,
                    sentence.text,
                    sentence.start,
                    sentence.end,
                    rank,
                    hit.sentence_dense.get(i, hit.dense),
                    hit.dense,
                )
            )
    return found
