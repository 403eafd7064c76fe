"""The Gradio app: a chat about the article, its sources, the article itself, and an API.

`build_app(pipeline)` lays out the page: the headline and date with the answering mode, a chat
whose answers stream in with `[¶N]` markers and their sources quoted underneath, example
questions, and a panel with the whole article where the paragraphs cited by the current answer
are marked. Each browser session has its own conversation, kept on the server by ui.sessions
(capped, dropped when idle, its last turns only) under a key in the session's `gr.State`;
follow-ups go through `pipeline.stream(question, history)` and the rewritten question is shown in
small print.
In model mode the header names the model, its draft streams in labelled as not yet checked, and
the checked answer replaces it: the kept sentences with their `[¶N]`, the sources with the
supporting sentence highlighted, and what the check removed in a collapsed list with reasons.
`api_name="ask"` answers one question and returns the `rag ask --json` object (for
`gradio_client`); ui.server serves it with the settings of `rag serve`.

Nothing is loaded at import: the caller opens the `Pipeline` and passes it in (anything with the
`rag.asker.Asker` protocol does), and closes it. All text is
escaped by `ui.render`; ui.server and ui.guard hold the server-side limits.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from rag import Answer, Asker, Conversation, Library, LivePipeline, RagError
from ui import render
from ui.library import LibraryPanel, connect_library, library_layout
from ui.sessions import Session, SessionStore

CONCURRENCY_ID = "pipeline"  # the chat and the API share one limit
QUEUE_MAX_SIZE = 200  # waiting requests beyond this are refused ("queue full")


def concurrency_limit(pipeline: Asker) -> int:
    """How many questions run at once. A language model answers one at a time (llama.cpp
    holds a lock and already uses every thread), so more would only queue inside the model and
    hide the wait from Gradio's queue. Extractive answers take milliseconds and the shared
    index is read-only, so a few may overlap."""
    return 1 if pipeline.mode == "llm" else 4


class Chat:
    """The event handlers, over one shared pipeline; each session's conversation is in
    `sessions`, under the key its `gr.State` holds."""

    def __init__(self, pipeline: Asker, sessions: SessionStore | None = None) -> None:
        self.pipeline = pipeline
        self.sessions = sessions if sessions is not None else SessionStore()
        self.max_chars = pipeline.max_question_chars
        # The model's name while it writes (None in extractive mode, which does not stream).
        self.model = pipeline.model_name

    def blank_article(self) -> str:
        """The article panel with nothing cited, of the documents indexed now."""
        return render.article_html(self.pipeline.documents, (), self.pipeline.multi_doc)

    def respond(self, question: str, key: str | None) -> Iterator[tuple]:
        """One chat turn: yields (chat, session key, article panel, textbox) as it goes."""
        kept = self.sessions.get(key)
        messages, turns = kept.messages, kept.turns
        key = self.sessions.put(key, kept)  # in use: the last to expire
        if isinstance(question, str) and not question.strip():
            yield messages, key, gr.skip(), ""
            return
        try:
            question = self.pipeline.check_question(question)
        except RagError as exc:  # the question is refused (empty, too long, not UTF-8)
            typed = question if isinstance(question, str) else ""  # JSON may be anything
            shown = typed if len(typed) <= self.max_chars else typed[: self.max_chars] + "…"
            messages += [_user(shown), _assistant(render.error_html(str(exc)))]
            yield self._out(messages, turns, key), key, gr.skip(), typed
            return
        messages += [_user(question), _assistant(render.partial_html("", self.model))]
        yield list(messages), key, gr.skip(), ""

        answer: Answer | None = None
        streamed = ""
        try:
            session = Conversation(self.pipeline)  # records the turn into `turns`
            session.turns = turns
            with contextlib.closing(session.stream(question)) as stream:
                for piece in stream:
                    streamed += piece
                    messages[-1] = _assistant(render.partial_html(streamed, self.model))
                    yield list(messages), key, gr.skip(), ""
                answer = stream.answer
        except RagError as exc:
            messages[-1] = _assistant(render.error_html(str(exc)))
        except Exception as exc:  # a bug: keep the session alive, log the traceback
            traceback.print_exc(file=sys.stderr)
            messages[-1] = _assistant(render.error_html(f"internal error ({type(exc).__name__})"))
        if answer is None:
            yield self._out(messages, turns, key), key, gr.skip(), ""
            return
        documents, multi_doc = self.pipeline.documents, self.pipeline.multi_doc
        messages[-1] = _assistant(render.answer_html(answer, multi_doc))
        article = render.article_html(documents, answer.citations, multi_doc)
        yield self._out(messages, turns, key), key, article, ""

    def _out(self, messages: list[Any], turns: list[Any], key: str) -> list[Any]:
        """The turn is over: keep the conversation; the chat to show (its last turns)."""
        self.sessions.put(key, Session(messages, turns))
        return self.sessions.get(key).messages

    def respond_example(self, sample: Any, key: str | None) -> Iterator[tuple]:
        question = sample[0] if isinstance(sample, (list, tuple)) and sample else ""
        yield from self.respond(str(question), key)

    def clear(self, key: str | None) -> tuple:
        self.sessions.drop(key)
        return [], None, self.blank_article(), ""

    def ask(self, question: str) -> dict:
        try:
            return self.pipeline.ask(question).to_dict()
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None


def build_app(
    pipeline: Asker, examples: Sequence[str] | None = None, library: Library | None = None
) -> gr.Blocks:
    """The chat app over an opened `rag.pipeline.Pipeline` (or another `Asker`). Over a
    `rag.live.LivePipeline` the page has the library panel too (ui.library), which adds and
    removes documents through `library` (None: listing only)."""
    chat = Chat(pipeline)
    panel = LibraryPanel(pipeline, library) if isinstance(pipeline, LivePipeline) else None
    documents = pipeline.documents
    limit = concurrency_limit(pipeline)
    examples = list(examples) if examples is not None else pipeline.example_questions()

    def ask(question: str) -> dict:
        """Answer one question about the article (no conversation); returns the same JSON
        object as `rag ask --json`."""
        return chat.ask(question)

    title = documents[0].headline
    # Uploaded files are copied into the index folder (ui.library): Gradio's own copies go
    # after an hour (and all of them when the server starts again).
    with gr.Blocks(
        title=f"rag · {title}"[:120], analytics_enabled=False, delete_cache=(3600, 3600)
    ) as app:
        header = gr.HTML(
            render.header_html(documents, pipeline.model_name),
            js_on_load=None,
            elem_id="rag-header",
        )
        conversation = gr.State(None)  # the session's key in chat.sessions
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    label="Chat",
                    show_label=False,
                    height=560,
                    elem_id="rag-chat",
                    layout="bubble",
                    buttons=["copy"],
                    feedback_options=None,
                    latex_delimiters=[],
                    sanitize_html=True,
                    render_markdown=True,
                    allow_tags=False,
                    allow_file_downloads=False,
                    group_consecutive_messages=False,
                    placeholder=(
                        "Ask a question about the article; answers cite its paragraphs as [¶N]."
                    ),
                )
                textbox = gr.Textbox(
                    show_label=False,
                    placeholder="Ask about the article… (Enter to send)",
                    max_length=chat.max_chars,
                    lines=1,
                    max_lines=4,
                    submit_btn=True,
                    autofocus=True,
                    elem_id="rag-question",
                )
                samples = gr.Dataset(
                    components=[gr.Textbox(visible=False)],
                    samples=[[q] for q in examples],
                    label="Example questions",
                    type="values",
                    layout="gallery",
                    elem_id="rag-examples",
                )
            with gr.Column(scale=2, min_width=320):
                parts = library_layout(panel) if panel is not None else None
                article = gr.HTML(
                    chat.blank_article(), js_on_load=SCROLL_TO_CITED, elem_id="rag-article"
                )

        outputs = [chatbot, conversation, article, textbox]
        shared: dict[str, Any] = {"concurrency_limit": limit, "concurrency_id": CONCURRENCY_ID}
        textbox.submit(
            chat.respond,
            [textbox, conversation],
            outputs,
            api_name="chat",
            show_progress="hidden",
            **shared,
        )
        samples.click(
            chat.respond_example,
            [samples, conversation],
            outputs,
            api_visibility="private",
            show_progress="hidden",
            **shared,
        )
        chatbot.clear(chat.clear, conversation, outputs, api_visibility="private", queue=False)
        gr.api(ask, api_name="ask", **shared)
        if panel is not None and parts is not None:
            connect_library(app, panel, parts, header, article)

    app.queue(default_concurrency_limit=limit, max_size=QUEUE_MAX_SIZE)
    return app


def _user(question: str) -> dict[str, str]:
    return {"role": "user", "content": render.question_html(question)}


def _assistant(content: str) -> dict[str, str]:
    return {"role": "assistant", "content": content}


# Our own fixed script (no data in it): keep the first cited paragraph in view.
SCROLL_TO_CITED = """
watch('value', () => {
  const box = element.querySelector('.rag-article');
  const cited = box && box.querySelector('.rag-cited');
  if (!box || !cited) return;
  const note = box.querySelector('.rag-article-note');
  const offset = cited.getBoundingClientRect().top - box.getBoundingClientRect().top;
  box.scrollTop = Math.max(0, box.scrollTop + offset - (note ? note.offsetHeight : 0) - 8);
});
"""
