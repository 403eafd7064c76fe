"""PDFs: paragraphs rebuilt across line and page breaks, each with its page, and cited by it.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from rag.documents.pdf import _joined
from rag.documents.sources import read_document

from ..news_page import ARTICLE, BOILERPLATE, PDF, kept


def test_the_printed_page_keeps_the_article_and_each_paragraph_its_page() -> None:
    document = read_document(PDF)
    texts = [p.text for p in document.paragraphs]
    assert kept(texts, ARTICLE) == list(ARTICLE)
    running = ["Coastal Ledger", "file:", "news_page.html", "1/2", "2/2"]
    assert kept(texts, [*BOILERPLATE, *running]) == []
    assert document.paragraphs[0].text == ARTICLE[0]  # the two-line headline is one paragraph
    pages = [p.page or 0 for p in document.paragraphs]
    assert pages == sorted(pages) and pages[0] == 1 and pages[-1] == 2


def test_a_word_hyphenated_at_a_line_end_is_joined() -> None:
    assert (
        _joined(["The harbour levy on moor-", "ings rose."]) == "The harbour levy on moorings rose."
    )
    assert _joined(["A well-", "Known case."]) == "A well- Known case."
