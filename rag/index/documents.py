"""documents.json: the parsed documents of a build (roles, paragraphs, sentence offsets), written
at build time and read back with checks.

`document_from_json` refuses paragraph numbers that are not 1..n and sentence offsets outside
their paragraph. Not here: parsing sources (rag.documents), the manifest (rag.index.manifest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.documents.parse import Document, Paragraph
from rag.text.sentences import Sentence

# A document's optional metadata (web pages and PDFs have them; older indexes lack them).
METADATA = ("title", "date", "author", "source_url", "fetched_at")


def document_to_json(document: Document) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": document.name,
        "path": str(document.path),
        "sha256": document.sha256,
        "boilerplate": list(document.boilerplate),
        "paragraphs": [_paragraph_to_json(p) for p in document.paragraphs],
    }
    out.update({key: getattr(document, key) for key in METADATA if getattr(document, key)})
    return out


def _paragraph_to_json(paragraph: Paragraph) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": paragraph.number,
        "role": paragraph.role,
        "text": paragraph.text,
        "credit": paragraph.credit,
        "sentences": [[s.start, s.end] for s in paragraph.sentences],
    }
    if paragraph.page is not None:  # a PDF's page
        out["page"] = paragraph.page
    return out


def document_from_json(raw: dict[str, Any]) -> Document:
    numbers = [int(p["number"]) for p in raw["paragraphs"]]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"paragraphs of {raw['name']!r} are not numbered 1..{len(numbers)}")
    paragraphs = tuple(
        Paragraph(
            raw["name"],
            int(p["number"]),
            str(p["role"]),
            str(p["text"]),
            tuple(Sentence(p["text"][s:e], int(s), int(e)) for s, e in _spans(p)),
            str(p.get("credit", "")),
            None if p.get("page") is None else int(p["page"]),
        )
        for p in raw["paragraphs"]
    )
    metadata = {key: str(raw.get(key, "")) for key in METADATA}
    return Document(
        raw["name"],
        Path(raw["path"]),
        raw["sha256"],
        paragraphs,
        tuple(raw.get("boilerplate", ())),
        **metadata,
    )


def _spans(paragraph: dict[str, Any]) -> list[tuple[int, int]]:
    """A paragraph's sentence offsets, checked to lie inside its text."""
    length = len(paragraph["text"])
    spans = [(int(start), int(end)) for start, end in paragraph["sentences"]]
    if not all(0 <= start < end <= length for start, end in spans):
        raise ValueError(f"paragraph {paragraph['number']} has sentence offsets outside its text")
    return spans
