"""The web chat in a real headless browser (Debian's chromium, driven by Playwright).

Types a question, waits for the streamed answer, checks the citation, the highlighted source and
the marked article paragraph are visible, and saves a screenshot; then serves a document full of
markup and checks it shows as text (no dialog, no element from the document); adds a web page
through the upload control, gets a cited answer from it, and removes it. In model mode,
with the real qwen2.5-coder-0.5b model: the model's name in the header, its draft streaming in,
then the checked answer with `[¶13]` and its highlighted quote; and, with a scripted model whose
second sentence the check removes, the collapsed list of removed sentences and their reasons.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..fakes import free_port, rag_index, require_model, serving, with_scripted_model
from ..news_page import PAGE

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOSTILE = """Testville opens its new bridge <script>alert("headline")</script>

The mayor said the bridge cost 12 million dollars and opened to traffic on Monday morning.

Engineers found the string <script>alert(1)</script> hidden in the bridge control software.

The city website showed <img src=x onerror=alert(1)> on its front page during the opening.

Residents paid $$5$$ tolls and called the bridge *great* & "historic" in a council survey.

Updated: January 5, 2024, 10:00 AM
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own browser session) that records dialogs, script errors and requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs, page.errors, page.requests = [], [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()


@pytest.fixture(scope="module")
def seed_server(article_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(article_index_dir, tmp_path_factory.mktemp("serve")) as url:
        yield url


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "hostile.txt"
    source.write_text(HOSTILE, encoding="utf-8")
    index = rag_index(folder / "index", source)
    with serving(index, folder) as url:
        yield url


@pytest.fixture(scope="module")
def library_server(
    article_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server whose library starts as the article alone (a copy of its index: it changes)."""
    folder = tmp_path_factory.mktemp("library")
    shutil.copytree(article_index_dir, folder / "index", symlinks=True)
    with serving(folder / "index", folder) as url:
        yield url


def ask(page: Any, question: str) -> Any:
    """Type the question, press Enter, return the finished answer bubble."""
    from playwright.sync_api import expect

    before = page.locator("#rag-chat .rag-answer").count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    answers = page.locator("#rag-chat .rag-answer:not(.rag-pending)")
    expect(answers).to_have_count(before + 1, timeout=60_000)
    return answers.last


def test_question_answer_citation_and_source(page: Any, seed_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(seed_server)
    header = page.locator("#rag-header")
    expect(header).to_contain_text("Iraqi government rejects Tehran-allied militia attacks")
    expect(header).to_contain_text("Updated: October 23, 2023")
    expect(header).to_contain_text("mode: extractive")
    expect(page.locator("#rag-examples")).to_contain_text("Who is Mohammed Shia Al Sudani?")

    answer = ask(page, "who nominated Al Sudani?")
    expect(answer.locator(".rag-text")).to_contain_text("Co-ordination Framework")
    expect(answer.locator(".rag-text .rag-cite")).to_have_text("[¶13]")
    mark = answer.locator(".rag-sources mark")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("was the nominee of the Iran-aligned Co-ordination Framework")
    expect(answer.locator(".rag-sources .rag-cite")).to_have_text("[¶13]")
    cited = page.locator("#rag-article .rag-cited")
    expect(cited).to_have_count(1)
    expect(cited).to_be_visible()
    expect(cited.locator(".rag-num")).to_have_text("¶13")
    expect(cited.locator("mark")).to_be_visible()

    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    assert not page.errors and not page.dialogs
    origin = seed_server.rstrip("/")
    outside = [url for url in page.requests if not url.startswith((origin, "data:", "blob:"))]
    assert outside == []  # offline: no fonts, analytics or CDNs


def test_example_abstention_and_follow_up(page: Any, seed_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(seed_server)
    expect(page.locator("#rag-examples")).not_to_contain_text("Who wrote this article?")
    ask(page, "Who wrote this article?")  # typed: no example leads to an abstention
    answers = page.locator("#rag-chat .rag-answer:not(.rag-pending)")
    expect(answers).to_have_count(1, timeout=60_000)
    abstained = answers.last.locator(".rag-abstained")
    expect(abstained).to_be_visible()
    expect(abstained).to_contain_text("No answer in the article")
    expect(abstained).to_contain_text("The article does not say.")
    expect(answers.last.locator(".rag-sources")).to_have_count(0)
    expect(page.locator("#rag-article .rag-cited")).to_have_count(0)

    expect(ask(page, "Who nominated Al Sudani?")).to_contain_text("[¶13]")
    follow_up = ask(page, "When did he take office?")
    expect(follow_up.locator(".rag-rewritten small")).to_have_text(
        "Understood as: When did Al Sudani take office?"
    )
    expect(follow_up.locator(".rag-rewritten small")).to_be_visible()
    expect(follow_up).to_contain_text("October 2022")
    expect(page.locator("#rag-article .rag-cited .rag-num")).to_have_text("¶13")


def test_markup_in_the_document_shows_as_text(page: Any, hostile_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(hostile_server)
    expect(page.locator("#rag-header")).to_contain_text(
        'Testville opens its new bridge <script>alert("headline")</script>'
    )
    article = page.locator("#rag-article")
    expect(article).to_contain_text("<img src=x onerror=alert(1)>")
    expect(article).to_contain_text("<script>alert(1)</script>")
    expect(article).to_contain_text('$$5$$ tolls and called the bridge *great* & "historic"')

    answer = ask(page, "What did the city website show on its front page?")
    expect(answer.locator(".rag-text")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(answer.locator(".rag-sources mark")).to_contain_text("<img src=x onerror=alert(1)>")
    answer = ask(page, "What did engineers find hidden in the bridge control software?")
    expect(answer.locator(".rag-sources mark")).to_contain_text("<script>alert(1)</script>")

    page.wait_for_timeout(500)  # give any injected handler a chance to fire
    for where in ("#rag-header", "#rag-chat", "#rag-article"):
        assert page.locator(f"{where} img, {where} script").count() == 0, where
    assert page.locator("#rag-article .katex").count() == 0
    assert page.dialogs == []
    assert page.errors == []


def test_a_document_added_through_the_upload_control_is_cited(
    page: Any, library_server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(library_server)
    library = page.locator("#rag-library")
    expect(library).to_contain_text("1 document")
    with page.expect_file_chooser() as chooser:
        page.locator("#rag-upload").click()
    chooser.value.set_files(str(PAGE))
    status = page.locator("#rag-library-status")
    expect(status).to_contain_text("Indexing news_page.html", timeout=60_000)  # as it goes
    expect(status).to_contain_text("Added", timeout=300_000)
    expect(status).to_contain_text("Harbour town votes to rebuild its sea wall")
    expect(library).to_contain_text("2 documents")
    expect(library).to_contain_text("news_page · 6 KB · 14 ¶")
    expect(page.locator("#rag-header")).to_contain_text("and 1 more article(s)")

    answer = ask(page, "How much will the scheme cost?")
    expect(answer.locator(".rag-text")).to_contain_text("£14 million")
    expect(answer.locator(".rag-text .rag-cite").first).to_have_text(
        re.compile(r"\[news_page ¶\d+\]")
    )
    expect(answer.locator(".rag-sources mark").first).to_contain_text("£14 million")
    expect(page.locator("#rag-article .rag-cited")).to_be_visible()
    page.screenshot(path=str(tmp_path / "library.png"), full_page=True)

    page.locator("#rag-remove-choice input").click()
    page.get_by_role("option", name=re.compile("Harbour town")).click()
    page.locator("#rag-remove").click()
    expect(status).to_contain_text("Removed news_page", timeout=300_000)
    expect(library).to_contain_text("1 document")
    expect(library).not_to_contain_text("Harbour town")
    assert not page.errors and not page.dialogs


MODEL = "qwen2.5-coder-0.5b"

ANSWER_TIMEOUT_MS = 600_000  # a busy 2-core machine; never a measure of speed


@pytest.fixture(scope="module")
def model_server(
    article_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`rag serve --model qwen2.5-coder-0.5b`, the real model, loaded once for this module."""
    require_model(MODEL)
    log_dir = tmp_path_factory.mktemp("serve-model")
    with serving(article_index_dir, log_dir, "--model", MODEL, "--threads", "1") as url:
        yield url


@pytest.fixture(scope="module")
def scripted_server(pipeline: Any) -> Iterator[str]:
    """The app in this process over the real index and citation check, a scripted model
    answering (tests/*/test_ui_server.py: ScriptedModel), so what the check removes is known."""
    from ui.app import build_app
    from ui.server import start

    app = build_app(with_scripted_model(pipeline))
    url = start(app, "127.0.0.1", free_port())
    try:
        yield url
    finally:
        app.close(verbose=False)


def expect_collapsed_removals(answer: Any) -> Any:
    """The removed sentences: collapsed under their summary, shown with reasons on a click."""
    from playwright.sync_api import expect

    details = answer.locator("details.rag-dropped")
    expect(details).to_have_count(1)
    summary = details.locator("summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_text(re.compile(r"\d+ sentences?\b.* removed"))
    items = details.locator("li.rag-dropped-item")
    expect(items.first).to_be_hidden()
    summary.click()
    expect(items.first).to_be_visible()
    expect(items.first.locator(".rag-dropped-reason")).to_be_visible()
    return items


def test_model_mode_streams_then_shows_the_checked_answer(page: Any, model_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(model_server)
    expect(page.locator("#rag-header .rag-mode")).to_have_text(f"mode: model {MODEL}")

    box = page.locator("#rag-question textarea")
    box.fill("who nominated Al Sudani?")
    box.press("Enter")
    # while the model writes, its draft is labelled as not yet checked
    expect(page.locator("#rag-chat .rag-pending .rag-status")).to_contain_text(
        f"{MODEL} is writing", timeout=60_000
    )
    answer = page.locator("#rag-chat .rag-answer:not(.rag-pending)")
    expect(answer).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#rag-chat .rag-pending")).to_have_count(0)  # replaced, not appended

    expect(answer.locator(".rag-text .rag-cite").first).to_have_text("[¶13]")
    expect(answer.locator(".rag-text")).to_contain_text("Co-ordination Framework")
    expect(answer.locator(".rag-sources .rag-cite").first).to_have_text("[¶13]")
    mark = answer.locator(".rag-sources mark").first
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("the nominee of the Iran-aligned Co-ordination Framework")
    expect(answer.locator(".rag-model")).to_contain_text(f"Written by {MODEL}")
    expect(answer.locator(".rag-notice")).to_have_count(0)  # not the article's own fallback
    if answer.locator("details.rag-dropped").count():
        expect_collapsed_removals(answer)
    expect(page.locator("#rag-article .rag-cited .rag-num").first).to_have_text("¶13")
    assert not page.errors and not page.dialogs


# Gradio's queue, run in this process here, uses pandas options that pandas 3 deprecates.
@pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_removed_sentences_are_listed_on_demand(page: Any, scripted_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(scripted_server)
    expect(page.locator("#rag-header .rag-mode")).to_have_text("mode: model scripted-model")
    answer = ask(page, "who nominated Al Sudani?")
    expect(answer.locator(".rag-text")).to_contain_text("Co-ordination Framework")
    expect(answer.locator(".rag-text")).not_to_contain_text("Hamas")
    expect(answer.locator(".rag-sources mark")).to_be_visible()
    summary = answer.locator("details.rag-dropped summary")
    expect(summary).to_have_text("1 sentence removed: not supported by the article")
    items = expect_collapsed_removals(answer)
    expect(items).to_have_count(1)
    expect(items.first.locator(".rag-dropped-text")).to_have_text(
        "Hamas nominated him <b>in 1990</b> [¶13]."
    )
    expect(items.first.locator(".rag-dropped-reason")).to_contain_text(
        "not supported by the article (closest ¶"
    )
    assert page.locator("#rag-chat b").count() == 0  # the model's markup is text
    summary.click()
    expect(items.first).to_be_hidden()  # and closes again
    assert not page.errors and not page.dialogs
