"""Names in English text: capitalised spans, the titles in front of them, and matching them.

- `names_in(text)`, `name_spans(text)`: stretches of capitalised words, joined by "of", "al",
  "bin" and the like ("Ain Al Asad", "Co-ordination Framework"), without the capitalised words
  that are never names at their start (`NOT_NAMES`: stop words, sentence openers such as
  "However", and titles);
- `entities(text)`: the same spans as the follow-up rewriter (rag.chat.rewrite) reads them, with
  whether a title precedes each; `is_person`, `name_part`, `ORGANISATION` and `PLACE` sort them,
  and `is_adjective` leaves out "Iran-backed";
- `name_runs(text)`: plain runs of capitalised words with their tokens, for checking that a claim's
  names appear in its evidence (rag.answer.attribution);
- `TITLES`: the titles a name follows ("Mr", "Prime Minister", "Governor");
- `finds(token, words)`: "Iraq" finds "Iraqi" and "American" finds "America" (one word begins
  the other, four letters at least).

English only, by capital letters: names written in lower case or in scripts without capitals are
not found, and a capitalised word that opens a sentence is taken for a name unless it is listed.
Not done: telling people from places and organisations beyond the cue words below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.text.numbers import MONTHS, WEEKDAYS, is_month_or_weekday
from rag.text.tokens import STOPWORDS, tokenize

HONORIFICS = frozenset({"mr", "mrs", "ms", "dr"})
OFFICES = frozenset(
    {
        "governor",
        "minister",
        "president",
        "prime",
        "spokesman",
        "spokeswoman",
        "chairman",
        "director",
        "general",
        "chief",
        "ambassador",
        "commander",
        "mayor",
        "secretary",
    }
)
TITLES = HONORIFICS | OFFICES  # lower case; "Prime Minister" is two of them
# Capitalised words that open sentences or quotes without being names.
_OPENERS = frozenset(
    {
        "according",
        "although",
        "despite",
        "however",
        "last",
        "next",
        "since",
        "today",
        "powered",
        "updated",
        "yes",
    }
)
NOT_NAMES = STOPWORDS | _OPENERS | TITLES  # lower case
# The rewriter's entities leave out months and weekdays too ("that group" is never "October");
# `names_in` keeps them, since a question's "October 7" is what it is about.
_NOT_ENTITIES = NOT_NAMES | {word.lower() for word in (*MONTHS, *WEEKDAYS)}

_NAME_WORD = r"[A-Z][\w’'-]*"
_NAME_LINK = r"(?:\s+(?:of|for|and|the|al|Al|bin|de|du|van|von)\s+|\s+)"
_NAME_SPAN = re.compile(rf"\b{_NAME_WORD}(?:{_NAME_LINK}{_NAME_WORD})*")
# The rewriter's spans differ in one thing: a stop may follow their first word, so "Mr. Smith"
# stays one span.
_ENTITY_SPAN = re.compile(rf"\b{_NAME_WORD}\.?(?:{_NAME_LINK}{_NAME_WORD})*")
_CAPITALISED = re.compile(rf"\b{_NAME_WORD}")

_TITLE_ALTERNATIVES = "|".join(sorted(TITLES))
_TITLE_BEFORE = re.compile(rf"\b(?:{_TITLE_ALTERNATIVES})\s+$", re.IGNORECASE)
_UP_TO_TITLE = re.compile(rf"^.*\b(?:{_TITLE_ALTERNATIVES.title()})\.?\s+")
_ADJECTIVE = re.compile(r"[A-Z][\w’']*-[a-z]+(?:ed|ing|ly)")  # "Iran-backed", "US-friendly"
ORGANISATION = re.compile(
    r"\b(Framework|Group|Party|Forces|Council|Ministry|Army|Movement|"
    r"Front|Alliance|Coalition|Brigades?|Organi[sz]ation|Union|Committee|Agency|"
    r"Government|Parliament|Institute|Association|Company|Corporation|Bank)\b"
)
# Country names: a pronoun such as "it" or "they" rarely means a whole country in a follow-up.
PLACE = re.compile(
    r"\b(US|USA|UK|EU|America|Britain|China|Russia|France|Germany|India|Japan|Iraq|Iran|"
    r"Israel|Syria|Lebanon|Turkey|Egypt|Ukraine|Pakistan|Afghanistan)\b"
)


def not_a_name(word: str) -> bool:
    """Whether a capitalised word is never a name on its own ("The", "However", "Mr")."""
    return word.lower() in NOT_NAMES


def is_adjective(word: str) -> bool:
    """Whether a capitalised word is an adjective made from a name ("Iran-aligned",
    "Tehran-allied", "US-led"), not part of the name that follows ("Co-ordination" is)."""
    return bool(_ADJECTIVE.fullmatch(word))


def names_in(text: str) -> list[str]:
    """Capitalised names in `text` ("Ain Al Asad", "Co-ordination Framework", "Reuters")."""
    return [" ".join(words) for _, _, words in _names(text)]


def name_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the names in `text`, as `names_in` finds them, leaving out those that
    start with a month or weekday ("October Ann Lee")."""
    return [(start, end) for start, end, words in _names(text) if not is_month_or_weekday(words[0])]


