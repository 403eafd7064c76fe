"""Synthetic unanswerable questions, SQuAD 2.0's recipe by rules: an answerable train question
with a name, year or number, or a relation word swapped (or the question negated) so that the
sentence that answered it no longer does. Deterministic for a given seed.

A name is swapped for one of the `NAME_POOL` names of the same article most like it (MiniLM
cosine through the product's query encoder: a person gets a person) that neither the answer
paragraph nor the question mentions. The former answer spans become hard negatives.
Some swaps stay answerable ("Beyoncé" → "Knowles"): label noise, accepted.
Not here: retrieval and labels (data) or the model (train).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np

from rag.answer.reader_training.data import Case
from rag.text.names import names_in

_ANTONYMS = {
    "first": "last",
    "last": "first",
    "before": "after",
    "after": "before",
    "largest": "smallest",
    "smallest": "largest",
    "biggest": "smallest",
    "most": "least",
    "least": "most",
    "highest": "lowest",
    "lowest": "highest",
    "earliest": "latest",
    "latest": "earliest",
    "increase": "decrease",
    "decrease": "increase",
    "increased": "decreased",
    "decreased": "increased",
    "won": "lost",
    "lost": "won",
    "win": "lose",
    "began": "ended",
    "ended": "began",
    "start": "end",
    "started": "ended",
    "north": "south",
    "south": "north",
    "east": "west",
    "west": "east",
    "northern": "southern",
    "southern": "northern",
    "eastern": "western",
    "western": "eastern",
    "older": "younger",
    "younger": "older",
    "oldest": "youngest",
    "youngest": "oldest",
    "maximum": "minimum",
    "minimum": "maximum",
    "best": "worst",
    "worst": "best",
    "positive": "negative",
    "negative": "positive",
    "higher": "lower",
    "lower": "higher",
    "male": "female",
    "female": "male",
    "beginning": "end",
    "accepted": "rejected",
    "rejected": "accepted",
    "supported": "opposed",
    "opposed": "supported",
    "allowed": "banned",
    "banned": "allowed",
    "successful": "unsuccessful",
    "longest": "shortest",
    "shortest": "longest",
    "inside": "outside",
    "outside": "inside",
    "above": "below",
    "below": "above",
    "upper": "lower",
    "previous": "next",
    "next": "previous",
    "bought": "sold",
    "sold": "bought",
    "public": "private",
    "private": "public",
    "modern": "ancient",
    "ancient": "modern",
}
# "Which company was founded …" -> "Which company was not founded …": the wh-phrase is the
# subject and a participle follows the auxiliary directly, so the negation stays grammatical.
_NEGATABLE = re.compile(
    r"^((?:which|what|who)\b(?:\s+[\w'’-]+){0,4}?\s+(?:was|were|is|are|has|have|had))\s+"
    r"(\w+(?:ed|en))\b",
    re.IGNORECASE,
)
_MONTH_OR_DAY = re.compile(
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
)
NAME_POOL = 5  # a swapped-in name is one of the five most similar that qualify
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w,.]\d)")


def synthetic_unanswerable(
    question: str,
    answer_paragraph: str,
    similar_names: Callable[[str], Sequence[str]],
    rng: random.Random,
) -> tuple[str, str] | None:
    """A question like `question` that its answer paragraph no longer answers, and how it
    was made ("name", "year", "number", "antonym", "negation"); None when no rule applies.

    A name is swapped for one of the article's names most like it (`similar_names(name)`: the
    article's names, most similar first — by MiniLM cosine, so a person gets a person) that the
    answer paragraph and the question do not mention; a year or number is moved to a value the
    paragraph does not hold; a relation word is swapped for its antonym; or the question is
    negated."""
    paragraph_lower = answer_paragraph.lower()
    options: list[tuple[str, str]] = []

    names = [n for n in names_in(question[1:]) if len(n) > 2]
    for name in names:
        question_tokens = _folded_tokens(question)
        pool = [
            n
            for n in similar_names(name)
            if n.lower() not in paragraph_lower
            and not (_folded_tokens(n) & question_tokens)
            and bool(_MONTH_OR_DAY.fullmatch(n)) == bool(_MONTH_OR_DAY.fullmatch(name))
        ][:NAME_POOL]
        if pool:
            options.append(("name", question.replace(name, rng.choice(pool), 1)))

    for match in _YEAR.finditer(question):
        year = int(match.group())
        shifts = [d for d in range(-12, 13) if d and str(year + d) not in answer_paragraph]
        if shifts:
            new = str(year + rng.choice(shifts))
            options.append(("year", question[: match.start()] + new + question[match.end() :]))
    for match in _NUMBER.finditer(question):
        raw = match.group()
        if _YEAR.fullmatch(raw):
            continue
        value = float(raw.replace(",", ""))
        candidates = [value * f for f in (2, 3, 0.5, 10)] + [value + d for d in (1, 2, 5, -1)]
        texts = [
            f"{int(v):,}" if "," in raw else (str(int(v)) if v == int(v) else f"{v:g}")
            for v in candidates
            if v > 0
        ]
        texts = [t for t in texts if t != raw and t not in answer_paragraph]
        if texts:
            new = rng.choice(texts)
            options.append(("number", question[: match.start()] + new + question[match.end() :]))

    tokens = re.findall(r"[A-Za-z]+", question)
    for token in tokens:
        swap = _ANTONYMS.get(token.lower())
        if swap and swap not in paragraph_lower.split():
            replaced = re.sub(rf"\b{re.escape(token)}\b", swap, question, count=1)
            options.append(("antonym", replaced))
            break

    negatable = _NEGATABLE.match(question)
    if negatable and not options:
        negated = f"{negatable.group(1)} not {negatable.group(2)}{question[negatable.end() :]}"
        options.append(("negation", negated))
    if not options:
        return None
    kind, new_question = rng.choice(options)
    if new_question == question:
        return None
    return new_question, kind


def _folded_tokens(text: str) -> set[str]:
    """Lower-case words without accents or a possessive ("Beyoncé's" -> "beyonce")."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return {re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w'’]+", folded)} - {""}


