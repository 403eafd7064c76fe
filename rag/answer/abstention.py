"""The abstention: "The article does not say." and, when something close was found, what is missing.

`abstention(asked, closest, index, unknown)` words the answer given when no sentence answers.
Names of the question that appear nowhere in the indexed documents (`unknown_names`: a wrong
premise, or a fact from outside the article) are reported as not mentioned. Otherwise the answer
names what the closest paragraph does mention and the kind of thing it lacks ("It mentions drones
but gives no figure for drones fired."). That paragraph is returned as `closest`, a pointer for
the reader, never a citation. Not done: explaining why the article lacks it.
"""

from __future__ import annotations

import re

from rag.answer.logistic_reader import Candidate
from rag.answer.question import Asked, asked_for
from rag.index.store import Index
from rag.results import ABSTENTION, Citation
from rag.text.tokens import tokenize

_LACKS = {
    "number": "gives no figure for {}",
    "person": "does not name {}",
    "organisation": "does not name {}",
}


_DEMONYM = re.compile(r"(?:an|ese|ish|ch|i)$")


def unknown_names(asked: Asked, index: Index) -> list[str]:
    """The names of the question that no indexed document mentions ("Asian", "French" and
    other words for peoples are left out: an article says "South Korea's" instead)."""
    return [
        name
        for name in asked.names
        if not _DEMONYM.search(name) and not _mentioned_anywhere(name, index)
    ]


def abstention(
    asked: Asked, closest: Candidate | None, index: Index, unknown: list[str]
) -> tuple[str, Citation | None]:
    """The abstention text and the closest paragraph (None when nothing came close); `unknown`
    is `unknown_names(asked, index)`, which the caller has already."""
    if unknown:
        return f"{ABSTENTION} It does not mention {_join(unknown)}.", None
    if closest is None:
        return ABSTENTION, None
    paragraph = index.paragraph(closest.doc, closest.paragraph)
    present = set(tokenize(paragraph.text))
    words = re.findall(r"[\w’'-]+", asked.question)
    mentioned = [n for n in asked.names if all(t in present for t in tokenize(n))]
    named = {w for n in asked.names for w in n.split()}
    run: list[str] = []  # consecutive focus words the paragraph has: "prime minister"
    for word in [*words, ""]:
        tokens = tokenize(word)
        if word not in named and tokens and tokens[0] in asked.focus and tokens[0] in present:
            run.append(word)
        elif run:
            mentioned.append(" ".join(run))
            run = []
    citation = index.cite(closest.doc, closest.paragraph, closest.start, closest.end, closest.score)
    if not mentioned:
        return ABSTENTION, citation
    lacking, plain = asked_for(asked)
    template = _LACKS.get(asked.kind or "", "does not say {}") if plain else "does not say {}"
    lacks = template.format(lacking)
    said = f"{ABSTENTION} It mentions {_join(list(dict.fromkeys(mentioned)))} but {lacks}."
    return said, citation


def _mentioned_anywhere(name: str, index: Index) -> bool:
    tokens = tokenize(name)
    return not tokens or all(index.lexical.document_frequency(t) > 0 for t in tokens)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
