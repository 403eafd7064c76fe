"""`rag serve` in a subprocess, used through gradio_client: answers, citations, follow-ups,

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.results import Answer
from rag.streaming import AnswerStream

from ..fakes import (
    RAG,
    ROOT,
    StreamingPipeline,
    rag_env,
    require_model,
    serving,
    status,
    with_scripted_model,
)

NOMINATED = "who nominated Al Sudani?"


@pytest.fixture(scope="module")
def server(article_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(article_index_dir, tmp_path_factory.mktemp("serve")) as url:
        yield url


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def last_reply(result) -> str:
    messages = result[0]
    content = messages[-1]["content"]
    return (
        "".join(part.get("text", "") for part in content)
        if isinstance(content, list)
        else str(content)
    )


@pytest.mark.slow
def test_prints_a_loopback_url_and_listens_only_there(server: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", server)
    port = int(server.rstrip("/").rsplit(":", 1)[1])
    listening = [  # sockets in LISTEN state (0A) on the port, IPv4 and IPv6
        line.split()[1]
        for table in ("/proc/net/tcp", "/proc/net/tcp6")
        if Path(table).exists()
        for line in Path(table).read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port
    ]
    assert listening == [f"0100007F:{port:04X}"]


@pytest.mark.slow
def test_ask_api_returns_the_rag_ask_json_object(server: str, article_index_dir: Path) -> None:
    result = client(server).predict(NOMINATED, api_name="/ask")
    assert isinstance(result, dict)
    assert "Co-ordination Framework" in result["answer"]
    assert result["abstained"] is False
    assert result["citations"][0]["paragraph"] == 13
    quote = result["citations"][0]
    assert quote["text"][quote["start"] : quote["end"]] == quote["quote"]
    cli = subprocess.run(
        [*RAG, "ask", NOMINATED, "--json"],
        cwd=ROOT,
        env=rag_env(article_index_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(cli.stdout)
    for answer in (result, expected):
        answer.pop("timings_ms")
    assert result == expected


@pytest.mark.slow
def test_unanswerable_question_abstains(server: str) -> None:
    result = client(server).predict("Who wrote this article?", api_name="/ask")
    assert result["abstained"] is True
    assert result["citations"] == []
    assert result["answer"] == "The article does not say."


@pytest.mark.slow
def test_bad_questions_are_refused_with_a_message(server: str) -> None:
    from gradio_client.exceptions import AppError

    c = client(server)
    with pytest.raises(AppError, match="limit is 500"):
        c.predict("why " * 200, api_name="/ask")
    with pytest.raises(AppError, match="empty"):
        c.predict("   ", api_name="/ask")
    reply = last_reply(c.predict("x" * 600, api_name="/chat"))
    assert "Cannot answer" in reply and "limit is 500" in reply


@pytest.mark.slow
def test_chat_follow_up_is_rewritten_per_session(server: str) -> None:
    first = client(server)
    reply = last_reply(first.predict("Who nominated Al Sudani?", api_name="/chat"))
    assert "Co-ordination Framework" in reply and "[¶13]" in reply
    assert "Understood as" not in reply
    result = first.predict("When did he take office?", api_name="/chat")
    reply = last_reply(result)
    rewritten = re.search(r"<small>Understood as: (.*?)</small>", reply)
    assert rewritten and "Al Sudani" in rewritten.group(1)
    assert "October 2022" in reply
    assert re.search(r"<mark>[^<]*took office in October 2022", reply)
    assert len(result[0]) == 4  # two questions, two answers
    article = result[1]
    assert re.search(r'class="[^"]*rag-cited[^"]*"><span class="rag-num">¶13<', article)
    # another browser session has its own conversation: nothing to follow up on
    other = last_reply(client(server).predict("When did he take office?", api_name="/chat"))
    assert "Understood as" not in other


@pytest.mark.slow
def test_chat_shows_abstention_as_such(server: str) -> None:
    reply = last_reply(client(server).predict("Who wrote this article?", api_name="/chat"))
    assert "No answer in the article" in reply and "The article does not say." in reply
    assert "rag-sources" not in reply


@pytest.mark.slow
def test_twenty_concurrent_questions_all_answered_correctly(server: str) -> None:
    expected = {
        "Who nominated Al Sudani?": ("Co-ordination Framework", 13),
        "How many US troops are in Iraq?": ("2,500", 22),
        "Which bases were attacked?": ("Ain Al Asad", 8),
        "Who wrote this article?": (None, None),
    }
    questions = [list(expected)[i % len(expected)] for i in range(20)]

    def ask(question: str) -> tuple[str, dict]:
        return question, client(server).predict(question, api_name="/ask")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(ask, questions))
    elapsed = time.perf_counter() - started
    assert len(results) == 20
    for question, result in results:
        assert result["question"] == question
        phrase, paragraph = expected[question]
        if phrase is None:
            assert result["abstained"] is True
        else:
            assert phrase in result["answer"] and result["citations"][0]["paragraph"] == paragraph
    assert elapsed < 60


SMALL_MODEL = "smollm2-135m"  # the smallest real instruct model `rag models` knows


@pytest.fixture(scope="module")
def model_server(
    article_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`rag serve --model smollm2-135m`, loaded once for this module. One llama.cpp thread: on
    a busy machine more threads spin and wait (docs/benchmarks.md)."""
    require_model(SMALL_MODEL)
    log_dir = tmp_path_factory.mktemp("serve-model")
    with serving(article_index_dir, log_dir, "--model", SMALL_MODEL, "--threads", "1") as url:
        yield url


