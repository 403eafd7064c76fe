"""Web pages: the article of an HTML page is indexed with its roles, and the site is not.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from rag.documents.sources import read_document
from rag.index.documents import document_from_json, document_to_json

from ..news_page import ARTICLE, BOILERPLATE, HEADLINE, PAGE, kept


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
