"""HTML for the web chat: answers with their sources, the article panel, the page title.

Pure functions from `rag` records to HTML strings. Every text that comes from the article, the
question or a model goes through `text()` (html.escape, plus `$` so no LaTeX renderer picks it
up), so a document containing `<script>` shows as text; only the fixed markup written here is
HTML. Chat messages are single HTML blocks without blank lines, so the chatbot's Markdown renderer
passes them through untouched (Markdown is not applied inside an HTML block) and its sanitiser
is a second line of defence, not the only one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from rag.results import ABSTENTION, MARKER, Dropped, Fallback, marker, paragraph_name

# A citation marker as it appears in escaped answer text: [¶13] or [doc ¶13].
_ROLE = re.compile(r"[a-z]{1,20}")


def text(value: Any) -> str:
    """Escape any text for HTML; newlines become <br> so no blank line ends an HTML block."""
    escaped = html.escape(str(value), quote=True).replace("$", "&#36;")
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _with_markers(escaped: str) -> str:
    return MARKER.sub(lambda m: f'<span class="rag-cite">{m.group()}</span>', escaped)


def quote_span(paragraph: str, quote: str, start: int, end: int) -> tuple[int, int] | None:
    """Where the quote sits in the paragraph: the given offsets when they hold the quote,
    else the quote's first occurrence, else None (nothing to highlight)."""
    if 0 <= start < end <= len(paragraph) and (not quote or paragraph[start:end] == quote):
        return start, end
    if quote:
        found = paragraph.find(quote)
        if found >= 0:
            return found, found + len(quote)
    return None


def highlighted(paragraph: str, spans: Iterable[tuple[int, int]]) -> str:
    """The paragraph escaped, with each (start, end) span wrapped in <mark>."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(paragraph), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(text(paragraph[position:start]))
        out.append(f"<mark>{text(paragraph[start:end])}</mark>")
        position = end
    out.append(text(paragraph[position:]))
    return "".join(out)


def with_credit(paragraph: str, credit: str, spans: Sequence[tuple[int, int]]) -> str:
    """The paragraph highlighted, its photo credit (if any) shown once, in small print. A
    caption's text already ends with its credit (`Paragraph.credit` repeats those words), so
    the tail is styled rather than the credit appended again; a credit missing from the text
    is added after it."""
    cut = len(paragraph) - len(credit)
    if not credit or not paragraph.endswith(credit):
        extra = f' <span class="rag-credit">{text(credit)}</span>' if credit else ""
        return highlighted(paragraph, spans) + extra
    head = highlighted(paragraph[:cut], [(s, min(e, cut)) for s, e in spans])
    tail = highlighted(credit, [(max(s, cut) - cut, e - cut) for s, e in spans])
    return f'{head}<span class="rag-credit">{tail}</span>'


# --- chat messages ---------------------------------------------------------------------------


def question_html(question: str) -> str:
    return f'<div class="rag-question">{text(question)}</div>'


def partial_html(answer_so_far: str, model: str | None = None) -> str:
    """An answer still being generated. With a model's name, the draft is labelled as the
    model's unchecked text (shown subdued); the checked answer replaces it when it is done."""
    body = _with_markers(text(answer_so_far)) if answer_so_far else "…"
    status = ""
    if model:
        status = (
            f'<div class="rag-status"><small>{text(model)} is writing… each sentence is '
            "checked against the article when it is done</small></div>"
        )
    return (
        f'<div class="rag-answer rag-pending">{status}<div class="rag-text rag-draft">{body}'
        '<span class="rag-cursor">▍</span></div></div>'
    )


def error_html(message: str) -> str:
    return (
        f'<div class="rag-answer rag-error" role="alert"><strong>Cannot answer:</strong> '
        f"{text(message)}</div>"
    )


