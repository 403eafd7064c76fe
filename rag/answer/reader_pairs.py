"""The trained reader's input: one (question, candidate sentence in its paragraph) pair as two
texts. `text_pair` is the one place the pair is built: training (rag.answer.reader_training)
and the reader at run time (rag.answer.cross_encoder_reader) both call it, so the model always
reads what it was trained on.

The first text is the question; the second is the candidate sentence, then `[SEP]`, then where
it stands: the document's headline, the paragraph text before the sentence (its end nearest the
sentence) and after it (its beginning), each cut at a word boundary:

    "When was Twilight Princess released in Europe?"
    "It was released in Europe in December 2006. [SEP] The Legend of Zelda | … the text just
     before … ⟨⟩ … the text just after …"

The tokenizer encodes (first, second) as a BERT pair, truncating only the second text to
`MAX_LENGTH` tokens, so the question and the sentence come before any context.
Not here: tokenisation or scoring.
"""

from __future__ import annotations

MAX_LENGTH = 96  # tokens of the whole pair
BEFORE_CHARS = 150  # paragraph text kept before the sentence
AFTER_CHARS = 80  # and after it
TITLE_CHARS = 60
HERE = " ⟨⟩ "  # where the sentence stands between the before and after text


def _tail(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return "… " + (cut[space + 1 :] if 0 <= space < limit // 3 else cut)


def _head(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 2 // 3 else cut) + " …"


def text_pair(
    question: str, paragraph: str, start: int, end: int, title: str = ""
) -> tuple[str, str]:
    """(first, second) texts for the candidate sentence paragraph[start:end]."""
    sentence = " ".join(paragraph[start:end].split())
    before = _tail(" ".join(paragraph[:start].split()), BEFORE_CHARS)
    after = _head(" ".join(paragraph[end:].split()), AFTER_CHARS)
    title = " ".join(title.split())[:TITLE_CHARS]
    context = f"{title} | {before}{HERE}{after}".strip()
    return " ".join(question.split()), f"{sentence} [SEP] {context}"
