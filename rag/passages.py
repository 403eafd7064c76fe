"""Passages: the searchable units cut from documents.

Every numbered paragraph is a unit, and so is each sentence of a paragraph that has more than
one, so a question can match a whole paragraph or the one sentence that answers it. A unit
knows its document, paragraph number, sentence position and character offsets. The order is
deterministic, so the vectors on disk line up with `units_for` of the same documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.documents import Document

WHOLE_PARAGRAPH = -1


@dataclass(frozen=True)
class Unit:
    doc: str
    paragraph: int
    sentence: int  # index into the paragraph's sentences, or WHOLE_PARAGRAPH
    text: str
    start: int
    end: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc, self.paragraph)


def units_for(documents: Sequence[Document]) -> list[Unit]:
    units: list[Unit] = []
    for document in documents:
        for paragraph in document.paragraphs:
            units.append(
                Unit(document.name, paragraph.number, WHOLE_PARAGRAPH, paragraph.text, 0,
                     len(paragraph.text))
            )
            if len(paragraph.sentences) > 1:
                for i, sentence in enumerate(paragraph.sentences):
                    units.append(
                        Unit(document.name, paragraph.number, i, sentence.text, sentence.start,
                             sentence.end)
                    )
    return units
