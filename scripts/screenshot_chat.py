"""Screenshot the web chat answering questions, for the README (docs/chat.png).

Starts `rag serve` on a free port (or uses a running server given as URL), opens it in Debian's
headless chromium through Playwright, asks each question in turn, waits for each cited answer
and its highlighted source, opens any list of sentences the citation check removed, and saves a
screenshot:

    python scripts/screenshot_chat.py [--url URL] [--model NAME] [--question Q ...]
                                      [--out docs/chat.png]

With `--model` (e.g. qwen2.5-coder-0.5b, see `rag models`) the server answers in model mode;
the README's screenshot is taken that way. The server it starts uses RAG_INDEX_DIR /
--index-dir like any `rag` command, and `--threads` for llama.cpp (default 1: steadier on a busy
machine).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(extra: list[str], timeout: float = 180) -> Iterator[str]:
    """Run `rag serve` on a free port; yield its URL once it prints one."""
    rag = Path(sys.executable).with_name("rag")
    command = [str(rag), "serve", "--port", str(free_port()), *extra]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"http://\S+", line)
            if found:
                yield found.group().rstrip("/") + "/"
                break
            if time.monotonic() > deadline:
                break
        else:
            raise SystemExit(f"rag serve exited ({process.wait()}) without printing a URL")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def screenshot(
    url: str,
    questions: list[str],
    out: Path,
    width: int = 1280,
    height: int = 900,
    timeout_ms: int = 600_000,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height}, device_scale_factor=1
            )
            page.goto(url)
            box = page.locator("#rag-question textarea")
            answers = page.locator("#rag-chat .rag-answer:not(.rag-pending)")
            for number, question in enumerate(questions, 1):
                box.fill(question)
                box.press("Enter")
                expect(answers).to_have_count(number, timeout=timeout_ms)
            answer = answers.last
            if answer.locator(".rag-abstained").count() == 0:
                expect(answer.locator(".rag-sources mark").first).to_be_visible()
                expect(page.locator("#rag-article .rag-cited").first).to_be_visible()
            for summary in page.locator("#rag-chat details.rag-dropped summary").all():
                summary.click()  # show what the citation check removed, and why
            page.wait_for_timeout(300)
            page.locator("#rag-chat .rag-answer").last.scroll_into_view_if_needed()
            page.wait_for_timeout(600)  # let the chat finish scrolling
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running `rag serve` (default: start one)")
    parser.add_argument(
        "--question",
        action="append",
        dest="questions",
        help="a question to ask (repeat to ask several in one conversation; "
        "default: who nominated Al Sudani?)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "chat.png")
    parser.add_argument("--index-dir", help="index folder for the server it starts")
    parser.add_argument("--model", help="serve in model mode with this model (`rag models`)")
    parser.add_argument("--threads", default="1", help="llama.cpp threads in model mode")
    args = parser.parse_args()
    questions = args.questions or ["who nominated Al Sudani?"]
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 1
    if args.url:
        screenshot(args.url, questions, args.out)
    else:
        extra = ["--index-dir", args.index_dir] if args.index_dir else []
        if args.model:
            extra += ["--model", args.model, "--threads", args.threads]
        with serve(extra) as url:
            screenshot(url, questions, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
