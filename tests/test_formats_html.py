"""Web pages: the article of an HTML page is indexed with its roles, and the site is not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.documents.sources import read_document
from rag.errors import SourceError
from rag.index.documents import document_from_json, document_to_json

from .conftest import one_line_error, run_rag
from .news_page import ARTICLE, BOILERPLATE, HEADLINE, PAGE, index_and_ask, kept


def test_the_article_is_kept_with_its_roles_and_the_site_dropped() -> None:
    document = read_document(PAGE)
    texts = [p.text for p in document.paragraphs]
    assert kept(texts, ARTICLE) == list(ARTICLE)
    assert kept([*texts, *document.boilerplate], BOILERPLATE) == []
    roles = {p.role for p in document.paragraphs}
    assert roles == {"headline", "standfirst", "dateline", "caption", "subheading", "body"}
    caption = next(p for p in document.paragraphs if p.role == "caption")
    assert caption.credit == "Photo: Reuters"
    assert (document.title, document.date, document.author) == (
        HEADLINE,
        "2026-03-14",
        "Mira Okafor",
    )


def test_metadata_round_trips_and_an_old_index_still_opens() -> None:
    document = read_document(PAGE)
    raw = document_to_json(document)
    assert document_from_json(raw) == document
    for key in ("title", "date", "author"):
        del raw[key]  # as written before documents had metadata
    assert document_from_json(raw).title == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not an HTML page"),
        # The news page with its article taken out: the site chrome alone.
        (re.sub(rb"<article.*</article>", b"", PAGE.read_bytes(), flags=re.S), "no article text"),
    ],
)
def test_a_page_that_is_not_an_article_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_document(path)
    index_dir = tmp_path / "index"
    assert message in one_line_error(run_rag("index", str(path), index_dir=index_dir), 3)
    assert not (index_dir / "current").exists()


@pytest.mark.slow
def test_a_page_is_indexed_and_asked_through_the_real_pipeline(tmp_path: Path) -> None:
    index_and_ask(str(PAGE), tmp_path / "index")
