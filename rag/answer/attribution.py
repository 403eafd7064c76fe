"""Attribution: we find the evidence for every generated sentence and cite it ourselves.

A generated answer is split into sentences (rag.documents.parse.split_sentences, after moving a
citation written after the full stop, "…Framework. [¶13]", in front of it). Markers the model
wrote — `[¶N]`, `[doc ¶N]`, or a prompt label such as `[A]` — are removed from the text: the
model does not have to cite, and a marker it writes is never trusted. Each sentence (a claim) is
then scored against every sentence of every paragraph shown to the model:

* `support(claim, paragraph)` is the best, over the paragraph's sentences, of `W_DENSE` × the
  embedding cosine (the claim embedded with the query embedder, the paragraph's sentences from
  the index's stored vectors) plus `W_LEXICAL` × the IDF-weighted share of the claim's content
  words found in that sentence (or `PARAGRAPH_SHARE` × the share in the whole paragraph, if
  higher). Words the claim repeats from the question are left out of that share when the claim
  adds others: a claim is judged by what it adds to the question.
* The claim's numbers and names (runs of capitalised words) that the question does not already
  hold must appear in the paragraph; a paragraph lacking one cannot support the claim at all.

The claim is attributed to its best-supporting paragraph when that reaches the threshold
(the model's own, tuned on the gold set's `dev` half: rag.llm.catalogue), and cited with the
best-supporting sentence as its verbatim quote; otherwise it is dropped, with the closest
paragraph and what it lacked as the reason. A wrong `[¶N]` from the model therefore becomes the
right citation or a dropped claim. The exact abstention sentence on its own makes an abstained
answer with no citations. Every removal is recorded as a `Dropped` (the sentence and why).

Pure logic: no language model is involved, so it is tested with chosen answers. Not done:
checking that a claim follows logically from its quote (swapped roles or a wrong relation between
correct words can pass, and the negation test is by cue words only), or support spread across
several paragraphs for one sentence.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.answer.coverage import Coverage
from rag.answer.question import QUESTION_WORDS
from rag.documents.passages import WHOLE_PARAGRAPH, evidence_text, labelled
from rag.embedding.model import Embedder
from rag.index.store import Index
from rag.results import ABSTENTION, Citation, Dropped, paragraph_name
from rag.retrieval.retriever import Retrieval
from rag.text.injection import steering
from rag.text.names import finds, name_runs
from rag.text.numbers import figures, number_key
from rag.text.sentences import split_sentences
from rag.text.tokens import tokenize

W_DENSE, W_LEXICAL = 0.5, 0.5
PARAGRAPH_SHARE = 0.8  # weight of word overlap with the whole paragraph rather than one sentence
MIN_CLAUSE_WORDS = 4  # shorter answers (a name, a number) have no polarity to check

# A marker a model may write: a citation ([¶13], [doc ¶13], or a malformed one such as [¶ 13] or
# [¶13, 14]) or a prompt label ([A], [B2]). Looser than rag.results.MARKER, which matches only
# the markers rag writes itself.
_ONE_MARKER = r"\[(?:[^\[\]]{0,200}?¶[^\[\]]{0,40}?|[A-Z]\d?)\]"
_MARKER = re.compile(_ONE_MARKER)
# "…Framework. [¶13] Next" -> "…Framework [¶13]. Next": a citation belongs to its sentence.
_MARKER_AFTER_STOP = re.compile(rf"([.!?…]+[\"”’)]*)[ \t]*({_ONE_MARKER}(?:[ \t]*{_ONE_MARKER})*)")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|nobody|nothing|unlikely|cannot)\b")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass(frozen=True)
class KeptSentence:
    """A generated sentence that survived the check, with the citations that support it."""

    text: str  # without markers
    citations: list[Citation]


@dataclass
class CheckedAnswer:
    kept: list[KeptSentence]
    dropped: list[Dropped]
    abstained: bool  # the model answered with the abstention sentence (and nothing kept)
    scores: list[dict[str, Any]] = field(default_factory=list)  # every citation scored

    def text(self, multi_doc: bool) -> str:
        if self.abstained:
            return ABSTENTION
        return " ".join(
            " ".join([s.text, *(c.marker(multi_doc) for c in s.citations)]) for s in self.kept
        )

    @property
    def citations(self) -> list[Citation]:
        """One citation per paragraph (its best-supported quote), in order of first mention."""
        best: dict[tuple[str, int], Citation] = {}
        for sentence in self.kept:
            for citation in sentence.citations:
                key = (citation.doc, citation.paragraph)
                if key not in best or citation.score > best[key].score:
                    best[key] = citation
        return list(best.values())


@dataclass(frozen=True)
class Support:
    score: float
    quote: int  # index of the best-supporting sentence of the paragraph
    dense: float
    lexical: float
    missing_numbers: tuple[str, ...]
    missing_names: tuple[str, ...]
    negation_differs: bool = False  # one of claim and quote is negated, the other not
    instructions_only: bool = False  # every sentence of the paragraph addresses the system

    @property
    def eligible(self) -> bool:
        """The paragraph holds every number and name the claim adds to the question, and its
        best sentence does not say the opposite (by the negation cue words)."""
        return not (
            self.missing_numbers
            or self.missing_names
            or self.negation_differs
            or self.instructions_only
        )


class CitationChecker:
    """Checks generated answers against one index; keep one per index (it maps units once)."""

    def __init__(self, index: Index, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.coverage = Coverage(index)
        # (doc, paragraph) -> unit id of each sentence (position = sentence index)
        self._units: dict[tuple[str, int], dict[int, int]] = defaultdict(dict)
        for unit_id, unit in enumerate(index.units):
            self._units[unit.key][unit.sentence] = unit_id

    # -- support

    def sentence_vectors(self, doc: str, number: int) -> np.ndarray:
        """Stored vectors of a paragraph's sentences (its own vector if it has one sentence)."""
        paragraph = self.index.paragraph(doc, number)
        units = self._units.get((doc, number), {})
        n = max(1, len(paragraph.sentences))
        if n == 1 and WHOLE_PARAGRAPH in units:
            return self.index.vectors([units[WHOLE_PARAGRAPH]])
        if all(i in units for i in range(n)):
            return self.index.vectors([units[i] for i in range(n)])
        texts = [labelled(paragraph, s.text) for s in paragraph.sentences] or [paragraph.text]
        return np.asarray(self.embedder.embed_batch(texts), dtype=np.float32)

    def support(
        self, claim: str, vector: np.ndarray, doc: str, number: int, question: str = ""
    ) -> Support:
        """How well one paragraph supports a claim (see the module docstring)."""
        paragraph = self.index.paragraph(doc, number)
        evidence = evidence_text(paragraph)  # an instruction planted in it is not evidence
        searchable = labelled(paragraph, evidence)
        dense = self.sentence_vectors(doc, number) @ np.asarray(vector, dtype=np.float32)
        asked = set(tokenize(question))
        added = " ".join(t for t in tokenize(claim) if t not in asked)
        scored = added if self.coverage.content_words(added) else claim
        whole = self.coverage.share(scored, searchable)
        numbers = {number_key(m) for m in figures(evidence)}
        given = {number_key(m) for m in figures(question)}
        missing = tuple(
            dict.fromkeys(
                m
                for m in figures(claim)
                if number_key(m) not in numbers and number_key(m) not in given
            )
        )
        pool = {t for _, run in names(searchable, False) for t in run}
        pool |= {t for _, run in names(question, False) for t in run}
        absent = tuple(name for name, run in names(claim) if not _mentions(run, pool))
        sentences = paragraph.sentences or split_sentences(paragraph.text)
        planted = steering([s.text for s in sentences])
        best: Support | None = None
        for i, sentence in enumerate(sentences):
            if planted[i]:
                continue  # an instruction to the reader is never evidence (rag.text.injection)
            share = self.coverage.share(scored, labelled(paragraph, sentence.text))
            lexical = max(share, PARAGRAPH_SHARE * whole)
            cosine = float(dense[min(i, len(dense) - 1)])
            score = W_DENSE * cosine + W_LEXICAL * lexical
            if best is None or score > best.score:
                best = Support(score, i, cosine, lexical, missing, absent)
        if best is None:
            return Support(0.0, 0, 0.0, 0.0, missing, absent, instructions_only=True)
        asserts = len(claim.split()) >= MIN_CLAUSE_WORDS  # "Baghdad." asserts no relation
        if asserts and negated(claim) != negated(sentences[best.quote].text):
            best = dataclasses.replace(best, negation_differs=True)
        return best

    # -- the check

    def check(
        self, answer_text: str, retrieval: Retrieval, threshold: float, question: str = ""
    ) -> CheckedAnswer:
        """Attribute each sentence of `answer_text` to the retrieved paragraphs (module doc)."""
        candidates = list(dict.fromkeys((hit.doc, hit.paragraph) for hit in retrieval.hits))
        multi = self.index.multi_doc
        parsed = [(raw, claim) for raw, claim, markers in split_claims(answer_text) if claim]
        claims = [claim for _, claim in parsed if not _is_abstention(claim)]
        vectors = self.embedder.embed_batch(claims) if claims else np.zeros((0, 1))
        vector_of = dict(zip(claims, vectors, strict=True))

        kept: list[KeptSentence] = []
        dropped: list[Dropped] = []
        scores: list[dict[str, Any]] = []
        abstentions: list[str] = []
        for raw, claim in parsed:
            if _is_abstention(claim):
                abstentions.append(raw)
                continue
            found = [
                (doc, number, self.support(claim, vector_of[claim], doc, number, question))
                for doc, number in candidates
            ]
            for doc, number, support in found:
                scores.append(
                    {
                        "sentence": claim,
                        "doc": doc,
                        "paragraph": number,
                        "score": round(support.score, 4),
                        "dense": round(support.dense, 4),
                        "lexical": round(support.lexical, 4),
                        "eligible": support.eligible,
                    }
                )
            eligible = [f for f in found if f[2].eligible]
            best = max(eligible, key=lambda f: f[2].score, default=None)
            if best is not None and best[2].score >= threshold:
                kept.append(KeptSentence(claim, [self._citation(*best)]))
                continue
            if not found:
                reason = "no paragraphs were retrieved"
            else:
                doc, number, closest = best or max(found, key=lambda f: f[2].score)
                name = paragraph_name(doc, number, multi)
                reason = f"not supported by the article (closest {name}, score {closest.score:.2f}"
                reason += f"{_missing(closest)})"
            dropped.append(Dropped(raw, reason))
        abstained = bool(abstentions) and not kept
        if kept:
            dropped.extend(Dropped(raw, "abstention alongside an answer") for raw in abstentions)
        return CheckedAnswer(kept, dropped, abstained, scores)

    def _citation(self, doc: str, number: int, found: Support) -> Citation:
        paragraph = self.index.paragraph(doc, number)
        sentences = paragraph.sentences or split_sentences(paragraph.text)
        sentence = sentences[found.quote]
        return self.index.cite(doc, number, sentence.start, sentence.end, found.score)


