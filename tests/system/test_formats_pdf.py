"""PDFs: paragraphs rebuilt across line and page breaks, each with its page, and cited by it.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from rag.documents.sources import read_document
from rag.errors import SourceError
from rag.results import MARKER, Citation

from ..fakes import one_line_error, run_rag
from ..news_page import PDF, index_and_ask


def test_a_citation_of_a_pdf_names_its_page() -> None:
    citation = Citation("news_page", 13, "q", "q", 0, 1, 0.5, page=2)
    assert citation.marker(False) == "[¶13, p. 2]"
    assert citation.to_dict()["page"] == 2
    assert MARKER.fullmatch("[¶13, p. 2]") and MARKER.fullmatch("[news_page ¶13]")
    assert "page" not in Citation("a", 1, "q", "q", 0, 1, 0.5).to_dict()


def _encrypted() -> bytes:
    writer = pypdf.PdfWriter(clone_from=str(PDF))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scanned() -> bytes:  # a page with no text layer
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_encrypted, "encrypted"),
        (_scanned, "no text layer"),
        (lambda: PDF.read_bytes()[: len(PDF.read_bytes()) // 3], "damaged or truncated"),
        (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a PDF"),
    ],
)
def test_a_pdf_that_cannot_be_read_is_one_error_line(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "story.pdf"
    path.write_bytes(make())
    with pytest.raises(SourceError, match=message):
        read_document(path)
    index_dir = tmp_path / "index"
    assert message in one_line_error(run_rag("index", str(path), index_dir=index_dir), 3)


@pytest.mark.slow
def test_a_pdf_is_indexed_and_asked_and_its_page_cited(tmp_path: Path) -> None:
    answer = index_and_ask(str(PDF), tmp_path / "index")
    assert answer["citations"][0]["page"] == 1
    assert ", p. 1]" in answer["answer"]
