"""The tokenizer: lower-case words and numbers (letters of any script), English stop words removed,
a light English suffix stemmer. BM25, word coverage and every word match go through `tokenize`.

Other languages are tokenised but neither stemmed nor stripped of stop words, and scripts written
without spaces (Chinese, Japanese) are not split into words.
"""

from __future__ import annotations

import re

# Written into each index manifest and compared on open: a change here rebuilds old indexes.
TOKENIZER_VERSION = "rag tokenizer v2"

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "say",
        "says",
        "said",
        "also",
    ]
)


_TOKEN = re.compile(r"[^\W_]+(?:[.,]\d+)*")  # letters of any script, and numbers like 2,500


def stem(word: str) -> str:
    """A light English suffix stripper: plurals, -ing, -ed, -ly (possessives go earlier)."""
    if word.isdigit() or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    for suffix in ("ing", "edly", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Words and numbers of `text`, lower-cased, stop words dropped, stemmed."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"'s\b", "", text)
    return [stem(t.replace(",", "")) for t in _TOKEN.findall(text) if t not in STOPWORDS]
