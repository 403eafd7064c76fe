"""Web pages: the article of an HTML page is indexed with its roles, and the site is not.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.documents.sources import read_document
from rag.errors import SourceError

from ..fakes import one_line_error, run_rag
from ..news_page import PAGE


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
