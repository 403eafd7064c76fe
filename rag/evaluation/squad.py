"""SQuAD 2.0 files as a user meets them: each article a document, every question over it.

`read_squad` reads a SQuAD 2.0 JSON file (its own format: `data[].title`,
`paragraphs[].context`, `qas[]` with `answers`, `is_impossible` and `plausible_answers`) into
`SquadArticle`s, checking what it relies on (errors name the article). `article_text` writes an
article the way `rag index` reads a plain-text article: the title as the headline, a blank line,
then each context as a paragraph. `SPLIT` is the fixed split by article of the bundled training
fragment (data/squad2): train, dev (where choices are made) and test (where figures are
reported, never trained or tuned on). `sample` draws a fixed seeded sample of each
article's questions.

Not here: asking and scoring (rag.evaluation.squad_scoring).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError

SAMPLE_SEED = 2026  # the seed of `sample`, fixed: every run scores the same questions

# The split by article of data/squad2/train-10-articles.json, fixed before any reader was trained.
# Test keeps one of the two articles with unanswerable questions (Spectre), dev the other.
SPLIT = {
    "Beyoncé": "train",
    "Frédéric_Chopin": "train",
    "Sino-Tibetan_relations_during_the_Ming_dynasty": "train",
    "2008_Sichuan_earthquake": "train",
    "New_York_City": "train",
    "The_Legend_of_Zelda:_Twilight_Princess": "dev",
    "IPod": "dev",
    "Spectre_(2015_film)": "test",
    "To_Kill_a_Mockingbird": "test",
    "Solar_energy": "test",
}
SPLITS = ("train", "dev", "test")
BUNDLED = Path(__file__).resolve().parents[2] / "data" / "squad2" / "train-10-articles.json"


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # empty when unanswerable
    context: int  # which of the article's paragraphs holds the answer (or the plausible one)
    answer_starts: tuple[int, ...] = ()
    plausible: tuple[str, ...] = ()  # for unanswerable questions: what a careless reader gives
    plausible_starts: tuple[int, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class SquadArticle:
    title: str
    contexts: tuple[str, ...]
    questions: tuple[SquadQuestion, ...]

    @property
    def name(self) -> str:
        """A file stem for the article: its title with each run of characters other than
        letters, digits and - replaced by one _."""
        return re.sub(r"_+", "_", re.sub(r"[^\w-]+", "_", self.title)).strip("_") or "article"

    @property
    def split(self) -> str:
        return SPLIT.get(self.title, "")


def read_squad(path: Path) -> list[SquadArticle]:
    """The articles of a SQuAD 2.0 file; InputError (one line) when it is not one."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such SQuAD file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not a SQuAD 2.0 JSON file ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise InputError(f"{path}: not a SQuAD 2.0 JSON file (no 'data' list)")
    articles = []
    for number, item in enumerate(raw["data"], start=1):
        try:
            articles.append(_article(item))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            title = item.get("title", f"#{number}") if isinstance(item, dict) else f"#{number}"
            raise InputError(f"{path}: article {title!r} is malformed ({exc!r})") from None
    if not articles:
        raise InputError(f"{path}: holds no articles")
    return articles


def _article(item: dict) -> SquadArticle:
    contexts: list[str] = []
    questions: list[SquadQuestion] = []
    for paragraph in item["paragraphs"]:
        context = " ".join(str(paragraph["context"]).split())
        if not context:
            continue
        contexts.append(context)
        original = str(paragraph["context"])
        for qa in paragraph["qas"]:
            answers = [] if qa.get("is_impossible") else qa["answers"]
            plausible = qa.get("plausible_answers", []) if qa.get("is_impossible") else []
            questions.append(
                SquadQuestion(
                    str(qa["id"]),
                    str(qa["question"]),
                    tuple(str(a["text"]) for a in answers),
                    len(contexts) - 1,
                    tuple(_normalised_start(original, int(a["answer_start"])) for a in answers),
                    tuple(str(a["text"]) for a in plausible),
                    tuple(_normalised_start(original, int(a["answer_start"])) for a in plausible),
                )
            )
    return SquadArticle(str(item["title"]), tuple(contexts), tuple(questions))


def _normalised_start(original: str, start: int) -> int:
    """`start` in `original` as an offset into its white-space-normalised form."""
    if not 0 <= start <= len(original):
        raise ValueError(f"answer_start {start} is outside its context")
    return len(" ".join(original[:start].split())) + (
        1 if start and original[start - 1].isspace() and original[:start].strip() else 0
    )


def article_text(article: SquadArticle) -> str:
    """The article as a plain-text document: title, blank line, one paragraph per context."""
    title = article.title.replace("_", " ")
    return "\n\n".join([title, *article.contexts]) + "\n"


def select(articles: list[SquadArticle], split: str | None) -> list[SquadArticle]:
    """The articles of `split` (all when None); InputError when none is left."""
    if split is None:
        return articles
    chosen = [a for a in articles if a.split == split]
    if not chosen:
        raise InputError(
            f"no article of the file is in the {split} split (the split is fixed for "
            "data/squad2/train-10-articles.json; other files are scored whole, without --split)"
        )
    return chosen


def sample(articles: list[SquadArticle], per_article: int) -> list[SquadArticle]:
    """Each article with `per_article` of its questions (all when it has fewer), drawn with a
    fixed seed and kept in their order: a slow mode (a language model) scored on the same
    questions every run. InputError for a count below 1."""
    if per_article < 1:
        raise InputError(f"--sample must be at least 1, not {per_article}")
    chosen = []
    for article in articles:
        keep = list(range(len(article.questions)))
        if len(article.questions) > per_article:
            rng = random.Random(f"{SAMPLE_SEED}:{article.title}")
            keep = sorted(rng.sample(range(len(article.questions)), per_article))
        questions = tuple(article.questions[i] for i in keep)
        chosen.append(dataclasses.replace(article, questions=questions))
    return chosen
