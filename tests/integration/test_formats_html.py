"""Web pages: the article of an HTML page is indexed with its roles, and the site is not.

Integration tier: real models, FAISS, GGUF files, reader weights; in process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..news_page import PAGE, index_and_ask


@pytest.mark.slow
def test_a_page_is_indexed_and_asked_through_the_real_pipeline(tmp_path: Path) -> None:
    index_and_ask(str(PAGE), tmp_path / "index")