def checked_citations(result: dict) -> list[int]:
    """The citations' paragraphs, after checking each quote is where it says it is."""
    for cited in result["citations"]:
        assert cited["text"][cited["start"] : cited["end"]] == cited["quote"]
    return [cited["paragraph"] for cited in result["citations"]]


@pytest.mark.slow
def test_model_mode_ask_api_returns_the_checked_llm_answer(model_server: str) -> None:
    result = client(model_server).predict(NOMINATED, api_name="/ask")
    assert result["mode"] == "llm" and result["model"] == SMALL_MODEL
    assert result["abstained"] is False
    assert "Co-ordination Framework" in result["answer"]
    assert 13 in checked_citations(result)
    assert "[¶13]" in result["answer"]
    assert isinstance(result["dropped"], list)
    for removed in result["dropped"]:
        assert removed["sentence"] and removed["reason"]
    assert result["fallback"] is None, result  # the model's answer, not the article's own
    assert {"first_token", "generate"} <= set(result["timings_ms"])


@pytest.mark.slow
def test_model_mode_chat_streams_then_shows_the_checked_answer(model_server: str) -> None:
    with urllib.request.urlopen(model_server + "config", timeout=10) as response:
        config = json.load(response)
    header = next(
        c for c in config["components"] if c.get("props", {}).get("elem_id") == "rag-header"
    )
    assert f"mode: model {SMALL_MODEL}" in header["props"]["value"]

    job = client(model_server).submit(NOMINATED, api_name="/chat")
    result = job.result(timeout=600)
    shown = [last_reply(output) for output in job.outputs()]
    drafts = [reply for reply in shown if "rag-pending" in reply]
    assert drafts and all(f"{SMALL_MODEL} is writing" in draft for draft in drafts)
    assert len(drafts) >= 2  # the empty bubble, then the model's text as it comes
    reply = last_reply(result)
    assert reply == shown[-1] and "rag-pending" not in reply and "is writing" not in reply
    assert "[¶13]" in reply and re.search(r"<mark>[^<]*Co-ordination Framework", reply)
    assert f"Written by {SMALL_MODEL}" in reply and "Answered from the article" not in reply
    if "rag-dropped" in reply:
        assert re.search(r"<summary>\d+ sentences? ", reply)


def chunked_post(url: str, chunks: list[bytes]) -> int:
    """POST a JSON body with Transfer-Encoding: chunked (no Content-Length); the status."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            parts.path,
            body=iter(chunks),
            encode_chunked=True,
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        return int(response.status)
    finally:
        connection.close()


def headers_of(url: str, host: str | None = None) -> tuple[int, dict[str, str]]:
    """Status and headers of a GET of `url`, with a Host header of its own when given."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("GET", parts.path or "/", headers={"Host": host} if host else {})
        response = connection.getresponse()
        response.read()
        return int(response.status), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.mark.slow
def test_security_headers_and_only_loopback_host_names(server: str) -> None:
    code, headers = headers_of(server)
    assert code == 200
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    port = urllib.parse.urlsplit(server).port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert headers_of(server, host)[0] == 200, host
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1
    code, headers = headers_of(server + "config", f"evil.example:{port}")
    assert code == 400 and headers["x-frame-options"] == "DENY"
    assert headers_of(server + "gradio_api/info", "evil.example")[0] == 400


