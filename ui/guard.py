"""The web server's guard (ASGI middleware): which requests reach the app, and the headers every
response carries.

- Unused Gradio routes (file serving, MCP, monitoring…) answer 404.
- Gradio's upload route takes a file of at most `upload_bytes` when the server adds documents
  (ui.library), and answers 403 otherwise.
- Other request bodies over MAX_BODY_BYTES answer 413, whether or not they announce their size.
- The Host header must name this machine's loopback (127.0.0.1, localhost, [::1]) unless the
  server was started with `rag serve --allow-remote`: a page on another site that rebinds its
  DNS name to 127.0.0.1 cannot reach the chat or its API (400).
- Every response carries a Content-Security-Policy (nothing loaded from elsewhere, no framing),
  X-Frame-Options, X-Content-Type-Options and Referrer-Policy.

Not here: what the app does with a request (ui.app) or how answers are escaped
(ui.render).
"""

from __future__ import annotations

from typing import Any

UPLOAD_PREFIX = "/gradio_api/upload"  # where Gradio takes files (ui.library's)
UPLOADS_OFF = b"adding documents is off on this server (rag serve --allow-uploads)"
# Routes Gradio mounts that this app never uses: the old upload route, serving files and
# proxying URLs, media streams, screen recordings, run history, monitoring, the "vibe" editor.
BLOCKED_PREFIXES = (
    "/gradio_api/file=",
    "/gradio_api/file/",
    "/gradio_api/proxy=",
    "/gradio_api/stream/",
    "/gradio_api/process_recording",
    "/gradio_api/run-history",
    "/gradio_api/runs",
    "/gradio_api/vibe",
    "/gradio_api/undo-vibe",
    "/gradio_api/dev/",
    "/gradio_api/mcp",
    "/monitoring",
    "/file=",
    "/upload",
    "/proxy=",
)
MAX_BODY_BYTES = 64 * 1024  # a question is at most a few KB of JSON
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Gradio's page needs its own inline scripts and styles; nothing comes from anywhere else.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def host_name(header: bytes) -> str:
    """The name in a Host header, without its port ("[::1]:7860" -> "::1")."""
    value = header.decode("latin-1").strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class BodyTooLarge(Exception):
    """Raised to the app when a request body grows past MAX_BODY_BYTES."""


class RouteGuard:
    """ASGI middleware: 404 for unused Gradio routes, 413 for oversized request bodies, 400 for
    a Host header outside `allowed_hosts` (None: any), security headers on every response; the
    upload route refused (403) unless `upload_bytes` says how large a file it takes.

    The body limit holds whether or not the request says its size: a Content-Length over the
    limit is refused at once, and the bytes actually received are counted too (a chunked body
    has no Content-Length), so reading past the limit answers 413 — or, if the app has already
    started its response, aborts the request."""

    def __init__(
        self,
        app: Any,
        allowed_hosts: frozenset[str] | None = LOOPBACK_HOSTS,
        upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        send = _with_security_headers(send)
        host = host_name(headers.get(b"host", b""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await _plain(send, 400, b"Host not allowed (rag serve --allow-remote)")
            return
        path = scope.get("path", "")
        if path.startswith(BLOCKED_PREFIXES):
            await _plain(send, 404, b"Not found")
            return
        limit = MAX_BODY_BYTES
        if path.startswith(UPLOAD_PREFIX):
            if self.upload_bytes is None:
                await _plain(send, 403, UPLOADS_OFF)
                return
            limit = self.upload_bytes + MAX_BODY_BYTES  # the file and its multipart wrapping
        length = headers.get(b"content-length", b"0")
        try:
            too_big = int(length) > limit
        except ValueError:
            too_big = True
        if too_big:
            await _plain(send, 413, b"Request too large")
            return

        received = 0
        started = refused = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, refused
            message: dict[str, Any] = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body") or b"")
                if received > limit:
                    if started:
                        raise BodyTooLarge  # too late for a 413: abort the request
                    if not refused:
                        refused = True
                        await _plain(send, 413, b"Request too large")
                    raise BodyTooLarge
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:  # the 413 is the response; whatever the app sends after it is dropped
                return
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:  # the 413 was not sent: the app's own error, or an abort
                raise


def _with_security_headers(send: Any) -> Any:
    async def sending(message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers") or []}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": [*(message.get("headers") or []), *extra]}
        await send(message)

    return sending


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
