"""`rag serve` in a subprocess, used through gradio_client: answers, citations, follow-ups,
abstention, limits, 20 concurrent questions, and what the server does not expose.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ..fakes import (
    StreamingPipeline,
)


def test_loopback_detection() -> None:
    from ui.cli import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "example.com"]))


def test_bad_port_is_refused_before_loading() -> None:
    from rag.errors import InputError
    from ui.cli import cmd_serve

    with pytest.raises(InputError, match="--port"):
        cmd_serve(SimpleNamespace(host="127.0.0.1", port=70000, allow_remote=False))  # type: ignore[arg-type]


def test_too_long_or_empty_questions_in_the_chat() -> None:
    from ui.app import Chat

    chat = Chat(StreamingPipeline())
    messages, key, _, textbox = list(chat.respond("why " * 30, None))[-1]
    assert "limit is 80" in messages[-1]["content"] and textbox == "why " * 30
    assert len(messages[0]["content"]) < 200  # the question is shown cut
    messages, _, _, _ = list(chat.respond("   ", key))[-1]
    assert len(messages) == 2  # nothing added
    # Not valid UTF-8 (a lone surrogate): one message, the session goes on (was HTTP 500)
    messages, key, _, _ = list(chat.respond("who\udcff?", key))[-1]
    assert "not valid UTF-8" in messages[-1]["content"]
    messages, _, _, _ = list(chat.respond("When did the bridge open?", key))[-1]
    assert "rag-answer" in messages[-1]["content"]  # answered: the chat went on


def test_route_guard_counts_received_bytes() -> None:
    """In-process: a body without Content-Length is cut off at the limit — a 413 (whatever the
    app sends afterwards is dropped), or an abort once the app's response has started."""
    import asyncio

    from ui.guard import MAX_BODY_BYTES, BodyTooLarge, RouteGuard

    async def run(respond_first: bool) -> list[dict]:
        chunks = [b"x" * 1024] * (MAX_BODY_BYTES // 1024 + 2)
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

        async def send(message: dict) -> None:
            sent.append(message)

        async def app(scope: dict, receive, send) -> None:
            if respond_first:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            try:
                while (await receive()).get("more_body"):
                    pass
            except BodyTooLarge:
                if respond_first:
                    raise
                await send({"type": "http.response.start", "status": 400, "headers": []})
                await send({"type": "http.response.body", "body": b"bad body"})

        headers = [(b"host", b"127.0.0.1:7860")]
        scope = {"type": "http", "path": "/gradio_api/call/ask", "headers": headers}
        await RouteGuard(app)(scope, receive, send)
        return sent

    sent = asyncio.run(run(respond_first=False))
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert sent[-1]["body"] == b"Request too large"
    with pytest.raises(BodyTooLarge):
        asyncio.run(run(respond_first=True))


def test_route_guard_takes_uploads_only_up_to_the_library_limit() -> None:
    """The upload route: 403 when the server adds no documents; with `upload_bytes`, a body
    of the file and its multipart wrapping passes and a larger one is refused (413)."""
    import asyncio

    from ui.guard import MAX_BODY_BYTES, RouteGuard

    def run(upload_bytes: int | None, length: int) -> tuple[int, bytes]:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        async def app(scope: dict, receive, send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"uploaded"})

        headers = [(b"host", b"127.0.0.1:7860"), (b"content-length", str(length).encode())]
        scope = {"type": "http", "path": "/gradio_api/upload", "headers": headers}
        asyncio.run(RouteGuard(app, upload_bytes=upload_bytes)(scope, receive, send))
        return sent[0]["status"], sent[1]["body"]

    assert run(None, 10) == (
        403,
        b"adding documents is off on this server (rag serve --allow-uploads)",
    )
    assert run(2**20, 2**20 + 1000) == (200, b"uploaded")
    assert run(2**20, 2**20 + MAX_BODY_BYTES + 1)[0] == 413