@pytest.mark.slow
def test_no_file_serving_large_uploads_or_analytics(server: str) -> None:
    for path in (
        "gradio_api/file=/etc/passwd",
        f"gradio_api/file={ROOT / 'pyproject.toml'}",
        "gradio_api/proxy=http://example.com/",
        "monitoring",
        "gradio_api/runs",
    ):
        assert status(server + path) == 404, path
    too_big = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "12000000"}
    for path, code in (("upload", 404), ("gradio_api/upload", 413)):  # the library's limit
        assert status(server + path, b"--x--\r\n", too_big) == code, path
    big = status(
        server + "gradio_api/queue/join",
        b"{" + b" " * 100_000 + b"}",
        {"Content-Type": "application/json"},
    )
    assert big == 413
    with urllib.request.urlopen(server + "config", timeout=10) as response:
        config = json.load(response)
    assert config["analytics_enabled"] is False
    named = client(server).view_api(print_info=False, return_format="dict")["named_endpoints"]
    library = {"/add_document", "/add_url", "/documents", "/remove_document"}
    assert set(named) == {"/ask", "/chat", *library}


@pytest.mark.slow
def test_chunked_body_over_the_limit_is_refused(server: str) -> None:
    """No Content-Length to check: the bytes received are counted."""
    url = server + "gradio_api/call/ask"
    big = [b'{"data": ["'] + [b"x" * 1024] * 200 + [b'"]}']  # 200 KB
    assert chunked_post(url, big) == 413
    assert chunked_post(url, [b'{"data": ', b'["Who nominated Al Sudani?"]}']) == 200


