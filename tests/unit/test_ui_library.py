"""The web chat's library panel (ui.library) over a real library with the fake embedder: what
the page shows while a document is added, refused or removed, and what the API returns.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.build import build_index
from rag.index.library import Library
from rag.live import LivePipeline
from rag.pipeline import Pipeline

from ..fakes import STORY, FakeEmbedder
from ..news_page import PAGE


@pytest.fixture
def live(tmp_path: Path) -> LivePipeline:
    story = tmp_path / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    settings = Settings.load({"index_dir": tmp_path / "index", "sources": (story,)}, env={})
    build_index(settings, [story], embedder=FakeEmbedder())
    return LivePipeline(Pipeline.open(settings, embedder=FakeEmbedder()))


def statuses(steps: list[tuple]) -> list[str]:
    return [step[0] for step in steps if isinstance(step[0], str)]


def test_adding_shows_progress_then_the_library_with_the_new_document(
    live: LivePipeline,
) -> None:
    from ui.library import LibraryPanel

    panel = LibraryPanel(live, Library(live.settings, embedder=FakeEmbedder()))
    steps = list(panel.add_file(str(PAGE)))
    shown = statuses(steps)
    assert "Indexing news_page.html: waiting for the index…" in shown[0]
    assert any("Indexing news_page.html: indexing 2 document(s)" in s for s in shown)
    assert "Added <b>Harbour town votes to rebuild its sea wall" in shown[-1]
    _, listing, choices, header, article, link = steps[-1]
    assert "2 documents" in listing and "news_page · 6 KB · 14 ¶ · news_page.html" in listing
    assert choices["choices"][-1] == (
        "Harbour town votes to rebuild its sea wall after winter storms (news_page)",
        "news_page",
    )
    assert "and 1 more article(s)" in header and "news_page ¶9" in article and link == ""
    assert [d["id"] for d in panel.api_documents()] == ["story", "news_page"]
    assert [d.name for d in live.documents] == ["story", "news_page"]  # already reopened

    steps = list(panel.remove("news_page"))
    assert statuses(steps)[-1].endswith("Removed news_page.</div>")
    assert "1 document<" in steps[-1][1]


def test_refusals_are_one_line_on_the_page_and_errors_from_the_api(
    live: LivePipeline, tmp_path: Path
) -> None:
    import gradio as gr

    from ui.library import LibraryPanel

    panel = LibraryPanel(live, Library(live.settings, embedder=FakeEmbedder()))
    fake = tmp_path / "scan.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    shown = statuses(list(panel.add_file(str(fake))))
    assert "Not added: scan.pdf: not a PDF" in shown[-1] and "rag-lib-error" in shown[-1]
    shown = statuses(list(panel.add_link(str(PAGE))))  # a path names a file on the server
    assert "is not a link" in shown[-1]
    with pytest.raises(gr.Error, match="is not a link"):
        panel.api_add_link("/etc/passwd")
    with pytest.raises(gr.Error, match="not a PDF"):
        panel.api_add_file(str(fake))
    assert [d["id"] for d in panel.api_documents()] == ["story"]


def test_with_adding_off_the_controls_are_hidden_and_changes_refused(
    live: LivePipeline,
) -> None:
    import gradio as gr

    from ui.library import LibraryPanel

    panel = LibraryPanel(live, None)
    with pytest.raises(gr.Error, match=r"off on this server.*--allow-uploads"):
        panel.api_add_file(str(PAGE))
    with pytest.raises(gr.Error, match=r"off on this server.*--allow-uploads"):
        panel.api_remove("story")
    shown = statuses(list(panel.add_file(str(PAGE))))
    assert "off on this server" in shown[-1]
    assert [d["id"] for d in panel.api_documents()] == ["story"]