def sources_html(citations: Sequence[Any], multi_doc: bool) -> str:
    """Each cited paragraph with its supporting sentence highlighted."""
    if not citations:
        return ""
    items = []
    for citation in citations:
        span = quote_span(citation.text, citation.quote, citation.start, citation.end)
        body = highlighted(citation.text, [span] if span else [])
        label = text(citation.marker(multi_doc))
        url = getattr(citation, "url", None)
        if url and url.lower().startswith(("http://", "https://")):  # a fetched document
            address = html.escape(url, quote=True)
            body += (
                f' <a class="rag-source-url" href="{address}" rel="noopener noreferrer"'
                f' target="_blank">{address}</a>'
            )
        items.append(f'<li class="rag-source"><span class="rag-cite">{label}</span> {body}</li>')
    return (
        '<div class="rag-sources"><div class="rag-sources-title">Sources</div>'
        f'<ul class="rag-source-list">{"".join(items)}</ul></div>'
    )


def closest_html(closest: Any, multi_doc: bool) -> str:
    """An abstention's closest paragraph, offered as a pointer, not as a source."""
    if closest is None:
        return ""
    span = quote_span(closest.text, closest.quote, closest.start, closest.end)
    body = highlighted(closest.text, [span] if span else [])
    label = text(closest.marker(multi_doc))
    return (
        '<div class="rag-closest"><div class="rag-closest-title">Closest paragraph '
        f'(it does not answer)</div><span class="rag-cite">{label}</span> {body}</div>'
    )


def rewritten(question: str, standalone: str) -> bool:
    """Whether the standalone question says more than the question as typed (a model's
    rewrite that only changes capitals or spacing is not shown)."""
    return bool(standalone) and " ".join(standalone.casefold().split()) != " ".join(
        str(question).casefold().split()
    )


def answer_html(answer: Any, multi_doc: bool) -> str:
    """A finished answer: rewritten question (if any), text or abstention, notices, sources."""
    parts = ['<div class="rag-answer">']
    if rewritten(answer.question, answer.standalone_question):
        parts.append(
            f'<div class="rag-rewritten"><small>Understood as: '
            f"{text(answer.standalone_question)}</small></div>"
        )
    if answer.abstained:
        parts.append(
            '<div class="rag-abstained" role="note"><span class="rag-badge">'
            f"No answer in the article</span> {text(answer.text or ABSTENTION)}</div>"
        )
        parts.append(closest_html(getattr(answer, "closest", None), multi_doc))
    else:
        body = _with_markers(text(answer.text))
        short = getattr(answer, "short_answer", None)
        lead = text(f"{short}.") if short else ""
        if lead and body.lower().startswith(lead.lower()):  # the short answer, in bold
            body = f'<strong class="rag-short">{body[: len(lead)]}</strong>{body[len(lead) :]}'
        parts.append(f'<div class="rag-text">{body}</div>')
    fallback = getattr(answer, "fallback", None)
    if fallback is not None:
        parts.append(
            f'<div class="rag-notice" role="note"><small>{fallback_notice(fallback)}</small></div>'
        )
    model = getattr(answer, "model", None)
    if getattr(answer, "mode", "") == "llm" and model and fallback is None and not answer.abstained:
        parts.append(
            f'<div class="rag-model"><small>Written by {text(model)}; each sentence '
            "checked against the article and cited by the paragraph that supports "
            "it.</small></div>"
        )
    parts.append(dropped_html(getattr(answer, "dropped", None) or []))
    parts.append(sources_html(answer.citations, multi_doc))
    parts.append("</div>")
    return "".join(parts)


FALLBACKS = {  # how each kind of `Fallback` reads to a person
    "extractive": "Answered from the article's own sentences",
    "abstained": "Why no answer",
}


