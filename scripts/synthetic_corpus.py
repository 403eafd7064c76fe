"""Synthetic news-like corpora for the scale benchmark, reproducible from a seed.

Sentences are recombined from two sources: the seed article's own sentences (rag/seeds/*.txt), with
the people, places, organisations, days, months and numbers they mention swapped for others from
small lists, and a set of news-wire sentence templates filled from the same lists. Generation has
two stages so that large corpora stay cheap to embed:

1. a pool of unique sentences (at most `POOL_MAX`, about three per paragraph for small corpora);
2. paragraphs of 1-4 pool sentences each (most paragraphs are unique combinations).

Every pool sentence is a single sentence for `rag.documents.parse.split_sentences`, so the passages
the
index cuts from a generated paragraph are exactly its pool sentences (the benchmark relies on
this to reuse sentence vectors for the 100 k tier).

CLI: `python scripts/synthetic_corpus.py 1000 10000 --seed 7 --out bench/cache/corpus` writes one
`synthetic-<n>-seed<seed>.txt` per size: a headline on the first line, then one paragraph per
line — a layout `rag index` ingests as a single plain-text document.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import SEED_ARTICLES  # noqa: E402
from rag.text.numbers import MONTHS, WEEKDAYS  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402

POOL_MAX = 30_000
SEED_DIR = SEED_ARTICLES

PEOPLE = [
    "Mohammed Shia Al Sudani",
    "Yahya Rasool",
    "Hadi Jalo Marie",
    "Mustafa Al Kadhimi",
    "Fuad Hussein",
    "Nechirvan Barzani",
    "Layla Haddad",
    "Omar Khalil",
    "Samir Nasser",
    "Rana Abdullah",
    "Karim Mansour",
    "Huda Salman",
    "Tariq Al Amiri",
    "Nadia Yousef",
    "Ahmed Jassim",
    "Zainab Kareem",
    "Ali Hamdan",
    "Maryam Saleh",
    "Hassan Fadel",
    "Sara Mahdi",
    "Yusuf Qasim",
    "Dalia Farouk",
    "Bassam Rahim",
    "Lina Aziz",
]
SURNAMES = {p: p.split()[-1] for p in PEOPLE}
TITLES = ["Mr", "Ms", "Dr", "Gen"]
ROLES = [
    "prime minister",
    "foreign minister",
    "military spokesman",
    "interior minister",
    "governor",
    "chairman of the Political Decision think tank",
    "defence analyst",
    "senior MP",
    "oil minister",
    "central bank governor",
    "UN envoy",
    "army commander",
]
PLACES = [
    "Baghdad",
    "Erbil",
    "Najaf",
    "Basra",
    "Mosul",
    "Kirkuk",
    "Karbala",
    "Sulaymaniyah",
    "Ain Al Asad",
    "Harir",
    "Fallujah",
    "Ramadi",
    "Tikrit",
    "Duhok",
    "Samarra",
    "Nasiriyah",
]
COUNTRIES = ["Iraq", "Iran", "Syria", "Jordan", "Turkey", "Kuwait", "Lebanon", "Saudi Arabia"]
ORGS = [
    "Co-ordination Framework",
    "Political Decision",
    "Hamas",
    "Kataib Hezbollah",
    "Popular Mobilisation Forces",
    "Sadrist Movement",
    "Kurdistan Democratic Party",
    "Patriotic Union of Kurdistan",
    "Badr Organisation",
    "Asaib Ahl Al Haq",
    "international coalition",
    "Iraqi Oil Ministry",
    "Central Bank of Iraq",
    "UN mission",
]
TOPICS = [
    "electricity shortages",
    "oil exports",
    "the federal budget",
    "security reforms",
    "the withdrawal of foreign troops",
    "water scarcity",
    "provincial elections",
    "the fight against corruption",
    "border security",
    "reconstruction contracts",
    "drone attacks",
    "public sector salaries",
    "gas imports",
    "the dinar exchange rate",
]
VERBS = [
    "condemned",
    "welcomed",
    "rejected",
    "criticised",
    "defended",
    "questioned",
    "called for an inquiry into",
    "pledged to address",
    "warned about",
    "played down",
]
DAYS = WEEKDAYS  # the one list of weekdays and of months is rag.text.numbers

TEMPLATES = [
    "{person}, the {role}, said on {day} that the government would not tolerate attacks on "
    "{place}.",
    "Officials in {place} said {number} people were wounded in the attack on {day}.",
    "The {org} {verb} the decision, saying it would deepen the crisis over {topic}.",
    "{title} {surname} told reporters in {place} that talks on {topic} would resume in {month}.",
    "At least {number} families have been displaced from {place} since {month} {year}.",
    "The {org}, which holds {small} out of 329 seats, has {verb} the plan.",
    "Analysts say the dispute over {topic} could delay the vote until {month}.",
    "{person} arrived in {place} on {day} for talks with the {org}.",
    "A drone struck a base near {place} late on {day}, the {org} said in a statement.",
    "Parliament approved a budget of {number} billion dinars for {topic} in {month} {year}.",
    "Protesters gathered in {place} on {day} to demand action on {topic}.",
    "The {role} {verb} the attacks, which killed {small} soldiers near {place}.",
    "{country} has {verb} the agreement, according to a statement released on {day}.",
    "The ministry said {number} barrels a day were exported from {place} in {month}.",
    "“We will not allow anyone to threaten the security of {place},” {person} said.",
    "There are about {number} foreign troops in {country} on an advisory mission.",
    "Since {year}, the {org} has {verb} every proposal on {topic}.",
    "{title} {surname}, who took office in {month} {year}, is expected to visit {country}.",
    "The talks in {place} ended on {day} without agreement on {topic}.",
    "Security forces arrested {small} suspects in {place} after the {day} attack.",
]

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Corpus:
    headline: str
    paragraphs: list[str]  # body paragraphs, in order
    pool: list[str]  # unique sentences the paragraphs are made of
    composition: list[tuple[int, ...]]  # pool indices of each paragraph's sentences


def seed_sentences(folder: Path = SEED_DIR) -> list[str]:
    """Body sentences of the seed articles (lines with at least 12 words)."""
    sentences: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if len(line.split()) >= 12:
                sentences.extend(s.text for s in split_sentences(line.strip()))
    return [s for s in sentences if len(s.split()) >= 6]


def _fill(template: str, rng: random.Random) -> str:
    person = rng.choice(PEOPLE)
    values = {
        "person": person,
        "surname": SURNAMES[person],
        "title": rng.choice(TITLES),
        "role": rng.choice(ROLES),
        "place": rng.choice(PLACES),
        "country": rng.choice(COUNTRIES),
        "org": rng.choice(ORGS),
        "topic": rng.choice(TOPICS),
        "verb": rng.choice(VERBS),
        "day": rng.choice(DAYS),
        "month": rng.choice(MONTHS),
        "year": str(rng.randint(2003, 2024)),
        "number": f"{rng.randint(2, 9)},{rng.randint(0, 999):03d}",
        "small": str(rng.randint(2, 180)),
    }
    return _SLOT.sub(lambda m: values[m.group(1)], template)


def _mutate(sentence: str, rng: random.Random) -> str:
    """Swap the names, places, organisations, days, months and numbers of a seed sentence."""
    out = sentence
    for group in (PEOPLE, PLACES, ORGS, COUNTRIES, DAYS, MONTHS):
        names = "|".join(re.escape(name) for name in sorted(group, key=len, reverse=True))

        def swap(_: re.Match[str], group: Sequence[str] = group) -> str:
            return rng.choice(group)

        out = re.sub(rf"\b(?:{names})\b", swap, out)
    out = re.sub(
        r"\bMr (?:Al )?(?:Sudani|Kadhimi|Marie|Rasool)\b",
        lambda _: f"{rng.choice(TITLES)} {SURNAMES[rng.choice(PEOPLE)]}",
        out,
    )
    out = re.sub(r"\b(?:19|20)\d\d\b", lambda _: str(rng.randint(2003, 2024)), out)
    return re.sub(
        r"\b\d{1,3}(?:,\d{3})*\b(?![-\d])",
        lambda m: (
            str(rng.randint(2, 999))
            if "," not in m.group()
            else f"{rng.randint(1, 9)},{rng.randint(0, 999):03d}"
        ),
        out,
    )


def _is_single_sentence(sentence: str) -> bool:
    parts = split_sentences("Lead sentence here. " + sentence + " Next one follows.")
    return len(parts) == 3 and parts[1].text == sentence


def sentence_pool(size: int, rng: random.Random) -> list[str]:
    """`size` unique sentences: mutated seed sentences and filled templates, about half each."""
    seeds = seed_sentences()
    pool: dict[str, None] = {}
    attempts = 0
    while len(pool) < size and attempts < size * 20:
        attempts += 1
        if seeds and rng.random() < 0.5:
            sentence = _mutate(rng.choice(seeds), rng)
        else:
            sentence = _fill(rng.choice(TEMPLATES), rng)
        if sentence not in pool and _is_single_sentence(sentence):
            pool[sentence] = None
    return list(pool)


def generate_corpus(n_paragraphs: int, seed: int = 0) -> Corpus:
    rng = random.Random(f"rag-synthetic:{seed}:{n_paragraphs}")
    pool = sentence_pool(min(POOL_MAX, max(200, 3 * n_paragraphs)), rng)
    composition: list[tuple[int, ...]] = []
    for _ in range(n_paragraphs):
        size = rng.choices((1, 2, 3, 4), weights=(2, 4, 3, 1))[0]
        composition.append(tuple(rng.sample(range(len(pool)), size)))
    paragraphs = [" ".join(pool[i] for i in ids) for ids in composition]
    headline = f"Synthetic Iraq news digest: {n_paragraphs:,} paragraphs (seed {seed})"
    return Corpus(headline, paragraphs, pool, composition)


def generate(n_paragraphs: int, seed: int = 0) -> list[str]:
    """`n_paragraphs` news-like body paragraphs, identical for the same (n, seed)."""
    return generate_corpus(n_paragraphs, seed).paragraphs


def write_corpus(corpus: Corpus, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([corpus.headline, *corpus.paragraphs]) + "\n", encoding="utf-8")
    return path


def corpus_path(out_dir: Path, n_paragraphs: int, seed: int) -> Path:
    return out_dir / f"synthetic-{n_paragraphs}-seed{seed}.txt"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", type=int, help="paragraph counts, e.g. 1000 10000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "cache" / "corpus")
    args = parser.parse_args(argv)
    for n in args.sizes:
        corpus = generate_corpus(n, args.seed)
        path = write_corpus(corpus, corpus_path(args.out, n, args.seed))
        unique = len(set(corpus.paragraphs))
        print(f"{path}: {n} paragraphs ({unique} unique), pool of {len(corpus.pool)} sentences")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