@pytest.mark.slow
def test_port_in_use_is_a_one_line_error(server: str, article_index_dir: Path) -> None:
    port = server.rstrip("/").rsplit(":", 1)[1]
    done = subprocess.run(
        [*RAG, "serve", "--port", port],
        cwd=ROOT,
        env=rag_env(article_index_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: cannot listen on 127.0.0.1:")


def test_serve_is_registered_and_light() -> None:
    done = subprocess.run(
        [*RAG, "serve", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "--host" in done.stdout and "--port" in done.stdout and "7860" in done.stdout
    assert "--json" not in done.stdout
    probe = "import sys, ui.cli; print('gradio' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "False"


def test_non_loopback_host_warns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The handler, with the pipeline and the server stubbed out."""
    import rag.cli
    import rag.pipeline
    import ui.cli
    from rag.config import Settings

    calls = []
    settings = Settings.load({}, env={})
    pipeline = SimpleNamespace(
        model_name=None,
        settings=settings,
        index=SimpleNamespace(root=None),  # no build in the index folder: nothing to reopen
        close=lambda: calls.append("pipeline closed"),
    )
    app = SimpleNamespace(close=lambda verbose=True: calls.append("closed"))
    served: list[tuple] = []

    def start(a, host, port, allow_remote, upload_mb):
        served.append((host, upload_mb))
        return f"http://127.0.0.1:{port}/"

    def build_app(p, library):
        served.append(("library", library is not None))
        return app

    monkeypatch.setitem(sys.modules, "ui.app", SimpleNamespace(build_app=build_app))
    monkeypatch.setitem(sys.modules, "ui.server", SimpleNamespace(start=start))  # no gradio
    monkeypatch.setattr(rag.cli, "settings_from", lambda args: settings)
    monkeypatch.setattr(
        rag.pipeline.Pipeline, "open", staticmethod(lambda settings, progress=None: pipeline)
    )
    monkeypatch.setattr(ui.cli, "_check_free", lambda host, port: None)

    def interrupt() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ui.cli, "_serve_forever", interrupt)
    for host, warned in (("0.0.0.0", True), ("127.0.0.1", False)):
        args = SimpleNamespace(host=host, port=7999, allow_remote=True)
        assert ui.cli.cmd_serve(args) == 0  # type: ignore[arg-type]
        out, err = capsys.readouterr()
        assert out.startswith("Serving the chat on http://127.0.0.1:7999/")
        assert ("warning: listening on 0.0.0.0" in err) is warned
    assert calls == ["closed", "pipeline closed"] * 2
    # Documents are added on loopback; beyond it, only with --allow-uploads.
    assert served == [
        ("library", False),
        ("0.0.0.0", None),
        ("library", True),
        ("127.0.0.1", 10),
    ]
    served.clear()
    args = SimpleNamespace(host="0.0.0.0", port=7999, allow_remote=True, allow_uploads=True)
    assert ui.cli.cmd_serve(args) == 0  # type: ignore[arg-type]
    assert served == [("library", True), ("0.0.0.0", 10)]
    calls.clear()
    # Beyond loopback only when asked for explicitly, refused before anything loads.
    from rag.errors import InputError

    with pytest.raises(InputError, match="add --allow-remote"):
        ui.cli.cmd_serve(SimpleNamespace(host="0.0.0.0", port=7999, allow_remote=False))  # type: ignore[arg-type]
    assert calls == []


def test_streamed_pieces_are_escaped_and_the_turn_recorded() -> None:
    from ui.app import Chat, concurrency_limit

    pipeline = StreamingPipeline()
    assert concurrency_limit(pipeline) == 1  # one model call at a time
    chat = Chat(pipeline)
    steps = list(chat.respond("  What did   the site show? ", None))
    assert len(steps) == 1 + 2 + 1  # question shown, two pieces, final answer
    messages, key, article, textbox = steps[-1]
    assert textbox == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "What did the site show?" in messages[0]["content"]
    partial = steps[1][0][-1]["content"]
    assert "rag-pending" in partial and "&lt;img src=x onerror=alert(1)&gt;" in partial
    final = messages[-1]["content"]
    assert "rag-pending" not in final and "<img" not in final
    assert '<span class="rag-cite">[¶3]</span>' in final and "<mark>" in final
    assert chat.sessions.get(key).turns == [
        ("What did the site show?", "It showed <img src=x onerror=alert(1)>. [¶3]")
    ]
    assert "rag-cited" in article and "<img" not in article
    assert pipeline.closed


class RewritingPipeline(StreamingPipeline):
    """Answers with a rewritten (standalone) question and records the history it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.histories: list[list] = []

    def stream(self, question: str, history: Sequence[tuple[str, str]] = ()) -> AnswerStream:
        self.histories.append(list(history))
        context = f" ({history[-1][0]})" if history else ""
        answer = Answer(question, question + context, f"Answer to {question}", [], False, "llm")
        return AnswerStream(iter([answer]))


def test_history_holds_the_questions_as_asked_not_the_rewritten_ones() -> None:
    """The rewriter resolves earlier turns itself: feeding it rewritten questions would nest
    their context ("(… (…))")."""
    from ui.app import Chat

    pipeline = RewritingPipeline()
    chat = Chat(pipeline)
    key = None
    for question in ("Who opened the bridge?", "When?", "Why?"):
        key = list(chat.respond(question, key))[-1][1]
    conversation = chat.sessions.get(key)
    assert pipeline.histories == [
        [],
        [("Who opened the bridge?", "Answer to Who opened the bridge?")],
        [
            ("Who opened the bridge?", "Answer to Who opened the bridge?"),
            ("When?", "Answer to When?"),
        ],
    ]
    assert [q for q, _ in conversation.turns] == [
        "Who opened the bridge?",
        "When?",
        "Why?",
    ]
    assert "Understood as: Why? (When?)" in conversation.messages[-1]["content"]


def test_model_failure_mid_stream_is_a_message_not_a_crash() -> None:
    from ui.app import Chat

    pipeline = StreamingPipeline(fail=True)
    chat = Chat(pipeline)
    messages, key, _, _ = list(chat.respond("What did it show?", None))[-1]
    assert "Cannot answer" in messages[-1]["content"]
    assert "the model stopped" in messages[-1]["content"]
    assert chat.sessions.get(key).turns == []  # a failed turn is not history


def test_leaving_mid_stream_closes_the_model_stream() -> None:
    from ui.app import Chat

    pipeline = StreamingPipeline()
    steps = Chat(pipeline).respond("What did it show?", None)
    next(steps), next(steps)  # question shown, first piece streamed
    steps.close()  # type: ignore[attr-defined]  # the browser went away: a generator
    assert pipeline.closed


@pytest.fixture(scope="module")
def scripted_pipeline(pipeline):
    return with_scripted_model(pipeline)


@pytest.mark.slow
def test_model_answer_in_the_chat_lists_what_the_check_removed(scripted_pipeline) -> None:
    from ui.app import Chat

    steps = list(Chat(scripted_pipeline).respond(NOMINATED, None))
    drafts = [step[0][-1]["content"] for step in steps[:-1]]
    assert all("rag-pending" in d and "scripted-model is writing" in d for d in drafts)
    assert "Hamas nominated him &lt;b&gt;in 1990&lt;/b&gt;" in drafts[-1]  # the raw draft
    final = steps[-1][0][-1]["content"]
    assert "rag-pending" not in final and "<b>" not in final
    text = re.search(r'<div class="rag-text">(.*?)</div>', final)
    assert text and "Co-ordination Framework" in text.group(1) and "Hamas" not in text.group(1)
    assert '<span class="rag-cite">[¶13]</span>' in text.group(1)
    assert "Written by scripted-model" in final
    details = re.search(
        r'<details class="rag-dropped"><summary>(.*?)</summary>(.*?)</details>', final
    )
    assert details and details.group(1) == "1 sentence removed: not supported by the article"
    assert "Hamas nominated him &lt;b&gt;in 1990&lt;/b&gt;" in details.group(2)
    assert "not supported by the article (closest ¶" in details.group(2)
    assert re.search(r"<mark>[^<]*the nominee of the Iran-aligned Co-ordination Framework", final)
    assert "\n" not in final
