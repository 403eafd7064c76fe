"""Bad input, nothing lost: a source that cannot be indexed is one error and leaves the existing
index exactly as it was, byte for byte.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import SourceError
from rag.index.build import build_index

from ..fakes import ARTICLE, FakeEmbedder
from ..news_page import PAGE


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    } | {"current ->": str((root / "current").resolve())}


BAD = {
    "chrome.html": re.sub(rb"<article.*</article>", b"", PAGE.read_bytes(), flags=re.S),
    "renamed.pdf": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    "story.docx": b"PK\x03\x04 a word file",
    "scan.html": b"\x00\x01\x02 not a page",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_source_leaves_the_index_as_it_was(tmp_path: Path, name: str) -> None:
    settings = Settings.load({"index_dir": tmp_path / "index"}, env={})
    build_index(settings, [ARTICLE], embedder=FakeEmbedder())
    before = _snapshot(settings.index_dir)
    bad = tmp_path / name
    bad.write_bytes(BAD[name])
    with pytest.raises(SourceError):
        build_index(settings, [ARTICLE, bad], embedder=FakeEmbedder())
    assert _snapshot(settings.index_dir) == before
