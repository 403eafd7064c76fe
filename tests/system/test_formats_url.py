"""URLs: pages and PDFs fetched from a local server (127.0.0.1, so with private addresses

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.documents.fetch import USER_AGENT, fetch, fetched_record
from rag.documents.sources import read_document
from rag.errors import SourceError

from ..fakes import one_line_error, run_rag
from ..news_page import BOILERPLATE, PAGE, PDF, index_and_ask, kept

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/news/harbour-wall": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.read_bytes()),
    "/print/harbour-wall.pdf": (200, {"Content-Type": "application/pdf"}, PDF.read_bytes()),
    "/moved": (301, {"Location": "/news/harbour-wall"}, b""),
    "/image.png": (200, {"Content-Type": "image/png"}, b"\x89PNG"),
    "/big": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 200_000),
    **{f"/loop{i}": (302, {"Location": f"/loop{i + 1}"}, b"") for i in range(10)},
}

SEEN: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        SEEN.append(self.headers.get("User-Agent", ""))
        if self.path == "/slow":
            time.sleep(2)
        status, headers, body = ROUTES.get(self.path, (404, {"Content-Type": "text/html"}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_a_page_and_a_pdf_are_fetched_with_their_url(server: str, tmp_path: Path) -> None:
    url = f"{server}/moved"
    copy = fetch(url, tmp_path, allow_private=True)
    assert copy.suffix == ".html" and copy.read_bytes() == PAGE.read_bytes()
    assert SEEN[-1] == USER_AGENT and "rag/" in USER_AGENT
    document = read_document(copy)
    record = fetched_record(copy)
    assert record is not None and record.url == url
    assert (document.source_url, document.fetched_at) == (url, record.fetched_at)
    assert kept([p.text for p in document.paragraphs], BOILERPLATE) == []
    pdf = fetch(f"{server}/print/harbour-wall.pdf", tmp_path, allow_private=True)
    assert pdf.suffix == ".pdf" and read_document(pdf).paragraphs[-1].page == 2


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/gone", "HTTP 404"),
        ("/image.png", "image/png, not HTML or PDF"),
        ("/loop0", "more than 5 redirects"),
        ("/big", "more than 0.1 MiB"),
        ("/slow", "no answer within 0.5 s"),
    ],
)
def test_each_failure_is_one_error(server: str, tmp_path: Path, path: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        fetch(f"{server}{path}", tmp_path, allow_private=True, timeout=0.5, max_bytes=100_000)
    assert not list(tmp_path.iterdir())  # nothing kept


def test_private_addresses_and_other_schemes_are_refused(server: str, tmp_path: Path) -> None:
    for url in (f"{server}/news/harbour-wall", "http://10.1.2.3/x", "http://[::1]/x"):
        with pytest.raises(SourceError, match="private or reserved address"):
            fetch(url, tmp_path)
    with pytest.raises(SourceError, match="only http and https"):
        fetch("file:///etc/passwd", tmp_path, allow_private=True)
    index_dir = tmp_path / "index"
    said = one_line_error(run_rag("index", f"{server}/news/harbour-wall", index_dir=index_dir), 3)
    assert "--allow-private-urls" in said


@pytest.mark.slow
def test_a_url_is_indexed_cited_and_not_fetched_again(server: str, tmp_path: Path) -> None:
    SEEN.clear()
    index_dir = tmp_path / "index"
    url = f"{server}/news/harbour-wall"
    answer = index_and_ask(url, index_dir, "--allow-private-urls")
    assert {c["url"] for c in answer["citations"]} == {url}  # each citation names where it is from
    assert len(SEEN) == 1  # fetched by the index, not by the ask: it reads the kept copy
    text = run_rag("ask", "How much will the scheme cost?", index_dir=index_dir)
    assert f"from {url}" in text.stdout
    manifest = json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"][0]["url"] == url
    gone = run_rag("index", f"{server}/gone", "--allow-private-urls", index_dir=index_dir)
    assert "HTTP 404" in one_line_error(gone, 3)
    assert json.loads((index_dir / "current" / "manifest.json").read_text()) == manifest