def check(
    answer_text: str,
    retrieval: Retrieval,
    index: Index,
    embedder: Embedder,
    threshold: float,
    question: str = "",
) -> CheckedAnswer:
    """Check a generated answer against the paragraphs of `retrieval` (see the module doc)."""
    return CitationChecker(index, embedder).check(answer_text, retrieval, threshold, question)


# --------------------------------------------------------------------------- parsing


def split_claims(text: str) -> list[tuple[str, str, list[str]]]:
    """The generated sentences as (original text, claim without markers, markers).

    A line holding only markers gives its markers to the sentence before it.
    """
    out: list[tuple[str, str, list[str]]] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        line = _MARKER_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)}", line)
        for sentence in split_sentences(line):
            raw = sentence.text
            markers = [m.group(0) for m in _MARKER.finditer(raw)]
            claim = _MARKER.sub(" ", raw)
            claim = re.sub(r"\s+([.,;:!?…])", r"\1", " ".join(claim.split())).strip()
            if not re.search(r"\w", claim):
                claim = ""
            if not claim and out:
                previous = out[-1]
                out[-1] = (f"{previous[0]} {raw}", previous[1], previous[2] + markers)
                continue
            out.append((raw, claim, markers))
    return out


def _is_abstention(claim: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("’", "'")).split())

    return bool(claim) and norm(claim) == norm(ABSTENTION)


