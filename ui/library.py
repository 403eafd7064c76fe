"""The library panel of the web chat: the indexed documents, and adding and removing them.

`LibraryPanel` lists the documents of the index folder (title, name, size, paragraphs) and,
when the server allows it, takes a file (an upload button: txt, md, html, pdf) or a link, shows
the indexing as it goes, and removes a document chosen from a list. The work is
rag.index.library's, run in one worker thread at a time: questions asked meanwhile are answered
from the library as it was (the chat's pipeline is a rag.live.LivePipeline, which opens the new
build once it is swapped in). The same as API endpoints for gradio_client: `add_document` (a
file), `add_url`, `documents` and `remove_document` (an id). Where adding is off (a server
beyond loopback without --allow-uploads) the controls are hidden and the endpoints refuse.

Not here: the chat (ui.app), the rules for a document (rag.index.library).
"""

from __future__ import annotations

import queue
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Library, LivePipeline, RagError
from rag.index.library import LibraryDocument, documents_of
from ui import render

Progress = Callable[[str], None]
FILE_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]
UPLOADS_OFF = (
    "adding and removing documents is off on this server, which listens beyond loopback; "
    "start it with rag serve --allow-uploads to allow it"
)


class LibraryPanel:
    """The handlers of the library panel, over the chat's live pipeline. `library` is None
    when adding and removing documents is off."""

    def __init__(self, pipeline: LivePipeline, library: Library | None) -> None:
        self.pipeline = pipeline
        self.library = library
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-library")

    def documents(self) -> list[LibraryDocument]:
        return documents_of(self.pipeline.current().index)

    # -- API endpoints

    def api_documents(self) -> list[dict]:
        return [d.to_dict() for d in self.documents()]

    def api_add_file(self, path: str | None) -> dict:
        """A file uploaded through Gradio (in its upload folder: Gradio checks that)."""
        return self._api_add(lambda: path, "no file given")

    def api_add_link(self, url: str | None) -> dict:
        return self._api_add(lambda: _link(url), "no link given")

    def _api_add(self, source: Callable[[], str | None], missing: str) -> dict:
        try:
            given = source()
            if not given:
                raise RagError(missing)
            return self._worker.submit(self._add, given, _quiet).result().to_dict()
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def api_remove(self, doc_id: str) -> list[dict]:
        try:
            self._worker.submit(self._remove, doc_id, _quiet).result()
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return self.api_documents()

    # -- the page

    def shown(self) -> tuple:
        """(document list, removal choices, header, article) of the library as it is now."""
        live = self.pipeline.current()
        documents = self.documents()
        return (
            documents_html(documents),
            gr.update(choices=_choices(documents), value=None),
            render.header_html(live.documents, live.model_name),
            render.article_html(live.documents, (), live.multi_doc),
        )

    def add_file(self, path: str | None) -> Iterator[tuple]:
        """Add an uploaded file: yields (status, list, choices, header, article, link box)."""
        yield from self._add_shown(path, _name(path or ""))

    def add_link(self, url: str | None) -> Iterator[tuple]:
        """Add the page a link leads to; yields as `add_file` does."""
        try:
            source = _link(url)
        except RagError as exc:
            yield (_status(render.text(str(exc)), "rag-lib-error"),) + (gr.skip(),) * 5
            return
        yield from self._add_shown(source, source or "")

    def _add_shown(self, source: str | None, name: str) -> Iterator[tuple]:
        if not source:
            yield (gr.skip(),) * 6
            return
        shown = render.text(name)
        for status in self._run(self._add, source):
            if isinstance(status, LibraryDocument):
                done = (
                    f"Added <b>{render.text(status.title)}</b> as {render.text(status.id)} "
                    f"({status.paragraphs} paragraphs); questions now go to the whole library."
                )
                yield (_status(done, "rag-lib-done"), *self.shown(), "")
            elif isinstance(status, RagError):
                yield (_status(f"Not added: {render.text(str(status))}", "rag-lib-error"),) + (
                    gr.skip(),
                ) * 5
            else:
                note = f"Indexing {shown}: {render.text(status)}"
                yield (_status(note, "rag-lib-busy"),) + (gr.skip(),) * 5

    def remove(self, doc_id: str | None) -> Iterator[tuple]:
        """Remove the chosen document: yields (status, list, choices, header, article)."""
        if not doc_id:
            yield (gr.skip(),) * 5
            return
        for status in self._run(self._remove, doc_id):
            if isinstance(status, RagError):
                yield (_status(render.text(str(status)), "rag-lib-error"),) + (gr.skip(),) * 4
            elif isinstance(status, str):
                note = f"Removing {render.text(doc_id)}: {render.text(status)}"
                yield (_status(note, "rag-lib-busy"),) + (gr.skip(),) * 4
            else:
                yield (_status(f"Removed {render.text(doc_id)}.", "rag-lib-done"), *self.shown())

    # -- the work, in the worker thread

    def _add(self, source: str, progress: Progress) -> LibraryDocument:
        if self.library is None:
            raise RagError(UPLOADS_OFF)
        added = self.library.add(source, progress)
        self.pipeline.current(wait=True)  # open the new build before saying it is done
        return added

    def _remove(self, doc_id: str, progress: Progress) -> bool:
        if self.library is None:
            raise RagError(UPLOADS_OFF)
        self.library.remove(doc_id, progress)
        self.pipeline.current(wait=True)
        return True

    def _run(self, work: Callable[[str, Progress], Any], argument: str) -> Iterator[Any]:
        """Run `work` in the worker thread; yield its progress lines, then its result or the
        RagError it raised (a bug: its traceback logged, the page told in one line)."""
        lines: queue.Queue[str] = queue.Queue()
        future = self._worker.submit(work, argument, lines.put)
        yield "waiting for the index…"
        while not future.done():
            try:
                yield lines.get(timeout=0.25)
            except queue.Empty:
                continue
        try:
            result = future.result()
        except RagError as exc:
            result = exc
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            result = RagError(f"internal error ({type(exc).__name__})")
        yield result


