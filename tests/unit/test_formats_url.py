"""URLs: pages and PDFs fetched from a local server (127.0.0.1, so with private addresses
allowed), with every limit and every failure one clear error.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from pathlib import Path


def test_rag_sources_takes_urls_beside_paths() -> None:
    from rag.config import Settings

    env = {
        "RAG_SOURCES": "http://127.0.0.1:8000/a/b.html:/tmp/x.txt",
        "RAG_ALLOW_PRIVATE_URLS": "1",
    }
    settings = Settings.load(env=env)
    assert settings.sources == ("http://127.0.0.1:8000/a/b.html", Path("/tmp/x.txt"))
    assert settings.allow_private_urls
