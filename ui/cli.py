"""`rag serve`: the web chat, plugged into `rag` through the `rag.commands` entry point.

Kept import-light: `rag --help` loads this module, so gradio and the pipeline are imported only
when the command runs. Prints the URL (and a warning when listening beyond loopback); quiet
otherwise. Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag import Asker, Library

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def register(commands: Any, answering: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    p = commands.add_parser(
        "serve",
        help="serve the web chat (Gradio) on http://127.0.0.1:7860",
        description=(
            "Serve a web chat about the article, with cited sources, a library of documents "
            "to add to and remove from, and an API (api_names 'ask', 'add_document', "
            "'documents', 'remove_document') for gradio_client."
        ),
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=(
            "address to listen on (default 127.0.0.1; anything else exposes the "
            "chat to your network)"
        ),
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 7860)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="required to listen beyond loopback; then any Host header is accepted",
    )
    p.add_argument(
        "--allow-uploads",
        action="store_true",
        help="let the chat add documents (files and links) beyond loopback too; on loopback "
        "it always may",
    )
    p.add_argument(
        "--allow-private-urls",
        action="store_true",
        default=None,
        help="let a link added in the chat lead to a loopback or private address "
        "(RAG_ALLOW_PRIVATE_URLS)",
    )
    answering(p, False)  # the answering options, without --json
    p.set_defaults(handler=cmd_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.errors import InputError, RagError

    if not 1 <= args.port <= 65535:
        raise InputError(f"--port must be between 1 and 65535, not {args.port}")
    if not args.host:
        raise InputError("--host is empty")
    if not is_loopback(args.host) and not args.allow_remote:
        raise InputError(
            f"--host {args.host} would expose the chat to your network, with no login; "
            "add --allow-remote if that is what you want"
        )
    if importlib.util.find_spec("gradio") is None:
        raise RagError("the web chat needs gradio, which is not installed: pip install 'rag[web]'")
    _check_free(args.host, args.port)  # before the slow part

    from rag import Library, LivePipeline, Pipeline
    from rag.cli import progress, settings_from

    settings = settings_from(args)
    with LivePipeline(Pipeline.open(settings, progress=progress), progress=progress) as live:
        uploads = is_loopback(args.host) or getattr(args, "allow_uploads", False)
        _serve(live, args, Library(settings) if uploads else None)
    return 0


def _serve(pipeline: Asker, args: argparse.Namespace, library: Library | None) -> None:
    """Serve the chat over `pipeline` until Ctrl-C or SIGTERM; documents are added and removed
    through `library` (None: they cannot be)."""
    from ui.app import build_app
    from ui.server import start

    app = build_app(pipeline, library=library)
    if not is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: anyone who can reach this machine on port "
            f"{args.port} can use the chat (there is no login)",
            file=sys.stderr,
            flush=True,
        )
    try:
        upload_mb = None if library is None else library.settings.max_upload_mb
        url = start(app, args.host, args.port, allow_remote=args.allow_remote, upload_mb=upload_mb)
    except OSError:
        raise _unavailable(args.host, args.port) from None
    from ui.render import mode_text

    mode = mode_text(pipeline.model_name)
    print(f"Serving the chat on {url}  (mode: {mode}; Ctrl-C to stop)", flush=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on `kill` too
    try:
        _serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.close(verbose=False)


def _unavailable(host: str, port: int) -> Exception:
    from rag.errors import InputError

    return InputError(
        f"cannot listen on {host}:{port} (in use, or not an address of this "
        "machine); choose another with --port/--host"
    )


def _check_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(infos[0][4])
    except OSError:
        raise _unavailable(host, port) from None


def _serve_forever() -> None:
    while True:
        time.sleep(1)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
