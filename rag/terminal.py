"""Text bound for a terminal: control characters removed, and how an answer is printed there.

Document text, file names and questions reach the terminal through answers, quotes, progress
lines and errors. An escape sequence in any of them could retitle the terminal, move the cursor
or erase what the reader sees (`\\x1b]0;pwned\\x07`, backspaces), so everything the CLI prints
as text goes through `for_terminal`: C0 and C1 control characters and DEL are dropped, except
newline and tab, and so are the bidirectional overrides and isolates (U+202A-202E,
U+2066-2069) that would make text read other than it is; text that is not valid Unicode (lone
surrogates from undecodable bytes) is shown with replacement characters. JSON output needs none
of this: json escapes controls.

`answer_on_terminal` runs one question for the CLI: a model's text streams as it is written (on
a terminal only), then the checked answer, each citation with its quote marked (bold, or
»…« without colour), and the closest paragraph of an abstention, labelled as not an answer.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rag.asker import Asker
    from rag.results import Answer

# C0 and C1 controls and DEL but newline and tab, and the bidirectional overrides, embeddings
# and isolates (U+202A-202E, U+2066-2069), which can make text read other than it is.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def for_terminal(text: str) -> str:
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))


def answer_on_terminal(
    pipeline: Asker, question: str, history: list[tuple[str, str]], *, as_json: bool, out: TextIO
) -> Answer:
    """Run one question; on a terminal (not --json) stream text and print the sources."""
    streamed = False
    live = not as_json and out.isatty()  # piped output gets only the checked answer
    stream = pipeline.stream(question, history)
    for piece in stream:
        if live:
            out.write(for_terminal(piece))
            out.flush()
            streamed = True
    answer = stream.answer
    if not as_json:
        _print_answer(answer, pipeline.multi_doc, out, streamed=streamed)
    return answer


def _print_answer(answer: Answer, multi: bool, out: TextIO, *, streamed: bool) -> None:
    bold = out.isatty() and os.environ.get("NO_COLOR") is None

    def write(text: str) -> None:
        out.write(for_terminal(text))

    if answer.standalone_question != answer.question:
        write(f"(understood as: {answer.standalone_question})\n")
    if streamed:
        write("\n")
        if answer.fallback or answer.dropped:
            write(f"checked answer: {answer.text}\n")
    else:
        write(answer.text + "\n")
    if answer.fallback is not None:
        print(f"notice: {for_terminal(str(answer.fallback))}", file=sys.stderr)
    for citation in answer.citations:
        before, quoted, after = (for_terminal(t) for t in _split(citation))
        quote = f"\033[1m{quoted}\033[0m" if bold else f"»{quoted}«"
        out.write(f"\n{for_terminal(citation.marker(multi))} {before}{quote}{after}\n")
        if citation.url is not None:  # a fetched document: where it came from
            out.write(f"    from {for_terminal(citation.url)}\n")
    closest = answer.closest
    if closest is not None:  # a pointer for the reader, not evidence
        write(f"\nclosest, not an answer: {closest.marker(multi)} {closest.quote}\n")
    out.flush()


def _split(citation: Any) -> tuple[str, str, str]:
    """A cited paragraph as (before the quote, the quote, after it)."""
    text, start, end = citation.text, citation.start, citation.end
    return text[:start], text[start:end], text[end:]
