"""ui.render: every article or model text is escaped; quotes are marked where they sit.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import re

from rag.documents.parse import parse_text
from rag.results import ABSTENTION, Answer, Citation, Dropped, Fallback
from ui import render

SCRIPT = "<script>alert(1)</script>"

IMG = "<img src=x onerror=alert(1)>"

ARTICLE = f"""Bridge opens {SCRIPT}

The mayor said the bridge cost 12 million dollars and opened to traffic on Monday morning.

Engineers found {SCRIPT} in the control software. They removed it on Tuesday.

The city website showed {IMG} on its front page during the opening ceremony.

Updated: January 5, 2024, 10:00 AM
"""


def document():
    return parse_text(ARTICLE, "bridge")


def citation(number: int, quote: str | None = None, **changes) -> Citation:
    paragraph = document().paragraph(number)
    quote = quote if quote is not None else paragraph.sentences[0].text
    start = paragraph.text.find(quote)
    values = dict(
        doc="bridge",
        paragraph=number,
        quote=quote,
        text=paragraph.text,
        start=start,
        end=start + len(quote),
        score=0.9,
    )
    values.update(changes)
    return Citation(**values)


def answer(
    text: str, citations=(), *, question="q?", standalone=None, abstained=False, **extra
) -> Answer:
    return Answer(
        question=question,
        standalone_question=standalone or question,
        text=text,
        citations=list(citations),
        abstained=abstained,
        mode="extractive",
        **extra,
    )


def assert_inert(html: str) -> None:
    """No tag from the data survives: only escaped text."""
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert not re.search(r"<[^>]*\bonerror\b", lowered)


def test_text_escapes_markup_dollars_and_newlines() -> None:
    out = render.text(f"{SCRIPT} {IMG} \"q\" 's' $$x$$\n\nnext")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "&quot;q&quot;" in out and "&#x27;s&#x27;" in out
    assert "$" not in out and "&#36;&#36;x&#36;&#36;" in out
    assert "\n" not in out and out.endswith("<br><br>next")


def test_answer_with_hostile_citation_is_escaped_and_marked() -> None:
    cited = citation(3, f"Engineers found {SCRIPT} in the control software.")
    html = render.answer_html(answer(f"Engineers found {SCRIPT} in it. [¶3]", [cited]), False)
    assert_inert(html)
    marked = re.findall(r"<mark>(.*?)</mark>", html)
    assert marked == [
        "Engineers found &lt;script&gt;alert(1)&lt;/script&gt; in the control software."
    ]
    # the rest of the paragraph follows the mark, unmarked
    assert "</mark> They removed it on Tuesday." in html
    assert '<span class="rag-cite">[¶3]</span>' in html


def test_mark_covers_exactly_the_quote_offsets() -> None:
    paragraph = document().paragraph(3)
    second = paragraph.sentences[1]
    cited = citation(3, second.text)
    assert (cited.start, cited.end) == (second.start, second.end)
    html = render.sources_html([cited], multi_doc=False)
    before = render.text(paragraph.text[: second.start])
    assert f"{before}<mark>{render.text(second.text)}</mark>" in html


def test_bad_offsets_fall_back_to_finding_the_quote_or_marking_nothing() -> None:
    text = "Alpha beta. Gamma delta."
    assert render.quote_span(text, "Gamma delta.", 0, 3) == (12, 24)
    assert render.quote_span(text, "Gamma delta.", 12, 999) == (12, 24)
    assert render.quote_span(text, "not there", 5, 2) is None
    assert render.highlighted(text, []) == text
    assert render.highlighted(text, [(0, 5), (3, 10)]) == "<mark>Alpha beta</mark>. Gamma delta."


def test_image_paragraph_is_text_in_sources_and_article() -> None:
    cited = citation(4)
    html = render.answer_html(answer("The website showed it. [¶4]", [cited]), False)
    assert_inert(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    article = render.article_html([document()], [cited])
    assert_inert(article)
    assert "&lt;img src=x onerror=alert(1)&gt;" in article


def test_abstention_is_shown_as_such() -> None:
    html = render.answer_html(answer(ABSTENTION, abstained=True), False)
    assert "rag-abstained" in html and "No answer in the article" in html
    assert ABSTENTION in html
    assert "rag-sources" not in html
    empty = render.answer_html(answer("", abstained=True), False)
    assert ABSTENTION in empty  # never an empty bubble


def test_rewritten_question_in_small_print_only_when_rewritten() -> None:
    same = render.answer_html(answer("x [¶2]", question="Who?", standalone="Who?"), False)
    assert "Understood as" not in same
    recased = answer("x [¶2]", question="who nominated  him?", standalone="Who nominated him?")
    assert "Understood as" not in render.answer_html(recased, False)  # a model's recasing
    html = render.answer_html(
        answer("x [¶2]", question="When did he <b>?", standalone="When did Al Sudani <b>?"), False
    )
    assert "<small>Understood as: When did Al Sudani &lt;b&gt;?</small>" in html


def test_a_fallback_reason_is_escaped() -> None:
    html = render.answer_html(answer("x [¶2]", fallback=Fallback("extractive", SCRIPT)), False)
    assert_inert(html)
    assert "own sentences: &lt;script&gt;alert(1)&lt;/script&gt;</small>" in html


MODEL = "qwen2.5-coder-0.5b"

# Removals as rag.answer.attribution and rag.answer.generative record them, with markup from the
# model.
DROPPED = [
    Dropped(
        f"Hamas nominated him {SCRIPT} in 1990. [¶13]",
        "not supported by the article (closest ¶13, score 0.21; 1990, Hamas not in it)",
    ),
    Dropped(
        f"The website showed {IMG}.",
        f"not supported by the article (closest ¶4, score 0.30; {IMG} not in it)",
    ),
]


def model_answer(text: str, citations=(), **extra) -> Answer:
    values = dict(mode="llm", model=MODEL)
    values.update(extra)
    result = answer(text, citations)
    for name, value in values.items():
        setattr(result, name, value)
    return result


def dropped_block(html: str) -> str:
    found = re.findall(r'<details class="rag-dropped">.*?</details>', html)
    assert len(found) == 1, html
    return found[0]


def test_dropped_sentences_are_listed_with_reasons_in_a_collapsed_details() -> None:
    kept = citation(2)
    html = render.answer_html(
        model_answer("The bridge cost 12 million dollars. [¶2]", [kept], dropped=DROPPED), False
    )
    assert_inert(html)
    assert "\n" not in html
    block = dropped_block(html)
    assert "<details " in block and " open" not in block  # collapsed until asked for
    summary = re.fullmatch(r"<details[^>]*><summary>(.*?)</summary>.*", block)
    assert summary and summary.group(1) == "2 sentences removed: not supported by the article"
    items = re.findall(r'<li class="rag-dropped-item rag-dropped-sentence">(.*?)</li>', block)
    assert items == [
        '<span class="rag-dropped-text">Hamas nominated him &lt;script&gt;alert(1)&lt;/script&gt;'
        ' in 1990. [¶13]</span> <span class="rag-dropped-reason">— not supported by the article'
        " (closest ¶13, score 0.21; 1990, Hamas not in it)</span>",
        '<span class="rag-dropped-text">The website showed &lt;img src=x onerror=alert(1)&gt;.'
        '</span> <span class="rag-dropped-reason">— not supported by the article (closest ¶4,'
        " score 0.30; &lt;img src=x onerror=alert(1)&gt; not in it)</span>",
    ]
    # a removed sentence's marker is not shown as a citation; the kept answer's is
    assert block.count("rag-cite") == 0
    text_part = html.split('<details class="rag-dropped">')[0]
    assert '<span class="rag-cite">[¶2]</span>' in text_part
    # the details come after the answer, before its sources
    assert html.index("rag-text") < html.index("rag-dropped") < html.index("rag-sources")
    assert "<mark>" in html.split("rag-sources", 1)[1]


def test_dropped_summary_counts_and_wording() -> None:
    one = dropped_block(render.answer_html(model_answer("x [¶2]", dropped=DROPPED[:1]), False))
    assert "<summary>1 sentence removed: not supported by the article</summary>" in one
    mixed = [DROPPED[0], Dropped("The article does not say.", "abstention alongside an answer")]
    block = dropped_block(render.answer_html(model_answer("x [¶2]", dropped=mixed), False))
    assert "<summary>2 sentences removed by the citation check</summary>" in block
    assert "— abstention alongside an answer</span>" in block
    bare = dropped_block(render.answer_html(model_answer("x", dropped=[Dropped("a", "")]), False))
    assert '<span class="rag-dropped-text">a</span></li>' in bare  # no reason: none shown
    assert render.dropped_html([]) == ""
    assert "rag-dropped" not in render.answer_html(model_answer("x [¶2]"), False)


def test_model_answer_names_the_model_and_fallbacks_read_as_words() -> None:
    html = render.answer_html(model_answer("x [¶2]", [citation(2)], model=f"m{SCRIPT}"), False)
    assert_inert(html)
    assert "Written by m&lt;script&gt;" in html and "checked against the article" in html
    fell_back = render.answer_html(
        model_answer(
            "The mayor said so. [¶2]",
            [citation(2)],
            dropped=DROPPED,
            fallback=Fallback("extractive", "the model's answer had no supported sentence"),
        ),
        False,
    )
    assert (
        "<small>Answered from the article&#x27;s own sentences: the model&#x27;s answer had no "
        "supported sentence</small>"
    ) in fell_back
    assert "Written by" not in fell_back  # the text shown is the article's, not the model's
    assert "2 sentences removed" in fell_back
    abstained = render.answer_html(
        model_answer(
            ABSTENTION,
            abstained=True,
            fallback=Fallback(
                "abstained",
                "no retrieved paragraph answers the question (support 0.34 < 0.68); "
                "the model was not asked",
            ),
        ),
        False,
    )
    assert "No answer in the article" in abstained
    assert (
        "Why no answer: no retrieved paragraph answers the question (support 0.34 &lt; 0.68)"
        in (abstained)
    )
    assert "Written by" not in abstained


def test_model_draft_is_labelled_as_unchecked() -> None:
    draft = render.partial_html(f"It showed {IMG} [¶4]", f"m{SCRIPT}")
    assert_inert(draft)
    assert "rag-pending" in draft and "rag-draft" in draft
    assert "m&lt;script&gt;alert(1)&lt;/script&gt; is writing" in draft
    assert '<span class="rag-cite">[¶4]</span>' in draft
    assert "is writing" not in render.partial_html("It showed")  # extractive: no label


def test_the_mode_reads_as_the_model_name() -> None:
    assert render.mode_text("qwen2.5-coder-0.5b") == "model qwen2.5-coder-0.5b"
    assert render.mode_text(None) == "extractive"


def test_chat_messages_have_no_blank_lines() -> None:
    """A blank line would end the HTML block and let Markdown loose on the rest."""
    for html in (
        render.answer_html(answer("one\n\ntwo [¶2]", [citation(2)]), False),
        render.partial_html("one\n\n"),
        render.partial_html("one\n\n", "model\n\nname"),
        render.answer_html(model_answer("one\n\ntwo [¶2]", dropped=[Dropped("a\n\nb", "")]), False),
        render.error_html("bad\n\nworse"),
        render.question_html("a\n\n# b"),
    ):
        assert "\n" not in html


def test_article_marks_only_cited_paragraphs() -> None:
    doc = document()
    html = render.article_html([doc], [citation(2)])
    cited = re.findall(r'<p class="([^"]*)"><span class="rag-num">¶(\d+)</span>', html)
    assert [n for classes, n in cited if "rag-cited" in classes] == ["2"]
    assert len(cited) == len(doc.paragraphs)
    assert "Cited in the current answer: [¶2]" in html
    assert "rag-role-headline" in html and "rag-role-dateline" in html
    assert_inert(html)
    plain = render.article_html([doc])
    assert "rag-cited" not in plain and "<mark>" not in plain


def test_article_locates_quote_when_citation_text_differs() -> None:
    doc = document()
    quote = doc.paragraph(2).sentences[0].text
    stale = citation(2, quote, text="something else " + quote, start=15, end=15 + len(quote))
    html = render.article_html([doc], [stale])
    assert f"<mark>{render.text(quote)}</mark>" in html


def test_header_escapes_headline_and_shows_date_and_mode() -> None:
    html = render.header_html([document()], "<tiny>.gguf")
    assert_inert(html)
    assert "Bridge opens &lt;script&gt;" in html
    assert "Updated: January 5, 2024, 10:00 AM" in html
    assert "mode: model &lt;tiny&gt;.gguf" in html
    assert "mode: extractive" in render.header_html([document()], None)


def test_multi_document_markers() -> None:
    cited = citation(2)
    html = render.answer_html(answer("x [bridge ¶2]", [cited]), True)
    assert '<span class="rag-cite">[bridge ¶2]</span>' in html
    article = render.article_html([document()], [cited], multi_doc=True)
    assert '<div class="rag-doc-name">bridge</div>' in article
    assert "bridge ¶2" in article


def test_caption_credit_is_shown_once_in_small_print() -> None:
    """A caption's text already ends with its credit: style it, do not repeat it."""
    doc = parse_text(
        "Bridge opens\n\nThe mayor cuts the ribbon in Testville, Iraq. Reuters\n\n"
        "The mayor said the bridge cost 12 million dollars.\n",
        "bridge",
    )
    caption = doc.paragraph(2)
    assert caption.role == "caption" and caption.credit == "Reuters"
    assert caption.text.endswith("Reuters")
    html = render.article_html([doc])
    assert html.count("Reuters") == 1
    assert 'Testville, Iraq. <span class="rag-credit">Reuters</span></p>' in html
    # a quote over the whole caption is marked without breaking the credit's markup
    quote = caption.text
    cited = Citation("bridge", 2, quote, caption.text, 0, len(quote), 0.9)
    marked = render.article_html([doc], [cited])
    assert marked.count("Reuters") == 1
    assert (
        "<mark>The mayor cuts the ribbon in Testville, Iraq. </mark>"
        '<span class="rag-credit"><mark>Reuters</mark></span></p>'
    ) in marked
    # a credit that the text does not hold is still shown, once
    alone = render.with_credit("A photo.", "AFP", [])
    assert alone == 'A photo. <span class="rag-credit">AFP</span>'


