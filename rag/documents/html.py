"""Web pages: a news article's own text out of an HTML page, through trafilatura.

trafilatura finds the article inside the page and drops what surrounds it (navigation, cookie
banners, share buttons, "most read" and related links, newsletter boxes, scripts and styles); it
also reads the page's title, author and date. Its text, in Markdown, goes through the text
parser (rag.documents.parse), so a page's headline, standfirst, captions, subheadings, body and
dateline get the same roles as a .txt article's. trafilatura drops figures with their captions,
so each `<figcaption>` is made a paragraph first: a photo's caption is part of the article.

This is the only module that imports trafilatura (and lxml), and only when a page is read. Not
here: fetching a page (rag.documents.fetch) or telling an HTML file by its content
(rag.documents.parse).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.documents.parse import Document, parse_text
from rag.errors import SourceError


def html_document(data: bytes, name: str, path: Path) -> Document:
    """The article in an HTML page as a `Document` with its title, date and author; SourceError
    when the page holds no article text."""
    import lxml.html
    import trafilatura
    from lxml.etree import ParserError

    try:
        tree = lxml.html.fromstring(data)
    except (ParserError, ValueError) as exc:
        raise SourceError(f"{path}: not a readable HTML page ({exc})") from None
    _captions_as_paragraphs(tree)
    metadata = trafilatura.extract_metadata(copy.deepcopy(tree))
    text = trafilatura.extract(
        tree,
        output_format="markdown",
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        include_formatting=True,
        favor_precision=True,  # a page of site chrome alone yields nothing, not its cookie notice
    )
    text = (text or "").strip()
    if not text:
        raise SourceError(f"{path}: no article text found in this page")
    title = _field(metadata, "title")
    if title and not text.startswith("#"):
        text = f"# {title}\n\n{text}"
    document = parse_text(_paragraphs(text), name, path, markdown=True)
    return replace(
        document,
        title=title or document.headline,
        date=_field(metadata, "date"),
        author=_field(metadata, "author"),
    )


def _field(metadata: object, name: str) -> str:
    return str(getattr(metadata, name, None) or "").strip()


def _captions_as_paragraphs(tree: Any) -> None:
    """Each `<figcaption>` becomes a `<p>` before its `<figure>` (trafilatura drops figures)."""
    import lxml.html

    for caption in list(tree.iter("figcaption")):
        figure = next((a for a in caption.iterancestors("figure")), None)
        paragraph = lxml.html.Element("p")
        paragraph.text = " ".join(caption.text_content().split())
        (figure if figure is not None else caption).addprevious(paragraph)
        caption.getparent().remove(caption)


def _paragraphs(markdown: str) -> str:
    """trafilatura's Markdown with every line its own paragraph (it puts one block on a line,
    not always with a blank line between)."""
    return "\n\n".join(line.strip() for line in re.split(r"\n+", markdown) if line.strip())