def names(text: str, skip_first: bool = True) -> list[tuple[str, list[str]]]:
    """The names in `text` (rag.text.names.name_runs: runs of capitalised words, each as
    (words, tokens), without honorifics), leaving out runs of question words only ("What")."""
    return [
        (words, tokens)
        for words, tokens in name_runs(text, skip_first)
        if any(t not in QUESTION_WORDS for t in tokens)
    ]


def _mentions(run: list[str], pool: set[str]) -> bool:
    """Whether a paragraph (its capitalised tokens `pool`) mentions a name run."""
    informative = [t for t in run if len(t) >= 3] or run  # "Al", "bin" alone say little
    return any(finds(token, pool) for token in informative)  # Iraq / Iraqi


def negated(text: str) -> bool:
    """Whether a sentence holds a negation cue ("not", "never", "unlikely", "n't", …)."""
    lowered = text.lower().replace("’", "'")
    return "n't" in lowered or bool(_NEGATION.search(lowered))


def _missing(found: Support) -> str:
    absent = [*found.missing_numbers, *found.missing_names]
    notes = ["; " + ", ".join(absent) + " not in it"] if absent else []
    if found.negation_differs:
        notes.append("; the article's sentence says the opposite (negation)")
    if found.instructions_only:
        notes.append("; it only holds instructions to the reader, not reporting")
    return "".join(notes)
