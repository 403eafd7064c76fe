"""PDFs: an article's paragraphs rebuilt from a PDF's text layer, through pypdf, each knowing
the page it starts on.

pypdf gives text runs with their position and font size. Runs on one baseline make a line;
a line starts a new paragraph when the gap above it is wider than one line of its font, or its
font size differs from the line before. A paragraph left without final punctuation at the foot
of a page goes on at the top of the next; a word hyphenated at a line's end is joined.
Running headers and footers are the first and last lines of a page that repeat on most pages
(digits aside: "3/12"), and lines that are only a page number; they are dropped. The paragraphs
then get their roles from the text parser (rag.documents.parse), like a .txt article's.

This is the only module that imports pypdf, and only when a PDF is read. Not handled: scanned
PDFs (no text layer: refused), several columns, tables.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.documents.parse import TERMINAL, Document, parse_text
from rag.errors import SourceError

EDGE_LINES = 2  # lines at the top and at the foot of a page that may be a running header/footer
PAGE_NUMBER = re.compile(r"^(page\s*)?\d+(\s*(/|of)\s*\d+)?$|\s\d+\s*/\s*\d+$", re.IGNORECASE)


@dataclass
class _Line:
    y: float
    size: float
    text: str


@dataclass
class _Block:
    page: int
    lines: list[str]


def pdf_document(data: bytes, name: str, path: Path) -> Document:
    """The article in a PDF as a `Document` whose paragraphs know their page; SourceError for
    an encrypted, damaged or scanned (no text) PDF."""
    pages = _pages(data, path)
    kept = _without_running_lines(pages)
    blocks = _blocks(kept)
    if not blocks:
        raise SourceError(f"{path}: the PDF has no text layer (a scan?); only text PDFs are read")
    texts = [_joined(b.lines) for b in blocks]
    document = parse_text("\n\n".join(texts), name, path, markdown=True)
    pages_of = iter(zip(texts, (b.page for b in blocks), strict=True))
    paragraphs = []
    for paragraph in document.paragraphs:  # blocks in order; boilerplate blocks are skipped
        page = next(page for text, page in pages_of if " ".join(text.split()) == paragraph.text)
        paragraphs.append(replace(paragraph, page=page))
    return replace(document, paragraphs=tuple(paragraphs))


def _pages(data: bytes, path: Path) -> list[list[_Line]]:
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError(f"{path}: the PDF is encrypted; give a copy without a password")
        return [_lines(page) for page in reader.pages]
    except SourceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        # pypdf reports a truncated or damaged file with any of these
        raise SourceError(f"{path}: the PDF is damaged or truncated ({exc})") from None


def _lines(page: Any) -> list[_Line]:
    """A page's lines, top to bottom."""
    runs: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            y = tm[5] * cm[3] + cm[5]
            runs.append((round(y, 1), round(abs(tm[0] * size * cm[0]), 1), text))

    page.extract_text(visitor_text=visit)
    lines: list[_Line] = []
    for y, size, text in runs:  # runs come in reading order; one baseline is one line
        if lines and abs(lines[-1].y - y) < 1.0:
            lines[-1].text += text
            lines[-1].size = max(lines[-1].size, size)
        else:
            lines.append(_Line(y, size, text))
    for line in lines:
        line.text = " ".join(line.text.split())
    return [line for line in lines if line.text]


def _without_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Pages without their running headers and footers and page numbers."""

    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text)

    edges = [{key(x) for x in lines[:EDGE_LINES] + lines[-EDGE_LINES:]} for lines in pages]
    counts: dict[str, int] = {}
    for keys in edges:
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
    running = {k for k, n in counts.items() if n >= 2 and n > len(pages) / 2}
    kept = []
    for lines in pages:
        edge = lines[:EDGE_LINES] + lines[-EDGE_LINES:]
        kept.append(
            [
                x
                for x in lines
                if not (x in edge and (key(x) in running or PAGE_NUMBER.search(x.text)))
            ]
        )
    return kept


def _blocks(pages: list[list[_Line]]) -> list[_Block]:
    """Lines grouped into paragraphs, across line and page breaks."""
    blocks: list[_Block] = []
    for number, lines in enumerate(pages, start=1):
        previous: _Line | None = None
        for line in lines:
            new = (
                not blocks
                or (previous is None and TERMINAL.search(blocks[-1].lines[-1]) is not None)
                or (
                    previous is not None
                    and (
                        abs(line.size - previous.size) > 0.5
                        or previous.y - line.y > 1.5 * max(line.size, 1.0)
                    )
                )
            )
            if new:
                blocks.append(_Block(number, [line.text]))
            else:
                blocks[-1].lines.append(line.text)
            previous = line
    return blocks


def _joined(lines: list[str]) -> str:
    """A paragraph's lines as one text; a word hyphenated across a line end is joined."""
    text = lines[0]
    for line in lines[1:]:
        if re.search(r"[a-z]-$", text) and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text
