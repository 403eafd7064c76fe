"""What a question asks for: the expected kind of answer and its focus.

`analyse(question)` reads an English question with a few rules (no parser, no model):

- `kind`, the expected kind of answer: "person", "organisation", "place", "number", "date",
  "reason", or None when the question does not ask for one of these ("what did he say…");
- `focus`, the words naming the thing asked for, beyond the subject the question is about: the
  *killed* *soldiers* of "How many US soldiers were killed in the attack on Ain Al Asad?", the
  *population* of "What is the population of Iraq?", the *party* of "Which party does X belong
  to?". These are the question's content words that are not part of a name;
- `names`, the capitalised names the question mentions (its subject: "Ain Al Asad", "Iraq").

`spans(text, kind)` finds the stretches of a text that are of a kind (numbers with their scale,
dates, capitalised names: rag.text.numbers and rag.text.names), the candidates for a short
answer. Not done: questions in other languages, or kinds beyond these six (a "what did he say"
question gets None and is answered by a sentence, not a short answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.names import name_spans, names_in
from rag.text.numbers import date_spans, number_spans
from rag.text.tokens import tokenize

KINDS = ("person", "organisation", "place", "number", "date", "reason")

_ORGANISATION_NOUNS = r"""party|parties|bloc|group|groups|coalition|alliance|agency|company|firm|
    outlet|newspaper|paper|channel|organisation|organization|militia|militias|faction|contractor|
    think tank|institute|ministry|body|movement|network|union|team|court|bank|authority|council"""
_PLACE_NOUNS = r"""city|country|countries|province|town|region|base|port|river|nation|state|
    village|area|district|airport|capital|neighbour|neighbor|place|location|marsh|marshes"""
_PERSON_NOUNS = r"""spokesman|spokeswoman|minister|official|analyst|person|man|woman|leader|
    president|governor|director|chairman|chief|head|engineer|commander|envoy|ambassador|herder"""
_NUMBER_NOUNS = r"""population|cost|price|budget|amount|number|figure|toll|count|total|percentage|
    rate|capacity|length|distance|size|salary|value|worth|share|depth|age|height|width|area"""


def _words(alternatives: str) -> str:
    return "|".join(w.strip() for w in alternatives.split("|"))


# "which base", "what kind of party", "which Asian nation's": the noun the wh-word governs, not
# one further on ("what did the city website show" asks for no place).
_NOT_AUX = r"(?!(?:is|are|was|were|did|do|does|has|have|had|will|would|can|could)\b)"
_WHICH = rf"\b(?:which|what)\s+(?:{_NOT_AUX}[\w’']+\s+){{0,2}}?"
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("number", r"\bhow (?:many|much|long|large|big|far|deep|old|high|tall|wide)\b"),
        ("number", r"\bwhat (?:number|percentage|proportion|share)\b"),
        ("number", rf"\bwhat (?:is|was|are|were) (?:the )?(?:\w+ )?(?:{_words(_NUMBER_NOUNS)})\b"),
        ("number", r"\bto what (?:depth|extent|level|height|length)\b"),
        ("date", r"\bwhen\b|\bsince when\b"),
        (
            "date",
            r"\b(?:what|which|in what|on what|on which|in which) (?:year|date|day|month|time|"
            r"decade|day of the week)\b",
        ),
        ("reason", r"\bwhy\b|\bwhat (?:is|was|were|are) the (?:reason|motive|cause|purpose)\b"),
        ("reason", r"\b(?:reason|motive|cause) (?:for|of|behind)\b"),
        ("place", r"\bwhere\b"),
        ("place", _WHICH + rf"(?:{_words(_PLACE_NOUNS)})s?\b"),
        ("organisation", _WHICH + rf"(?:{_words(_ORGANISATION_NOUNS)})s?\b"),
        ("person", _WHICH + rf"(?:{_words(_PERSON_NOUNS)})s?\b"),
        ("person", r"\bwho\b|\bwhom\b|\bwhose\b|\bwhat is the name\b|\bwhat is his name\b"),
    )
)


@dataclass(frozen=True)
class Asked:
    """What a question asks for."""

    question: str
    kind: str | None
    focus: tuple[str, ...]  # tokens (rag.index.bm25.tokenize) of the thing asked for
    names: tuple[str, ...]  # names the question mentions, as written

    @property
    def focus_text(self) -> str:
        """The focus as a short phrase to embed (the question itself when it has none)."""
        words = [w for w in re.findall(r"[\w’'-]+", self.question) if tokenize(w)]
        kept = [w for w in words if tokenize(w)[0] in self.focus and not _in_names(w, self.names)]
        return " ".join(kept) or self.question


def _in_names(word: str, names: tuple[str, ...]) -> bool:
    return any(word in name.split() for name in names)


# Words that shape a question but say nothing about its subject (rag.answer.coverage leaves them
# out).
_QUESTION = """what which who whom whose when where why how many much name names kind type
    happen happened happens according article tell told describe mention mentioned one ones
    did do does done get got give given make made thing things people person"""
QUESTION_WORDS = frozenset([*tokenize(_QUESTION), *_QUESTION.split()])
# Not the focus either: words that only size or sort what is asked ("how long", "what sort").
_SIZING = "sort piece long large big old"
SHAPE_WORDS = QUESTION_WORDS | frozenset([*tokenize(_SIZING), *_SIZING.split()])


_WHO_IS = re.compile(r"^\s*(?:who|what)\s+(?:is|was|are|were)\b", re.IGNORECASE)


def analyse(question: str) -> Asked:
    """The expected kind, focus words and names of `question`."""
    kind = None
    for candidate, pattern in _RULES:
        if pattern.search(question):
            kind = candidate
            break
    names = tuple(n for n in names_in(question[1:]) if n)  # the first word is capitalised anyway
    name_tokens = {t for n in names for t in tokenize(n)}
    if kind == "person" and _WHO_IS.match(question) and set(tokenize(question)) <= name_tokens:
        kind = None  # "Who is Hadi Jalo Marie?" asks for a description, not a name
    focus = tuple(
        t
        for t in dict.fromkeys(tokenize(question))
        if t not in SHAPE_WORDS and t not in name_tokens
    )
    return Asked(question, kind, focus, names)


def says_more(span: str, asked: Asked) -> bool:
    """Whether `span` holds a word the question does not ("Iraq's" adds nothing to a question
    about Iraq)."""
    question = set(tokenize(asked.question))
    return any(t not in question for t in tokenize(span))


def asked_for(asked: Asked) -> tuple[str, bool]:
    """The thing asked for, in the question's words, for saying what the article lacks: a noun
    phrase ("US soldiers killed", "the population of Iraq", True) when the question has a
    plain shape, else the question itself from its wh-word on ("which coalition put …", False)."""
    text = asked.question.strip().rstrip("?. ")
    for pattern in _ASKED_FOR:
        match = pattern.search(text)
        if match:
            return " ".join(g for g in match.groups() if g), True
    start = _WH.search(text)
    rest = text[start.start() :] if start else text
    return rest[0].lower() + rest[1:], False


_AUX = r"(?:is|are|was|were|did|do|does|has|have|had|will|would|can|could)"
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
_ASKED_FOR = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bhow (?:many|much)\s+(.+?)\s+(?:is|are|was|were|have|has|had)\s+(?:been\s+)?(\w+ed)\b",
        rf"\bhow (?:many|much)\s+(.+?)\s+{_AUX}\b",
        r"^(?:what|which|who)\s+(?:is|are|was|were)\s+(the [^,;]+|[\w’'-]+['’]s [^,;]+)$",
    )
)


def spans(text: str, kind: str | None) -> list[tuple[int, int]]:
    """Character spans of `text` holding something of `kind` (empty for None and "reason")."""
    if kind == "number":
        return number_spans(text)
    if kind == "date":
        return date_spans(text)
    if kind in ("person", "organisation", "place"):
        return name_spans(text)
    return []