def test_short_answer_leads_in_bold_and_closest_is_no_source() -> None:
    quote = "The bridge cost 12 million pounds."
    cite = Citation("d", 3, quote, quote, 0, len(quote), 0.9)
    answer = Answer("q", "q", f"12 million. {quote} [¶3]", [cite], False, "extractive")
    answer.short_answer = "12 million"
    html = render.answer_html(answer, multi_doc=False)
    assert '<strong class="rag-short">12 million.</strong> The bridge cost' in html
    said = f"{ABSTENTION} It mentions the bridge but gives no figure for the tolls."
    abstained = Answer("q", "q", said, [], True, "extractive", closest=cite)
    html = render.answer_html(abstained, multi_doc=False)
    assert "gives no figure for the tolls" in html and "rag-sources" not in html
    assert "Closest paragraph (it does not answer)" in html
    assert "<mark>The bridge cost 12 million pounds.</mark>" in html


def test_one_marker_pattern_reads_what_rag_writes() -> None:
    from rag.chat.rewrite import strip_citations
    from rag.results import MARKER, marker

    for written in (marker("d", 13, False), marker("basra_port", 7, True)):
        assert MARKER.fullmatch(written)
        assert strip_citations(f"The Framework. {written}") == "The Framework."
    assert not MARKER.search("[A] a prompt label, and [13] a bare number")


def test_a_fetched_documents_citation_links_to_its_url_escaped() -> None:
    url = 'https://example.org/story?a=1&b="x"'
    citation = Citation("story", 2, "It rained.", "It rained.", 0, 10, 0.9, url=url)
    assert citation.to_dict()["url"] == url
    html = render.sources_html([citation], multi_doc=False)
    assert 'href="https://example.org/story?a=1&amp;b=&quot;x&quot;"' in html
    assert 'rel="noopener noreferrer"' in html
    local = Citation("story", 2, "It rained.", "It rained.", 0, 10, 0.9)
    assert "url" not in local.to_dict() and "<a " not in render.sources_html([local], False)
    hostile = Citation("story", 2, "It rained.", "It rained.", 0, 10, 0.9, url="javascript:x()")
    assert "<a " not in render.sources_html([hostile], False)