def library_layout(panel: LibraryPanel) -> dict[str, Any]:
    """The panel's components, made inside the app's gr.Blocks."""
    parts: dict[str, Any] = {}
    on = panel.library is not None
    with gr.Accordion("Library", open=True, elem_id="rag-library-panel"):
        parts["list"] = gr.HTML(documents_html(panel.documents()), elem_id="rag-library")
        with gr.Row(visible=on):
            parts["upload"] = gr.UploadButton(
                "Add a document (txt, md, html, pdf)",
                file_types=FILE_TYPES,
                file_count="single",
                type="filepath",
                size="sm",
                elem_id="rag-upload",
            )
            parts["url"] = gr.Textbox(
                show_label=False,
                placeholder="…or paste a link (https://…) and press Enter",
                max_lines=1,
                elem_id="rag-url",
            )
        parts["status"] = gr.HTML(
            "" if on else _status(render.text(UPLOADS_OFF[0].upper() + UPLOADS_OFF[1:]), ""),
            elem_id="rag-library-status",
        )
        with gr.Row(visible=on):
            parts["choice"] = gr.Dropdown(
                choices=_choices(panel.documents()),
                value=None,
                label="Remove a document",
                scale=3,
                elem_id="rag-remove-choice",
            )
            parts["remove"] = gr.Button("Remove", size="sm", scale=1, elem_id="rag-remove")
        # For gradio_client: a file in, the new document out (never shown).
        parts["api_file"] = gr.File(visible=False, file_types=FILE_TYPES, type="filepath")
        parts["api_out"] = gr.JSON(visible=False)
    return parts


def connect_library(
    app: gr.Blocks, panel: LibraryPanel, parts: dict[str, Any], header: Any, article: Any
) -> None:
    """The panel's events and API endpoints; made inside `app`. Changes run one at a time, in
    a group of their own: the chat's questions never wait for them."""
    own: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "library"}
    shown = [parts["list"], parts["choice"], header, article]
    added = [parts["status"], *shown, parts["url"]]
    quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden", **own}
    parts["upload"].upload(panel.add_file, parts["upload"], added, **quiet)
    parts["url"].submit(panel.add_link, parts["url"], added, **quiet)
    parts["remove"].click(panel.remove, parts["choice"], [parts["status"], *shown], **quiet)
    app.load(panel.shown, None, shown, api_visibility="private", queue=False)

    parts["api_file"].upload(
        panel.api_add_file, parts["api_file"], parts["api_out"], api_name="add_document", **own
    )

    def add_url(url: str) -> dict:
        """Add the web page or PDF at an http(s) URL to the library; returns the new
        document's id, title, paragraph count, size and source."""
        return panel.api_add_link(url)

    def documents() -> list[dict]:
        """The library's documents: id, title, paragraphs, size (bytes) and source."""
        return panel.api_documents()

    def remove_document(id: str) -> list[dict]:
        """Remove the document with this id; returns the documents left."""
        return panel.api_remove(id)

    gr.api(add_url, api_name="add_url", **own)
    gr.api(documents, api_name="documents", concurrency_limit=4, concurrency_id="documents")
    gr.api(remove_document, api_name="remove_document", **own)


def documents_html(documents: list[LibraryDocument]) -> str:
    rows = "".join(
        '<li class="rag-lib-doc">'
        f'<span class="rag-lib-title">{render.text(d.title)}</span> '
        f'<span class="rag-lib-meta">{render.text(d.id)} · {_size(d.size)} · '
        f"{d.paragraphs} ¶ · {render.text(d.source)}</span></li>"
        for d in documents
    )
    count = f"{len(documents)} document{'s' if len(documents) != 1 else ''}"
    return f'<div class="rag-lib"><div class="rag-lib-count">{count}</div><ul>{rows}</ul></div>'


def _choices(documents: list[LibraryDocument]) -> list[tuple[str, str]]:
    return [(f"{d.title} ({d.id})", d.id) for d in documents]


def _status(html: str, kind: str) -> str:
    return f'<div class="rag-lib-status {kind}">{html}</div>' if html else ""


def _size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _name(path: str) -> str:
    """An uploaded file as the status line names it: by its name."""
    return Path(path).name


def _link(url: str | None) -> str | None:
    """The link typed or sent, tidied; InputError when it is not an http(s) URL (a path would
    name a file on the server)."""
    url = url.strip() if isinstance(url, str) else ""
    if url and not re.match(r"https?://", url, re.IGNORECASE):
        raise RagError(f"{url[:80]!r} is not a link: give an http:// or https:// URL")
    return url or None


def _quiet(_: str) -> None:
    """API calls show no progress."""
