"""The gold file: a JSONL regression set of questions with accepted answers and evidence.

Reads and validates it (errors name the line), picks a split (`dev`, where things are chosen, or
`test`, where they are reported), finds the default file and the settings to evaluate it with.
The format is described in tests/gold/README.md. Not here: running or scoring the cases
(rag.evaluation.scoring).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings
from rag.errors import InputError

# The regression set of a source checkout (an editable install); a wheel does not ship it.
CHECKOUT_GOLD = Path(__file__).resolve().parents[2] / "tests" / "gold" / "qa.jsonl"
TYPES = ("factoid", "numeric", "paraphrase", "unanswerable", "followup", "multihop")
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class GoldCase:
    id: str
    type: str
    question: str
    answers: tuple[str, ...]
    evidence: str
    history: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    split: str = ""  # "dev" (choices are made on it) or "test" (figures are reported on it)
    doc: str = ""  # the document the case is about (its file stem), when the file says
    short: bool = False  # answers are a name, number, date or place: a short answer is expected
    line: int = 0  # where the case stands in its file, for error messages

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def default_gold() -> Path:
    """The gold file `rag eval` scores when given none: the checkout's regression set, or
    `tests/gold/qa.jsonl` under the current folder; InputError when neither is at hand."""
    for candidate in (CHECKOUT_GOLD, Path("tests") / "gold" / "qa.jsonl"):
        if candidate.is_file():
            return candidate
    raise InputError(
        "no gold file at hand (tests/gold/qa.jsonl ships with the source, not the package): "
        "pass --gold FILE, a JSONL file of questions and answers"
    )


def gold_settings(settings: Settings, gold: Path) -> Settings:
    """The settings to evaluate the gold file `gold` with. When a `corpus/` folder of documents
    sits beside it (tests/gold/corpus), the index holds the settings' sources plus that folder,
    kept in its own folder (`<index_dir>-gold`) so the everyday index stays as it is."""
    corpus = gold.parent / "corpus"
    if not corpus.is_dir():
        return settings
    index_dir = settings.index_dir.with_name(f"{settings.index_dir.name}-gold")
    return settings.replace(sources=(*settings.sources, corpus), index_dir=index_dir)


def select_split(cases: list[GoldCase], split: str | None) -> list[GoldCase]:
    """The cases of one split ("dev" or "test"); all of them for None or "all"."""
    if split in (None, "all"):
        return cases
    chosen = [c for c in cases if c.split == split]
    if not chosen:
        raise InputError(f"the gold file has no cases in split {split!r}")
    return chosen


def load_gold(path: Path) -> list[GoldCase]:
    """Read and validate a gold JSONL file; errors name the line."""
    if path.exists() and not path.is_file():  # a FIFO or a device would block the read
        raise InputError(f"{path}: not a regular file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such gold file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read gold file ({exc})") from None
    cases: list[GoldCase] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
        except ValueError:  # a number of thousands of digits (Python's int limit)
            raise InputError(f"{where}: a number too long to read") from None
        except RecursionError:
            raise InputError(f"{where}: JSON nested too deeply") from None
        if not isinstance(raw, dict):
            raise InputError(f"{where}: each line must be a JSON object")
        missing = [k for k in ("id", "type", "question", "answers", "evidence") if k not in raw]
        if missing:
            raise InputError(f"{where}: missing field {missing[0]!r}")
        if not isinstance(raw["id"], str) or not raw["id"].strip():
            raise InputError(f"{where}: id must be a non-empty string")
        if raw["id"] in seen:
            raise InputError(f"{where}: id {raw['id']!r} is used already on line {seen[raw['id']]}")
        seen[raw["id"]] = number
        if raw["type"] not in TYPES:
            raise InputError(f"{where}: type {raw['type']!r} is not one of {', '.join(TYPES)}")
        if not isinstance(raw["answers"], list) or not all(
            isinstance(a, str) for a in raw["answers"]
        ):
            raise InputError(f"{where}: answers must be a list of strings")
        if (raw["type"] == "unanswerable") == bool(raw["answers"]):
            raise InputError(
                f"{where}: an unanswerable case has no answers, any other type at least one"
                if raw["type"] == "unanswerable"
                else f"{where}: a {raw['type']} case needs at least one answer"
            )
        if not isinstance(raw.get("short", False), bool):
            raise InputError(f"{where}: short must be true or false")
        split = raw.get("split", "")
        if split not in (*SPLITS, ""):
            raise InputError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
        history = raw.get("history") or []
        if not isinstance(raw["question"], str) or not isinstance(raw["evidence"], str):
            raise InputError(f"{where}: question and evidence must be strings")
        if not isinstance(history, list) or not all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t)
            for t in history
        ):
            raise InputError(f"{where}: history must be a list of [question, answer] pairs")
        cases.append(
            GoldCase(
                str(raw["id"]),
                raw["type"],
                str(raw["question"]),
                tuple(raw["answers"]),
                str(raw["evidence"]),
                tuple((str(q), str(a)) for q, a in history),
                split,
                str(raw.get("doc") or ""),
                raw.get("short") is True,
                number,
            )
        )
    if not cases:
        raise InputError(f"{path}: no gold cases")
    return cases
