"""The citation check: keep only generated sentences that their cited paragraphs support.

A generated answer is split into sentences (rag.documents.split_sentences, after moving a
citation written after the full stop, "…Framework. [¶13]", in front of it). Each sentence's
markers — `[¶N]`, `[¶N, ¶M]`, `[doc ¶N]` — are parsed:

* a marker naming a paragraph that was not retrieved (not shown to the model) is removed;
* a sentence left with no valid citation is dropped ("no citation", or the bad marker's reason);
* every valid citation is scored: `support(sentence, paragraph)` is the best, over the
  paragraph's sentences, of `W_DENSE` × the embedding cosine (the claim embedded with the query
  embedder, the paragraph's sentences from the index's stored vectors) plus `W_LEXICAL` × the
  IDF-weighted share of the claim's content words found in that sentence (or 0.8 × the share
  in the whole paragraph, if higher; see rag.extractive.Coverage), less `NUMBER_PENALTY` when the
  claim holds a number the paragraph does not, and less `ENTITY_PENALTY` times the share of the
  claim's names (runs of capitalised words) the paragraph does not mention. A citation reaching
  the threshold (`Settings.support_threshold`, chosen on the gold set by
  scripts/calibrate_support.py) is kept with the best-supporting sentence as its verbatim quote;
  the others are removed. A sentence with no supporting citation is dropped.

The exact abstention sentence on its own makes an abstained answer with no citations. Every
removal is recorded as a dict (`sentence`, `reason`, `removed`: "sentence" or "citation", and
`marker` for a citation) for the JSON output.

Pure logic: no language model is involved, so it is tested with chosen answers. Not done:
checking that a claim follows logically from the quote (negation and wrong relations between
correct words can pass), or support spread across several paragraphs for one sentence.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.documents import split_sentences
from rag.embedding import Embedder
from rag.extractive import QUESTION_WORDS, Coverage
from rag.index import Index
from rag.lexical import tokenize
from rag.passages import WHOLE_PARAGRAPH, labelled
from rag.results import ABSTENTION, Citation, marker, paragraph_name
from rag.retrieval import Retrieval

W_DENSE, W_LEXICAL = 0.5, 0.5
PARAGRAPH_SHARE = 0.8  # weight of word overlap with the whole paragraph rather than one sentence
NUMBER_PENALTY = 0.5  # a number the cited paragraph does not contain
ENTITY_PENALTY = 0.5  # times the share of the claim's names the cited paragraph does not contain
_TITLES = frozenset({"mr", "mrs", "ms", "dr"})

_MARKER = re.compile(r"\[([^\[\]]{0,200}?¶[^\[\]]{0,40}?)\]")
_REF = re.compile(r"^\s*(?:(?P<doc>\S(?:.*\S)?)\s+)?¶\s*(?P<n>\d{1,6})\s*$")
# "…Framework. [¶13] Next" -> "…Framework [¶13]. Next": a citation belongs to its sentence.
_ONE_MARKER = r"\[[^\[\]]{0,200}?¶[^\[\]]{0,40}?\]"
_MARKER_AFTER_STOP = re.compile(rf"([.!?…]+[\"”’)]*)[ \t]*({_ONE_MARKER}(?:[ \t]*{_ONE_MARKER})*)")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass(frozen=True)
class KeptSentence:
    """A generated sentence that survived the check, with the citations that support it."""

    text: str  # without markers
    citations: list[Citation]


@dataclass
class CheckedAnswer:
    kept: list[KeptSentence]
    dropped: list[dict[str, Any]]
    removed_markers: list[str]
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


def _number_key(text: str) -> str:
    return text.replace(",", "").rstrip(".")


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

    def support(self, claim: str, vector: np.ndarray, doc: str, number: int) -> Support:
        """How well one paragraph supports a claim (see the module docstring)."""
        paragraph = self.index.paragraph(doc, number)
        dense = self.sentence_vectors(doc, number) @ np.asarray(vector, dtype=np.float32)
        whole = self.coverage.share(claim, labelled(paragraph, paragraph.text))
        numbers = {_number_key(m) for m in _NUMBER.findall(paragraph.text)}
        missing = tuple(
            dict.fromkeys(m for m in _NUMBER.findall(claim) if _number_key(m) not in numbers)
        )
        runs = names(claim)
        pool = {t for _, run in names(labelled(paragraph, paragraph.text), False) for t in run}
        absent = tuple(name for name, run in runs if not _mentions(run, pool))
        penalty = (NUMBER_PENALTY if missing else 0.0) + (
            ENTITY_PENALTY * len(absent) / len(runs) if runs else 0.0
        )
        sentences = paragraph.sentences or split_sentences(paragraph.text)
        best: Support | None = None
        for i, sentence in enumerate(sentences):
            share = self.coverage.share(claim, labelled(paragraph, sentence.text))
            lexical = max(share, PARAGRAPH_SHARE * whole)
            cosine = float(dense[min(i, len(dense) - 1)])
            score = W_DENSE * cosine + W_LEXICAL * lexical - penalty
            if best is None or score > best.score:
                best = Support(score, i, cosine, lexical, missing, absent)
        assert best is not None
        return best

    # -- the check

    def check(self, answer_text: str, retrieval: Retrieval, threshold: float) -> CheckedAnswer:
        allowed = [(hit.doc, hit.paragraph) for hit in retrieval.hits]
        multi = self.index.multi_doc
        parsed = [
            (raw, claim, markers)
            for raw, claim, markers in split_claims(answer_text)
            if claim or markers
        ]
        claims = [claim for _, claim, markers in parsed if claim and not _is_abstention(claim)]
        vectors = self.embedder.embed_batch(claims) if claims else np.zeros((0, 1))
        vector_of = dict(zip(claims, vectors, strict=True))

        kept: list[KeptSentence] = []
        dropped: list[dict[str, Any]] = []
        removed: list[str] = []
        scores: list[dict[str, Any]] = []
        said_abstention = False
        abstentions: list[str] = []
        for raw, claim, markers in parsed:
            if _is_abstention(claim):
                said_abstention = True
                abstentions.append(raw)
                continue
            refs: list[tuple[str, int]] = []
            bad: list[tuple[str, str]] = []  # (marker, reason)
            for written in markers:
                for ref, reason in parse_marker(written, allowed, multi):
                    if ref is None:
                        bad.append((written, reason))
                    elif ref not in refs:
                        refs.append(ref)
            removed.extend(written for written, _ in bad)
            if not refs:
                reason = "no citation" if not bad else bad[0][1]
                dropped.append({"sentence": raw, "reason": reason, "removed": "sentence"})
                continue
            for written, reason in bad:
                dropped.append(
                    {"sentence": raw, "marker": written, "reason": reason, "removed": "citation"}
                )
            supported: list[Citation] = []
            failed: list[tuple[str, int, Support]] = []
            for doc, number in refs:
                found = self.support(claim, vector_of[claim], doc, number)
                scores.append(
                    {
                        "sentence": claim,
                        "doc": doc,
                        "paragraph": number,
                        "score": round(found.score, 4),
                        "dense": round(found.dense, 4),
                        "lexical": round(found.lexical, 4),
                    }
                )
                if found.score >= threshold:
                    supported.append(self._citation(doc, number, found))
                else:
                    failed.append((doc, number, found))
            failed_reasons = [
                (
                    marker(doc, number, multi),
                    f"not supported by {paragraph_name(doc, number, multi)} "
                    f"(score {found.score:.2f}{_missing(found)})",
                )
                for doc, number, found in failed
            ]
            if not supported:
                closest = max(range(len(failed)), key=lambda i: failed[i][2].score)
                reason = failed_reasons[closest][1]
                dropped.append({"sentence": raw, "reason": reason, "removed": "sentence"})
                continue
            for written, reason in failed_reasons:
                removed.append(written)
                dropped.append(
                    {"sentence": raw, "marker": written, "reason": reason, "removed": "citation"}
                )
            kept.append(KeptSentence(claim, supported))
        abstained = said_abstention and not kept
        if kept:
            dropped.extend(
                {"sentence": raw, "reason": "abstention alongside an answer", "removed": "sentence"}
                for raw in abstentions
            )
        return CheckedAnswer(kept, dropped, removed, abstained, scores)

    def _citation(self, doc: str, number: int, found: Support) -> Citation:
        paragraph = self.index.paragraph(doc, number)
        sentences = paragraph.sentences or split_sentences(paragraph.text)
        sentence = sentences[found.quote]
        return Citation(
            doc, number, sentence.text, paragraph.text, sentence.start, sentence.end, found.score
        )


def check(
    answer_text: str, retrieval: Retrieval, index: Index, embedder: Embedder, threshold: float
) -> CheckedAnswer:
    """Check a generated answer against the paragraphs of `retrieval` (see the module doc)."""
    return CitationChecker(index, embedder).check(answer_text, retrieval, threshold)


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


def parse_marker(
    marker: str, allowed: Sequence[tuple[str, int]], multi_doc: bool
) -> list[tuple[tuple[str, int] | None, str]]:
    """Each reference inside one `[…]` marker: ((doc, paragraph), "") or (None, why not)."""
    inside = marker.strip()[1:-1]
    out: list[tuple[tuple[str, int] | None, str]] = []
    for part in re.split(r"[,;]|\band\b", inside):
        if not part.strip():
            continue
        found = _REF.match(part)
        if found is None:
            out.append((None, f"malformed citation {marker}"))
            continue
        number = int(found.group("n"))
        doc = found.group("doc")
        if doc is None:
            docs = [d for d, n in allowed if n == number]
            candidates = [(docs[0], number)] if len(set(docs)) == 1 else []
        else:
            candidates = [(d, n) for d, n in allowed if n == number and d == doc]
        if candidates:
            out.append((candidates[0], ""))
        else:
            name = paragraph_name(doc, number, bool(doc))
            out.append((None, f"cites {name} which was not retrieved"))
    if not out:
        out.append((None, f"malformed citation {marker}"))
    return out


def _is_abstention(claim: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("’", "'")).split())

    return bool(claim) and norm(claim) == norm(ABSTENTION)




def names(text: str, skip_first: bool = True) -> list[tuple[str, list[str]]]:
    """The names in `text`: runs of capitalised words, each as (words, tokens).

    With `skip_first`, a sentence's first word is left out unless the next word continues the
    name ("Hamas launched" → no name; "Al Sudani said" → Al Sudani). Titles are ignored.
    """
    runs: list[tuple[list[str], list[str]]] = []
    previous_end = -2
    for match in _CAPITALISED.finditer(text):
        tokens = [t for t in tokenize(match.group()) if t not in _TITLES]
        joined = previous_end >= 0 and text[previous_end : match.start()] == " "
        previous_end = match.end()
        if joined and runs:
            runs[-1][0].append(match.group())
            runs[-1][1].extend(tokens)
        else:
            runs.append(([match.group()], tokens))
    if skip_first and runs and text.startswith(runs[0][0][0]) and len(runs[0][0]) == 1:
        runs = runs[1:]
    return [
        (" ".join(words), tokens)
        for words, tokens in runs
        if any(t not in QUESTION_WORDS for t in tokens)
    ]


def _mentions(run: list[str], pool: set[str]) -> bool:
    """Whether a paragraph (its capitalised tokens `pool`) mentions a name run."""
    informative = [t for t in run if len(t) >= 3] or run  # "Al", "bin" alone say little
    for token in informative:
        if token in pool:
            return True
        if len(token) >= 4 and any(
            len(p) >= 4 and (p.startswith(token) or token.startswith(p)) for p in pool
        ):
            return True  # Iraq / Iraqi, America / American
    return False


def _missing(found: Support) -> str:
    absent = [*found.missing_numbers, *found.missing_names]
    if not absent:
        return ""
    return "; " + ", ".join(absent) + " not in it"
