"""Serving the web chat: `start(app, host, port, …)` launches the Gradio app built by ui.app
with the settings of `rag serve`: no share link, MCP, monitoring or run history, system fonts,
the route guard (ui.guard) in front, and files taken only up to the library's limit.

Not here: the page and its handlers (ui.app, ui.library), the command line (ui.cli).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ui.guard import LOOPBACK_HOSTS, RouteGuard
from ui.sessions import MAX_SESSIONS


def theme() -> Any:
    """The default theme with system fonts: nothing is fetched from font CDNs (offline)."""
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def start(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    allow_remote: bool = False,
    upload_mb: int | None = None,
) -> str:
    """Start serving the app on host:port in the background (no share link, MCP, monitoring
    or run history) and return its local URL; `app.block_thread()` then serves until Ctrl-C,
    `app.close()` stops it. Requests naming a Host other than this machine's loopback names
    are refused unless `allow_remote`; files are uploaded only with `upload_mb`, the library's
    limit (ui.guard). Gradio's own limit is a little above it, so that a file just over it
    reaches rag.index.library and is refused with its message."""
    from starlette.middleware import Middleware

    allowed_hosts = None if allow_remote else LOOPBACK_HOSTS
    upload_bytes = None if upload_mb is None else (upload_mb + 1) * 2**20
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        quiet=True,
        show_error=False,
        footer_links=["api"],
        run_history=False,
        mcp_server=False,
        enable_monitoring=False,
        pwa=False,
        ssr_mode=False,
        strict_cors=True,
        max_file_size=upload_bytes or 1,
        state_session_capacity=MAX_SESSIONS,  # Gradio's record of each session, bounded too
        allowed_paths=[],
        prevent_thread_lock=True,
        app_kwargs={
            "middleware": [
                Middleware(RouteGuard, allowed_hosts=allowed_hosts, upload_bytes=upload_bytes)
            ]
        },
        theme=theme(),
        css=(Path(__file__).parent / "style.css").read_text(encoding="utf-8"),
    )
    return f"http://{_url_host(host)}:{app.server_port}/"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
