"""The sentence splitter: a paragraph into sentences with exact character offsets.

A sentence ends at . ! ? … (and closing quotes) before white space and a capital or a digit, except
after a known abbreviation ("Mr.", "Jan.") or an initial ("J. Smith"). Not handled: sentences that
begin with a lower-case letter after a stop, abbreviations not in the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # character offsets inside the paragraph text
    end: int


_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "maj",
    "rep",
    "sen",
    "gov",
    "jr",
    "sr",
    "vs",
    "etc",
    "no",
    "inc",
    "ltd",
    "co",
    "corp",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "u.n",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
}


# A sentence ends at . ! ? … (and closing quotes) before white space and a capital or digit of
# any script ([^\W_a-z] is any letter or digit that is not an ASCII lower-case letter).
_BOUNDARY = re.compile(r"[.!?…]+[\"”’)\]]*(?=\s+[\"“‘(\[]?[^\W_a-z])")


_LAST_WORD_CHARS = 64  # an abbreviation or an initial is far shorter


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Split a paragraph into sentences, keeping exact character offsets (text[start:end])."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        # Only the end of the candidate sentence is read, so the work stays linear in the text
        # ("Mr. Smith " × 4,000 once took quadratic time, re-reading from `start` each time).
        tail = text[max(start, match.end() - _LAST_WORD_CHARS) : match.end()]
        word = re.search(r"([\w.]+)[.!?…]*[\"”’)\]]*$", tail)
        if (
            word
            and match.group().startswith(".")
            and word.group(1).rstrip(".").lower() in _ABBREVIATIONS
        ):
            continue
        if word and re.fullmatch(r"[A-Z]", word.group(1).rstrip(".")):  # initials: "J. Smith"
            continue
        _append(sentences, text, start, match.end())
        start = match.end()
    _append(sentences, text, start, len(text))
    return tuple(sentences)


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        sentences.append(Sentence(text[start:end], start, end))