def fallback_notice(fallback: Fallback) -> str:
    """A `Fallback` in words, escaped: ("extractive", "the model's answer had no supported
    sentence") reads "Answered from the article's own sentences: the model's answer had …"."""
    return f"{text(FALLBACKS[fallback.kind])}: {text(fallback.reason)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def dropped_html(dropped: Sequence[Dropped]) -> str:
    """What the citation check removed, collapsed: a summary such as "2 sentences removed: not
    supported by the article" that opens on a list of each removed sentence with its reason."""
    if not dropped:
        return ""
    unsupported = all(d.reason.startswith(("not supported", "no paragraphs")) for d in dropped)
    why = ": not supported by the article" if unsupported else " by the citation check"
    rows = [
        '<li class="rag-dropped-item rag-dropped-sentence">'
        f'<span class="rag-dropped-text">{text(d.sentence)}</span>'
        + (f' <span class="rag-dropped-reason">— {text(d.reason)}</span>' if d.reason else "")
        + "</li>"
        for d in dropped
    ]
    return (
        f'<details class="rag-dropped"><summary>{_plural(len(dropped), "sentence")} removed{why}'
        f'</summary><ul class="rag-dropped-list">{"".join(rows)}</ul></details>'
    )


# --- page parts ------------------------------------------------------------------------------


def mode_text(model_name: str | None) -> str:
    """How the mode reads in the page: "model NAME" (`Pipeline.model_name`), or "extractive"."""
    return f"model {model_name}" if model_name else "extractive"


def header_html(documents: Sequence[Any], model_name: str | None) -> str:
    """The title: the article's headline and date, and the answering mode (the model's name)."""
    first = documents[0]
    more = ""
    if len(documents) > 1:
        more = f' <span class="rag-more">and {len(documents) - 1} more article(s)</span>'
    # A web page's own title and date (its metadata) when it has them; else the article's text.
    title = getattr(first, "title", "") or first.headline
    dated = first.dateline or getattr(first, "date", "")
    date = f'<span class="rag-date">{text(dated)}</span>' if dated else ""
    return (
        '<div class="rag-header">'
        f'<h1 class="rag-title">{text(title)}{more}</h1>'
        f'<div class="rag-meta">{date}'
        f'<span class="rag-mode" title="answering mode">mode: {text(mode_text(model_name))}'
        "</span>"
        '<span class="rag-hint">Answers cite paragraphs as [¶N]; sources are quoted '
        "under each answer.</span></div></div>"
    )


def article_html(
    documents: Sequence[Any], citations: Sequence[Any] = (), multi_doc: bool = False
) -> str:
    """The whole article, numbered, with the paragraphs cited by `citations` marked."""
    cited: dict[tuple[str, int], list[Any]] = {}
    for citation in citations:
        cited.setdefault((citation.doc, citation.paragraph), []).append(citation)
    parts = ['<div class="rag-article-title">The article</div><div class="rag-article">']
    if cited:
        labels = ", ".join(text(marker(doc, n, multi_doc)) for doc, n in cited)
        parts.append(f'<div class="rag-article-note">Cited in the current answer: {labels}</div>')
    else:
        parts.append(
            '<div class="rag-article-note">Paragraphs cited in an answer are marked here.</div>'
        )
    for document in documents:
        if multi_doc:
            parts.append(f'<div class="rag-doc-name">{text(document.name)}</div>')
        for paragraph in document.paragraphs:
            role = paragraph.role if _ROLE.fullmatch(paragraph.role or "") else "body"
            mine = cited.get((document.name, paragraph.number), [])
            spans = []
            for citation in mine:
                start, end = citation.start, citation.end
                if citation.text != paragraph.text:  # locate the quote in this paragraph
                    start, end = -1, -1
                span = quote_span(paragraph.text, citation.quote, start, end)
                if span:
                    spans.append(span)
            classes = f"rag-para rag-role-{role}" + (" rag-cited" if mine else "")
            number = text(paragraph_name(document.name, paragraph.number, multi_doc))
            parts.append(
                f'<p class="{classes}"><span class="rag-num">{number}</span> '
                f"{with_credit(paragraph.text, getattr(paragraph, 'credit', ''), spans)}</p>"
            )
    parts.append("</div>")
    return "".join(parts)