def make_synthetic(
    cases: Sequence[Case],
    contexts: Sequence[str],
    similar_names: Callable[[str], Sequence[str]],
    share: float,
    rng: random.Random,
) -> list[Case]:
    """Synthetic unanswerable questions from a `share` of the answerable `cases` of one article
    (`contexts`: its paragraphs); `similar_names(name)` ranks the article's names by likeness."""
    out: list[Case] = []
    for case in cases:
        if not case.answers or rng.random() >= share:
            continue
        paragraph = contexts[case.answers[0][0]]
        made = synthetic_unanswerable(case.question, paragraph, similar_names, rng)
        if made is not None:
            question, kind = made
            out.append(Case(f"{case.qid}-syn", question, [], list(case.answers), kind))
    return out


def article_names(contexts: Sequence[str]) -> list[str]:
    """The names of an article's paragraphs (each sentence's first word left out)."""
    seen: dict[str, None] = {}
    for text in contexts:
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            for name in names_in(sentence[1:]):
                if len(name) > 2:
                    seen[name] = None
    return list(seen)


class SimilarNames:
    """An article's names ranked by cosine with a given name, most similar first; `embed` is a
    batch encoder returning unit vectors (the product's query encoder)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], names: list[str]) -> None:
        self.embed = embed
        self.names = names
        self.vectors = np.asarray(embed(names)) if names else None

    def __call__(self, name: str) -> list[str]:
        if self.vectors is None:
            return []
        scores = self.vectors @ np.asarray(self.embed([name]))[0]
        return [self.names[i] for i in np.argsort(-scores, kind="stable").tolist()]
