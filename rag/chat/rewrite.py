"""Chat: turn a follow-up question into one that stands on its own.

"When did he take office?" after "Who is Iraq's prime minister?" → "When did Mohammed Shia Al
Sudani take office?". Without a language model this is done by rules: a pronoun or a "that
group"-style phrase is replaced by the entity of the previous turn it most plausibly points to
(people for he/she, organisations and groups for they/it/that group); when no entity fits, the
previous question is appended as context. A generative model, when configured, rewrites instead
(see `rag.answer.generative`). The entities are found by rag.text.names. Only the last
RESOLVED_TURNS turns are read, so a long chat costs no more per turn than a short one. Not
handled: references further back than the previous turn's entities, or ellipsis without any
pronoun ("And the year?") beyond appending context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.results import MARKER
from rag.text.names import ORGANISATION, PLACE, entities, is_person

Turn = tuple[str, str]  # (question, answer text)

PERSON_PRONOUNS = r"he|she|him|his|her"
THING_PRONOUNS = r"they|them|their|it|its"
DEMONSTRATIVE = (
    r"(?:that|this|these|those) (?:group|groups|organisation|organization|party|"
    r"alliance|coalition|man|woman|person|official|base|city|country|militia|militias)"
)
_REFERENCE = re.compile(
    rf"\b(?:{DEMONSTRATIVE}|{PERSON_PRONOUNS}|{THING_PRONOUNS})\b", re.IGNORECASE
)
# "it" in "is it true", "it is likely" is not a reference.
_DUMMY_IT = re.compile(
    r"\bit\s+(?:(?:is|was)\s+)?(?:true|possible|likely|clear|known|said|reported)\b",
    re.IGNORECASE,
)
_PLURAL_SUBJECT = re.compile(r"\b(?:the|these|those)\s+\w+s\b", re.IGNORECASE)
MAX_CONTEXT_CHARS = 160
RESOLVED_TURNS = 8  # earlier turns read: a chain of pronouns longer than this starts afresh
_BORROWED = re.compile(r"^.*? \((.*)\)$")
_ELLIPTICAL = re.compile(r"^\s*(what|how) about\b", re.IGNORECASE)
_CITATION = re.compile(rf"\s*{MARKER.pattern}")


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


def _pick(
    reference: str, answer: list[tuple[str, bool]], asked: list[tuple[str, bool]]
) -> str | None:
    """The entity a reference points to: people from the question first, things from the answer."""
    ref = reference.lower()
    if ref in {"he", "she", "him", "his", "her"} or ref.endswith(
        ("man", "woman", "person", "official")
    ):
        return next((span for span, titled in asked + answer if is_person(span, titled)), None)
    things = [
        span
        for span, titled in answer + asked
        if not is_person(span, titled) and not PLACE.fullmatch(span)
    ]
    organisations = [span for span in things if ORGANISATION.search(span)]
    return next(iter(organisations or things), None)


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question rewritten to stand alone, given earlier (question, answer) turns.

    Earlier turns are resolved first (the last RESOLVED_TURNS of them), so a chain of pronouns
    still reaches its entity.
    """
    question = question.strip()
    history = history[-RESOLVED_TURNS:]
    if not history:
        return question
    resolved_history = [history[0][0]]
    for i in range(1, len(history)):
        resolved_history.append(_resolve(history[i][0], resolved_history[-1], history[i - 1][1]))
    return _resolve(question, resolved_history[-1], history[-1][1])


def _names_its_own_subject(question: str, reference: re.Match[str]) -> bool:
    """Whether the pronoun can point inside the question: "Who is X and what did he say?",
    "Why do the militias say they attack?". Such a question is left as asked."""
    before = question[: reference.start()]
    own = entities(before)
    if reference.group().lower() in {"he", "she", "him", "his", "her"}:
        return any(is_person(span, titled) for span, titled in own)
    return bool(own) or bool(_PLURAL_SUBJECT.search(before))


def _resolve(question: str, previous_question: str, previous_answer: str) -> str:
    question = question.strip()
    stripped = re.sub(r"^(and|so|but|also)\b[,\s]*", "", question, flags=re.IGNORECASE)
    stripped = stripped[:1].upper() + stripped[1:]
    context = strip_citations(previous_question)
    borrowed = _BORROWED.match(context)
    if borrowed:  # the previous question was elliptical: share its subject, don't nest
        context = borrowed.group(1)
    if len(context) > MAX_CONTEXT_CHARS:
        context = context[:MAX_CONTEXT_CHARS].rsplit(" ", 1)[0] + "…"
    dummies = [m.span() for m in _DUMMY_IT.finditer(stripped)]
    match = next(
        (
            m
            for m in _REFERENCE.finditer(stripped)
            if not any(a <= m.start() < b for a, b in dummies)
        ),
        None,
    )
    if match is not None and _names_its_own_subject(stripped, match):
        return question
    if match is None:
        # Only an elliptical follow-up ("And the year?", "What about Erbil?") borrows the
        # previous question; a question that names its own subject stands as asked.
        words = question.split()
        short_and_unnamed = len(words) <= 3 and not any(w[:1].isupper() for w in words[1:])
        if stripped != question or _ELLIPTICAL.match(question) or short_and_unnamed:
            return f"{stripped} ({context})"
        return question
    referent = _pick(match.group(), entities(strip_citations(previous_answer)), entities(context))
    if referent is None:
        return f"{stripped} ({context})"
    possessive = match.group().lower() in {"his", "her", "their", "its"}
    replacement = f"{referent}’s" if possessive else referent
    start, end = match.span()
    rewritten = stripped[:start] + replacement + stripped[end:]
    return rewritten[:1].upper() + rewritten[1:]
