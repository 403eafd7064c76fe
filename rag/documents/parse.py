"""Documents: a news article's text and its structure.

A document is a list of paragraphs in reading order, numbered from 1 (the headline is ¶1), each
with a role — headline, standfirst, caption (with its photo credit split off), subheading, body
or dateline — a stable id from the document name and a content hash, and its sentences with
character offsets. Boilerplate ("Powered by automated translation") is set aside in
`Document.boilerplate`: it is not a paragraph, so it is never numbered, searched or quoted.

Not here: reading files (rag.documents.sources), web pages (rag.documents.html) or PDFs
(rag.documents.pdf). Not handled: tables, or articles whose paragraphs are not separated by line
breaks. Roles are recognised by layout heuristics of scraped news text, not by a model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import SourceError
from rag.text.sentences import Sentence, split_sentences

BOILERPLATE = re.compile(
    r"^(powered by automated translation|advertisement|read more|sign up\b.*|"
    r"subscribe\b.*|follow us\b.*|share this article|listen to this article)$",
    re.IGNORECASE,
)
DATELINE = re.compile(r"^(updated|published|last updated)\s*:\s*\S", re.IGNORECASE)
PHOTO_CREDIT = re.compile(
    r"(?<=[.!?”\"])\s+((?:Photo:\s*)?(?:Reuters|AFP|AP|EPA|Getty Images|Bloomberg|Wam|WAM|"
    r"Alamy|Shutterstock|The National|[A-Z][\w.]*(?: [A-Z][\w.]*)? / (?:Reuters|AFP|AP|EPA)))\s*$"
)
TERMINAL = re.compile(r"[.!?…:;\"”’)]$")


@dataclass(frozen=True)
class Paragraph:
    doc: str
    number: int  # 1-based, reading order, headline = 1
    role: str
    text: str
    sentences: tuple[Sentence, ...]
    credit: str = ""  # photo credit of a caption (also the caption text's last words)
    page: int | None = None  # the page it starts on, in a PDF

    @property
    def id(self) -> str:
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]
        return f"{self.doc}:{digest}"


@dataclass(frozen=True)
class Document:
    name: str  # file stem: how citations name the document
    path: Path
    sha256: str
    paragraphs: tuple[Paragraph, ...]
    boilerplate: tuple[str, ...] = ()
    # What the source says about itself (a web page's metadata), and where it was fetched from.
    title: str = ""
    date: str = ""
    author: str = ""
    source_url: str = ""
    fetched_at: str = ""

    @property
    def headline(self) -> str:
        return next((p.text for p in self.paragraphs if p.role == "headline"), self.name)

    @property
    def dateline(self) -> str:
        return next((p.text for p in self.paragraphs if p.role == "dateline"), "")

    def paragraph(self, number: int) -> Paragraph:
        return self.paragraphs[number - 1]


# --- structure -------------------------------------------------------------------------------


def parse_text(
    text: str, name: str, path: Path | None = None, *, markdown: bool | None = None
) -> Document:
    """Parse an article's text into a `Document` (roles, numbering, sentences); Markdown when
    `markdown`, or by default when `path` ends in .md."""
    if markdown is None:
        markdown = path is not None and path.suffix.lower() == ".md"
    blocks = _blocks(text, join_lines=markdown)
    paragraphs: list[Paragraph] = []
    boilerplate: list[str] = []
    seen_body = False
    for raw in blocks:
        heading_level = 0
        if markdown:
            raw, heading_level = _strip_markdown(raw)
            if not raw:
                continue
        role, body, credit = _role(raw, len(paragraphs), seen_body, heading_level, paragraphs)
        if role == "boilerplate":
            boilerplate.append(body)
            continue
        seen_body = seen_body or role == "body"
        number = len(paragraphs) + 1
        paragraphs.append(Paragraph(name, number, role, body, split_sentences(body), credit))
    if not paragraphs:
        raise SourceError(f"{path or name}: no text to index")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Document(name, path or Path(name), digest, tuple(paragraphs), tuple(boilerplate))


def _blocks(text: str, join_lines: bool) -> list[str]:
    """Split text into paragraph blocks.

    Plain text from news sites puts one paragraph on a line (a caption and its boilerplate may
    sit on adjacent lines), so each line is a block. Markdown and hard-wrapped text instead join
    the lines between blank lines.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    parts = re.split(r"\n[ \t]*\n", text)
    if not join_lines:
        join_lines = _hard_wrapped(parts)
    if join_lines:
        blocks = [" ".join(line.strip() for line in p.split("\n")) for p in parts]
    else:
        blocks = [line for line in text.split("\n")]
    return [re.sub(r"\s+", " ", b).strip() for b in blocks if b.strip()]


def _hard_wrapped(parts: list[str]) -> bool:
    """Whether line breaks inside blocks fall mid-sentence (text wrapped at a fixed width), as
    opposed to one short paragraph per line."""
    inner_ends = [
        lines[i].rstrip()
        for block in parts
        for lines in [[x for x in block.split("\n") if x.strip()]]
        for i in range(len(lines) - 1)
    ]
    if len(inner_ends) < 2 or max(len(x) for x in inner_ends) > 100:
        return False
    mid_sentence = sum(1 for line in inner_ends if not TERMINAL.search(line))
    return mid_sentence > len(inner_ends) / 2


def _strip_markdown(block: str) -> tuple[str, int]:
    heading = re.match(r"^(#{1,6})\s+(.*)$", block)
    level = len(heading.group(1)) if heading else 0
    if heading:
        block = heading.group(2)
    image = re.fullmatch(r"!\[([^\]]*)\]\([^)]*\)\s*(.*)", block)
    if image:
        block = (image.group(1) + " " + image.group(2)).strip()
    block = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", block)  # links -> their text
    block = re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", block)  # emphasis
    block = re.sub(r"^>\s*", "", block)
    return block.strip(), level


def _role(
    text: str, index: int, seen_body: bool, heading_level: int, before: list[Paragraph]
) -> tuple[str, str, str]:
    """Decide a block's role from its position and shape; returns (role, text, credit)."""
    if BOILERPLATE.match(text):
        return "boilerplate", text, ""
    if DATELINE.match(text):
        return "dateline", text, ""
    short = len(text.split()) <= 12 and not TERMINAL.search(text)
    if index == 0 and (heading_level == 1 or len(text) <= 200):
        return "headline", text, ""
    if heading_level >= 2 or (seen_body and short):
        return "subheading", text, ""
    if not seen_body:
        credit = PHOTO_CREDIT.search(text)
        if credit:
            return "caption", text, credit.group(1)
        if index == 1 and before and before[0].role == "headline" and len(text) <= 320:
            return "standfirst", text, ""
    return "body", text, ""
