"""What the news-page fixture (tests/fixtures/news_page.html, and its PDF print) holds: the
article's paragraphs as a reader sees them, and the site chrome around them that must never be
indexed. Used by the format tests and by the extraction figures in docs/formats.md."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .fakes import ROOT, run_rag

FIXTURES = ROOT / "tests" / "fixtures"
PAGE = FIXTURES / "news_page.html"
PDF = FIXTURES / "news_page.pdf"

HEADLINE = "Harbour town votes to rebuild its sea wall after winter storms"
# The article's paragraphs, each by words that only it holds (the byline is not counted).
ARTICLE = (
    HEADLINE,
    "backed a £14 million plan by a wide margin",
    "Published: March 14, 2026",
    "Waves break over the old sea wall at Port Alder during Storm Hesper",
    "71 per cent of those who took part",
    "built of granite blocks in 1893",
    "two metres higher than the old one",
    "Who pays for it",
    "The national flood agency has agreed to pay £9 million",
    "It is a lot of money for a town of eleven thousand people",
    "Opponents had argued for a cheaper earth embankment",
    "What happens next",
    "Engineers will spend the summer surveying the sea bed",
    "would publish the full design in June",
)
# The site around the article, each piece by words that only it holds.
BOILERPLATE = (
    "We use cookies",
    "Accept all cookies",
    "Manage preferences",
    "Subscribe today",
    "Search the Ledger",
    "Share on Facebook",
    "Copy link",
    "Morning Tide newsletter",
    "Sign up for our free daily briefing",
    "Related stories",
    "Lifeboat crew honoured",
    "Fish prices climb",
    "Most read",
    "Celebrity chef",
    "Puffin numbers rise",
    "All rights reserved",
    "Privacy policy",
    "Advertise with us",
    "dataLayer",
)


def kept(texts: Iterable[str], phrases: Iterable[str]) -> list[str]:
    """The phrases found in any of `texts` (whitespace and hyphenation as printed aside)."""
    joined = " ".join(" ".join(t.split()) for t in texts)
    return [p for p in phrases if p in joined]


def index_and_ask(source: str, index_dir: Path, *flags: str) -> dict[str, Any]:
    """Index `source` with the real pipeline and ask it the fixture's question: the answer (as
    `--json`), checked to cite the article's sentence and no site text."""
    done = run_rag("index", source, *flags, index_dir=index_dir)
    assert done.returncode == 0, done.stderr
    done = run_rag("ask", "How much will the scheme cost?", "--json", index_dir=index_dir)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    quotes = [c["text"] for c in answer["citations"]]
    assert not answer["abstained"] and kept(quotes, ["£14 million"]) == ["£14 million"]
    assert kept(quotes, BOILERPLATE) == []
    return answer
