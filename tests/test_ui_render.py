"""ui.render: every article or model text is escaped; quotes are marked where they sit."""

from __future__ import annotations

import re

from rag.documents import parse_text
from rag.results import ABSTENTION, Answer, Citation
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
    values = dict(doc="bridge", paragraph=number, quote=quote, text=paragraph.text, start=start,
                  end=start + len(quote), score=0.9)
    values.update(changes)
    return Citation(**values)


def answer(text: str, citations=(), *, question="q?", standalone=None, abstained=False,
           **extra) -> Answer:
    return Answer(question=question, standalone_question=standalone or question, text=text,
                  citations=list(citations), abstained=abstained, mode="extractive", **extra)


def assert_inert(html: str) -> None:
    """No tag from the data survives: only escaped text."""
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert not re.search(r"<[^>]*\bonerror\b", lowered)


def test_text_escapes_markup_dollars_and_newlines():
    out = render.text(f'{SCRIPT} {IMG} "q" \'s\' $$x$$\n\nnext')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "&quot;q&quot;" in out and "&#x27;s&#x27;" in out
    assert "$" not in out and "&#36;&#36;x&#36;&#36;" in out
    assert "\n" not in out and out.endswith("<br><br>next")


def test_answer_with_hostile_citation_is_escaped_and_marked():
    cited = citation(3, f"Engineers found {SCRIPT} in the control software.")
    html = render.answer_html(answer(f"Engineers found {SCRIPT} in it. [¶3]", [cited]), False)
    assert_inert(html)
    marked = re.findall(r"<mark>(.*?)</mark>", html)
    assert marked == ["Engineers found &lt;script&gt;alert(1)&lt;/script&gt; in the control "
                      "software."]
    # the rest of the paragraph follows the mark, unmarked
    assert "</mark> They removed it on Tuesday." in html
    assert '<span class="rag-cite">[¶3]</span>' in html


def test_mark_covers_exactly_the_quote_offsets():
    paragraph = document().paragraph(3)
    second = paragraph.sentences[1]
    cited = citation(3, second.text)
    assert (cited.start, cited.end) == (second.start, second.end)
    html = render.sources_html([cited], multi_doc=False)
    before = render.text(paragraph.text[: second.start])
    assert f"{before}<mark>{render.text(second.text)}</mark>" in html


def test_bad_offsets_fall_back_to_finding_the_quote_or_marking_nothing():
    text = "Alpha beta. Gamma delta."
    assert render.quote_span(text, "Gamma delta.", 0, 3) == (12, 24)
    assert render.quote_span(text, "Gamma delta.", 12, 999) == (12, 24)
    assert render.quote_span(text, "not there", 5, 2) is None
    assert render.highlighted(text, []) == text
    assert render.highlighted(text, [(0, 5), (3, 10)]) == "<mark>Alpha beta</mark>. Gamma delta."


def test_image_paragraph_is_text_in_sources_and_article():
    cited = citation(4)
    html = render.answer_html(answer("The website showed it. [¶4]", [cited]), False)
    assert_inert(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    article = render.article_html([document()], [cited])
    assert_inert(article)
    assert "&lt;img src=x onerror=alert(1)&gt;" in article


def test_abstention_is_shown_as_such():
    html = render.answer_html(answer(ABSTENTION, abstained=True), False)
    assert "rag-abstained" in html and "No answer in the article" in html
    assert ABSTENTION in html
    assert "rag-sources" not in html
    empty = render.answer_html(answer("", abstained=True), False)
    assert ABSTENTION in empty  # never an empty bubble


def test_rewritten_question_in_small_print_only_when_rewritten():
    same = render.answer_html(answer("x [¶2]", question="Who?", standalone="Who?"), False)
    assert "Understood as" not in same
    html = render.answer_html(answer("x [¶2]", question="When did he <b>?",
                                     standalone="When did Al Sudani <b>?"), False)
    assert '<small>Understood as: When did Al Sudani &lt;b&gt;?</small>' in html


def test_notices_for_model_fallback_and_dropped_sentences():
    html = render.answer_html(answer("x [¶2]", fallback=f"model failed {SCRIPT}",
                                     dropped=[{"sentence": "a"}, {"sentence": "b"}]), False)
    assert_inert(html)
    assert "Notice: model failed &lt;script&gt;" in html
    assert "2 generated sentences without support" in html


def test_chat_messages_have_no_blank_lines():
    """A blank line would end the HTML block and let Markdown loose on the rest."""
    for html in (render.answer_html(answer("one\n\ntwo [¶2]", [citation(2)]), False),
                 render.partial_html("one\n\n"), render.error_html("bad\n\nworse"),
                 render.question_html("a\n\n# b")):
        assert "\n" not in html


def test_article_marks_only_cited_paragraphs():
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


def test_article_locates_quote_when_citation_text_differs():
    doc = document()
    quote = doc.paragraph(2).sentences[0].text
    stale = citation(2, quote, text="something else " + quote, start=15, end=15 + len(quote))
    html = render.article_html([doc], [stale])
    assert f"<mark>{render.text(quote)}</mark>" in html


def test_header_escapes_headline_and_shows_date_and_mode():
    html = render.header_html([document()], "llm: <tiny>.gguf")
    assert_inert(html)
    assert "Bridge opens &lt;script&gt;" in html
    assert "Updated: January 5, 2024, 10:00 AM" in html
    assert "mode: llm: &lt;tiny&gt;.gguf" in html


def test_multi_document_markers():
    cited = citation(2)
    html = render.answer_html(answer("x [bridge ¶2]", [cited]), True)
    assert '<span class="rag-cite">[bridge ¶2]</span>' in html
    article = render.article_html([document()], [cited], multi_doc=True)
    assert '<div class="rag-doc-name">bridge</div>' in article
    assert "bridge ¶2" in article


def test_caption_credit_is_shown_once_in_small_print():
    """A caption's text already ends with its credit: style it, do not repeat it."""
    doc = parse_text("Bridge opens\n\nThe mayor cuts the ribbon in Testville, Iraq. Reuters\n\n"
                     "The mayor said the bridge cost 12 million dollars.\n", "bridge")
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
    assert ('<mark>The mayor cuts the ribbon in Testville, Iraq. </mark>'
            '<span class="rag-credit"><mark>Reuters</mark></span></p>') in marked
    # a credit that the text does not hold is still shown, once
    alone = render.with_credit("A photo.", "AFP", [])
    assert alone == 'A photo. <span class="rag-credit">AFP</span>'
