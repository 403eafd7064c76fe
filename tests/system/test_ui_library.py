"""The web chat's library through gradio_client, against `rag serve` in a subprocess: documents
added (a web page, a PDF, a link), listed, asked about with citations naming them, refused
(a binary renamed .pdf: nothing changes) and removed; the library kept across a restart;
questions answered while a document is indexed; the index reopened when another process
rebuilt it; adding refused beyond loopback without --allow-uploads.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ..fakes import ARTICLE, rag_index, run_rag, serving
from ..news_page import FIXTURES, PAGE, PDF

pytestmark = pytest.mark.slow

SCHEME = "How much will the scheme cost?"
NOMINATED = "who nominated Al Sudani?"
SCHOOL = """Valley school reopens after the flood

The primary school in Lowmere reopened on Tuesday, six weeks after the river flooded it.

The repairs cost 300,000 pounds and were paid by the county council.
"""


@pytest.fixture(scope="module")
def article_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled article, built once; each test changes a copy of it."""
    return rag_index(tmp_path_factory.mktemp("library") / "index", ARTICLE)


@pytest.fixture
def index_dir(article_only: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(article_only, copy, symlinks=True)
    return copy


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def ids(c) -> list[str]:
    return [d["id"] for d in c.predict(api_name="/documents")]


def add(c, path: Path) -> dict:
    from gradio_client import handle_file

    result: dict = c.predict(handle_file(str(path)), api_name="/add_document")
    return result


def test_documents_are_added_asked_about_refused_and_removed(
    index_dir: Path, tmp_path: Path
) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with serving(index_dir, tmp_path) as url:
        c = client(url)
        assert ids(c) == [ARTICLE.stem]
        with pytest.raises(AppError, match="is not a link"):  # a path names a server file
            c.predict(str(PAGE), api_name="/add_url")
        # Questions asked while the page is indexed are answered from the library as it was.
        job = c.submit(handle_file(str(PAGE)), api_name="/add_document")
        asked = c.predict(NOMINATED, api_name="/ask")
        assert not job.done()  # answered during the indexing run
        assert "Co-ordination Framework" in asked["answer"]
        assert asked["citations"][0]["doc"] == ARTICLE.stem
        page = job.result()
        assert page["id"] == "news_page" and page["paragraphs"] == 14
        assert page["title"] == "Harbour town votes to rebuild its sea wall after winter storms"
        pdf = add(c, PDF)
        assert pdf["id"] == "news_page-2" and pdf["paragraphs"] >= 14
        listed = c.predict(api_name="/documents")
        assert [d["id"] for d in listed] == [ARTICLE.stem, "news_page", "news_page-2"]
        assert listed[1]["size"] == PAGE.stat().st_size and listed[1]["source"] == "news_page.html"

        answer = c.predict(SCHEME, api_name="/ask")
        assert "£14 million" in answer["answer"]
        cited = answer["citations"][0]
        assert cited["doc"] in ("news_page", "news_page-2")
        assert f"[{cited['doc']} ¶" in answer["answer"]  # the citation names its document
        assert c.predict(NOMINATED, api_name="/ask")["citations"][0]["doc"] == ARTICLE.stem

        before = sorted(p.name for p in (index_dir / "builds").iterdir())
        fake = tmp_path / "upload" / "scan.pdf"
        fake.parent.mkdir()
        fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
        with pytest.raises(AppError, match=r"scan\.pdf: not a PDF"):
            add(c, fake)
        assert ids(c) == [ARTICLE.stem, "news_page", "news_page-2"]
        assert sorted(p.name for p in (index_dir / "builds").iterdir()) == before
        assert len(list((index_dir / "uploads").iterdir())) == 2  # no copy of the refused file

        remaining = c.predict("news_page-2", api_name="/remove_document")
        assert [d["id"] for d in remaining] == [ARTICLE.stem, "news_page"]
        with pytest.raises(AppError, match="no document 'news_page-2' in the library"):
            c.predict("news_page-2", api_name="/remove_document")
        assert c.predict(SCHEME, api_name="/ask")["citations"][0]["doc"] == "news_page"


def test_a_link_is_fetched_and_the_library_survives_a_restart(
    index_dir: Path, tmp_path: Path
) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(FIXTURES))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    link = f"http://127.0.0.1:{httpd.server_address[1]}/news_page.html"
    try:
        with serving(index_dir, tmp_path, "--allow-private-urls") as url:
            added = client(url).predict(link, api_name="/add_url")
            assert added["id"] == "news_page" and added["source"] == link
    finally:
        httpd.shutdown()
    with serving(index_dir, tmp_path) as url:  # a new server over the same index folder
        c = client(url)
        listed = c.predict(api_name="/documents")
        assert [d["id"] for d in listed] == [ARTICLE.stem, "news_page"]
        assert listed[1]["source"] == link
        assert c.predict(SCHEME, api_name="/ask")["citations"][0]["doc"] == "news_page"
    done = run_rag("ask", SCHEME, "--json", index_dir=index_dir)  # the CLI sees it too
    assert done.returncode == 0 and "news_page ¶" in done.stdout


def test_the_server_reopens_the_index_another_process_rebuilt(
    index_dir: Path, tmp_path: Path
) -> None:
    """`rag index` in another process swaps in a new build: the server answers from it (it
    answered from the old one before)."""
    school = tmp_path / "school.txt"
    school.write_text(SCHOOL, encoding="utf-8")
    with serving(index_dir, tmp_path) as url:
        c = client(url)
        assert c.predict("How much did the school repairs cost?", api_name="/ask")["abstained"]
        done = run_rag("index", str(school), index_dir=index_dir)
        assert done.returncode == 0, done.stderr
        answer = c.predict("How much did the school repairs cost?", api_name="/ask")
        assert "300,000" in answer["answer"] and answer["citations"][0]["doc"] == "school"
        assert ids(c) == ["school"]


def test_beyond_loopback_adding_needs_allow_uploads(index_dir: Path, tmp_path: Path) -> None:
    from gradio_client.exceptions import AppError

    from ..fakes import status

    with serving(index_dir, tmp_path, "--host", "0.0.0.0", "--allow-remote") as url:
        c = client(url)
        assert ids(c) == [ARTICLE.stem]  # listing still works
        with pytest.raises(AppError, match=r"off on this server.*--allow-uploads"):
            c.predict("https://example.org/story", api_name="/add_url")
        with pytest.raises(AppError, match=r"off on this server.*--allow-uploads"):
            c.predict(ARTICLE.stem, api_name="/remove_document")
        upload = status(
            url + "gradio_api/upload",
            b"--x--\r\n",
            {"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert upload == 403
        assert ids(c) == [ARTICLE.stem]
    with serving(
        index_dir, tmp_path, "--host", "0.0.0.0", "--allow-remote", "--allow-uploads"
    ) as url:
        c = client(url)
        assert add(c, PAGE)["id"] == "news_page"
        assert ids(c) == [ARTICLE.stem, "news_page"]