def _names(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(start, end, words) of each capitalised span, without the `NOT_NAMES` at its start."""
    for match in _NAME_SPAN.finditer(text):
        start, words = match.start(), match.group().split()
        while words and not_a_name(words[0]):
            start = text.index(words[1], start) if len(words) > 1 else match.end()
            words = words[1:]
        if words:
            yield start, match.end(), words


def entities(text: str) -> list[tuple[str, bool]]:
    """Capitalised spans of `text` as (span, follows a title), in order, without the words of
    `NOT_NAMES`, months and weekdays at their start (a title there counts as following one:
    "Mr Al Sudani"); a word capitalised only because it opens a sentence is left out ("Security
    forces …")."""
    found: list[tuple[str, bool]] = []
    for match in _ENTITY_SPAN.finditer(text):
        words, titled = match.group().split(), False
        while words and words[0].rstrip(".").lower() in _NOT_ENTITIES:
            titled = titled or words[0].rstrip(".").lower() in TITLES
            words = words[1:]
        span = " ".join(words).rstrip(".,;:’'")
        span = re.sub(r"[’']s$", "", span)
        before = text[: match.start()].rstrip()
        sentence_start = not before or before.endswith((".", "!", "?", ":", "“", '"'))
        if sentence_start and len(words) == 1 and text[match.end() :].strip(" .?!"):
            continue
        if not span or span.lower() in _NOT_ENTITIES or len(span) < 2 or is_adjective(span):
            continue
        titled = titled or bool(_TITLE_BEFORE.search(text[: match.start()]))
        found.append((span, titled))
    return found


def name_part(span: str) -> str:
    """A person's name without the title in front: "Iraqi Prime Minister X Y" -> "X Y"."""
    name = _UP_TO_TITLE.sub("", span)
    return name if name else span


def is_person(span: str, titled: bool) -> bool:
    """Whether a capitalised span looks like a person's name (not an organisation or place)."""
    if ORGANISATION.search(span) or PLACE.fullmatch(span):
        return False
    return titled or len(span.split()) >= 2


def name_runs(text: str, skip_first: bool = True) -> list[tuple[str, list[str]]]:
    """Runs of capitalised words separated by single spaces, each as (words, tokens), with the
    honorifics' tokens ("mr", "dr") left out.

    With `skip_first`, a sentence's first word is left out unless the next word continues the
    run ("Hamas launched" → no run; "Al Sudani said" → Al Sudani).
    """
    runs: list[tuple[list[str], list[str]]] = []
    previous_end = -2
    for match in _CAPITALISED.finditer(text):
        tokens = [t for t in tokenize(match.group()) if t not in HONORIFICS]
        joined = previous_end >= 0 and text[previous_end : match.start()] == " "
        previous_end = match.end()
        if joined and runs:
            runs[-1][0].append(match.group())
            runs[-1][1].extend(tokens)
        else:
            runs.append(([match.group()], tokens))
    if skip_first and runs and text.startswith(runs[0][0][0]) and len(runs[0][0]) == 1:
        runs = runs[1:]
    return [(" ".join(words), tokens) for words, tokens in runs]


def finds(token: str, words: set[str]) -> bool:
    """Whether `token` is among `words`, or begins or is begun by one of them, both of four
    letters at least ("iraq" finds "iraqi", "american" finds "america")."""
    if token in words:
        return True
    return len(token) >= 4 and any(
        len(word) >= 4 and (word.startswith(token) or token.startswith(word)) for word in words
    )
