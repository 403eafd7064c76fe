"""The short answer: the name, number, date or place a question asks for, cut from a sentence.

`short_answer(asked, sentence)` returns the stretch of the answering sentence that is of the
expected kind (rag.answer.question.spans) and not already in the question; with several, the one
with
the most of the question's words close around it, then the nearest to its focus words
("Iraqi military spokesman *Yahya Rasool* said" for "What is the name of the military
spokesman?"). None when the question asks for no such kind
(a reason, "what did he say") or the sentence holds none. Not done: answers spread over several
sentences, or wording of its own ("138 of 329 seats" stays as the article says it).
"""

from __future__ import annotations

import re

from rag.answer.question import Asked, says_more, spans
from rag.text.names import TITLES, is_adjective
from rag.text.tokens import tokenize

NEAR = 30  # characters around a candidate in which the question's words count
SHORT_KINDS = ("person", "organisation", "place", "number", "date")


def short_answer(asked: Asked, sentence: str) -> str | None:
    ranked = ranked_candidates(asked, sentence)
    return ranked[0][1] if ranked else None


def ranked_candidates(asked: Asked, sentence: str) -> list[tuple[int, str]]:
    """(question words close around it, text) of each short-answer candidate, best first."""
    if asked.kind not in SHORT_KINDS:
        return []
    question = asked.question.lower()
    question_words = set(re.findall(r"[\w-]+", question.replace("’", "'").replace("'s", "")))
    found = []
    for start, end in spans(sentence, asked.kind):
        text = sentence[start:end].strip(" ,.;:")
        words = text.split()
        while len(words) > 1 and is_adjective(words[0]):
            start = sentence.index(words[1], start)
            words = words[1:]
        while len(words) > 1 and words[0].lower() in question_words:  # "Basra Governor X"
            start = sentence.index(words[1], start)
            words = words[1:]
        titled = [i for i, w in enumerate(words[:-1]) if w.lower() in TITLES]
        if titled:  # "Dhi Qar Governor Khalid Al Rikabi": the name after the title
            start = sentence.index(words[titled[-1] + 1], start)
            words = words[titled[-1] + 1 :]
        text = " ".join(words).removesuffix("’s").removesuffix("'s")
        if text and says_more(text, asked) and not is_adjective(text):
            found.append((start, start + len(text), text))
    anchors = _question_word_positions(asked, sentence)
    scored = [(_closeness(start, end, anchors), text) for start, end, text in found]
    scored.sort(key=lambda s: s[0], reverse=True)  # stable: the earlier of equals first
    return [(closeness[0], text) for closeness, text in scored]


def lead_sentence(short: str) -> str:
    """The short answer as the sentence an answer opens with."""
    return f"{short[0].upper()}{short[1:]}." if short[0].islower() else f"{short}."


def _question_word_positions(asked: Asked, sentence: str) -> list[tuple[int, int, bool]]:
    """(start, end, is a focus word) of each word of `sentence` the question also uses."""
    wanted = set(tokenize(asked.question))
    positions = []
    for match in re.finditer(r"[\w’'-]+", sentence):
        tokens = tokenize(match.group())
        if tokens and tokens[0] in wanted:
            positions.append((match.start(), match.end(), tokens[0] in asked.focus))
    return positions


def _closeness(start: int, end: int, anchors: list[tuple[int, int, bool]]) -> tuple[int, int]:
    """(question words within NEAR characters, minus the gap to the nearest focus word)."""
    gaps = [(max(0, a_start - end, start - a_end), focus) for a_start, a_end, focus in anchors]
    near = sum(gap <= NEAR for gap, _ in gaps)
    focus_gap = min((gap for gap, focus in gaps if focus), default=10_000)
    return near, -focus_gap
