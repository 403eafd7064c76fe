"""The records an answer is made of: `Citation`, `Fallback`, `Dropped` and `Answer`, and their JSON
form.

`Answer.to_dict()` is the `rag ask --json` contract (README, "Using it"); the CLI, the web
chat's API and the evaluation all read answers through it. No logic about how answers are
produced lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

ABSTENTION = "The article does not say."


def paragraph_name(doc: str, number: int, multi_doc: bool) -> str:
    """How a paragraph is named to people and models: `¶N`, or `doc ¶N` with several documents."""
    return f"{doc} ¶{number}" if multi_doc else f"¶{number}"


def marker(doc: str, number: int, multi_doc: bool, page: int | None = None) -> str:
    """The in-text citation of a paragraph: `[¶N]` or `[doc ¶N]`, and `[¶N, p. P]` for a
    paragraph of a PDF, which knows its page."""
    where = f", p. {page}" if page is not None else ""
    return f"[{paragraph_name(doc, number, multi_doc)}{where}]"


# The one pattern for the markers `marker` writes, wherever they are found again in text (chat
# history, the web chat's HTML). What a *model* may write is looser: rag.answer.attribution.
MARKER = re.compile(r"\[[^\[\]<>]{0,200}?¶\d+(?:, p\. \d+)?\]")


@dataclass(frozen=True)
class Citation:
    """One cited paragraph: which one, the supporting sentence (verbatim) and where it sits."""

    doc: str
    paragraph: int
    quote: str
    text: str
    start: int  # character offsets of `quote` inside `text`
    end: int
    score: float
    page: int | None = None  # the paragraph's page, in a PDF
    url: str | None = None  # where a fetched document came from (`rag index URL`)

    def marker(self, multi_doc: bool) -> str:
        return marker(self.doc, self.paragraph, multi_doc, self.page)

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "paragraph": self.paragraph,
            "quote": self.quote,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": round(float(self.score), 4),
            **({"page": self.page} if self.page is not None else {}),
            **({"url": self.url} if self.url is not None else {}),
        }


@dataclass(frozen=True)
class Fallback:
    """Why a model-mode answer is not the model's own: `extractive`, the extractive answer
    stands instead; `abstained`, no retrieved paragraph answers and the model was not asked."""

    kind: Literal["extractive", "abstained"]
    reason: str

    def __str__(self) -> str:
        """The JSON form: "kind: reason"."""
        return f"{self.kind}: {self.reason}"


@dataclass(frozen=True)
class Dropped:
    """A sentence the model wrote that the citation check removed, and why."""

    sentence: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "reason": self.reason, "removed": "sentence"}


@dataclass
class Answer:
    """What every answerer returns; `abstained` answers carry no citations."""

    question: str
    standalone_question: str
    text: str
    citations: list[Citation]
    abstained: bool
    mode: str  # "extractive" or "llm"
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Generative mode only: what the citation check removed, and whether it fell back.
    dropped: list[Dropped] = field(default_factory=list)
    fallback: Fallback | None = None
    model: str | None = None
    # The name, number, date or place asked for, when the question asks for one and it is found.
    short_answer: str | None = None
    # An abstention's closest paragraph: offered to the reader, not cited as evidence.
    closest: Citation | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.closest is not None:
            out["closest"] = self.closest.to_dict()
        if self.mode == "llm" or self.model:
            out["model"] = self.model
            out["dropped"] = [d.to_dict() for d in self.dropped]
            out["fallback"] = None if self.fallback is None else str(self.fallback)
        return out
