"""Passages: the searchable units cut from documents.

Every numbered paragraph is a unit, and so is each sentence of a paragraph that has more than
one, so a question can match a whole paragraph or the one sentence that answers it. A unit
knows its document, paragraph number, sentence position and character offsets. Its `search_text`
— what is embedded and given to BM25 — names the role of structural parts ("Photo caption: …",
"Photo credit (news agency): Reuters", "Headline: …"), so "who took the photo?" finds the
credit; quotes always use the verbatim `text`. The order is deterministic, so the vectors on
disk line up with `units_for` of the same documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.documents.parse import Document, Paragraph
from rag.text.injection import steering

WHOLE_PARAGRAPH = -1
LEFT_OUT = "[instructions to an AI system, left out]"


@dataclass(frozen=True)
class Unit:
    doc: str
    paragraph: int
    sentence: int  # index into the paragraph's sentences, or WHOLE_PARAGRAPH
    text: str
    start: int
    end: int
    search_text: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc, self.paragraph)


def units_for(documents: Sequence[Document]) -> list[Unit]:
    units: list[Unit] = []
    for document in documents:
        for paragraph in document.paragraphs:
            units.append(
                Unit(
                    document.name,
                    paragraph.number,
                    WHOLE_PARAGRAPH,
                    paragraph.text,
                    0,
                    len(paragraph.text),
                    labelled(paragraph, paragraph.text),
                )
            )
            if len(paragraph.sentences) > 1:
                for i, sentence in enumerate(paragraph.sentences):
                    units.append(
                        Unit(
                            document.name,
                            paragraph.number,
                            i,
                            sentence.text,
                            sentence.start,
                            sentence.end,
                            labelled(paragraph, sentence.text),
                        )
                    )
    return units


ROLE_LABELS = {
    "headline": "Headline",
    "caption": "Photo caption",
    "subheading": "Section heading",
    "dateline": "Article date",
}


def labelled(paragraph: Paragraph, text: str) -> str:
    """The text to search for a paragraph or sentence: its words, prefixed by its role."""
    if paragraph.role == "caption" and paragraph.credit and text.strip() == paragraph.credit:
        return f"Photo credit (news agency, photographer): {text}"
    label = ROLE_LABELS.get(paragraph.role)
    return f"{label}: {text}" if label else text


def steering_sentences(paragraph: Paragraph) -> list[bool]:
    """Which of the paragraph's sentences belong to an instruction to the system."""
    return steering([s.text for s in paragraph.sentences])


def evidence_text(paragraph: Paragraph) -> str:
    """The paragraph as evidence for answers and prompts: its text with the sentences of an
    instruction to the system replaced by LEFT_OUT (the text itself when there are none)."""
    marks = steering_sentences(paragraph)
    if not any(marks):
        return paragraph.text
    kept, left_out = [], False
    for sentence, mark in zip(paragraph.sentences, marks, strict=True):
        if not mark:
            kept.append(sentence.text)
        elif not left_out:
            kept.append(LEFT_OUT)
        left_out = mark
    return " ".join(kept)
