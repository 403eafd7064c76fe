"""Gold files validated case by case: each bad case is one InputError naming its line (issue 20:
duplicate ids, answerable cases without answers, a non-boolean `short`, a 5,000-digit id).

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.evaluation.gold import load_gold

GOOD = {"id": "a", "type": "factoid", "question": "Who?", "answers": ["X"], "evidence": "X."}

NONE = {"id": "b", "type": "unanswerable", "question": "Why?", "answers": [], "evidence": ""}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_good_file_records_each_case_line(tmp_path: Path) -> None:
    cases = load_gold(write(tmp_path, json.dumps(GOOD), "", json.dumps(NONE)))
    assert [(c.id, c.line) for c in cases] == [("a", 1), ("b", 3)]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({**NONE, "id": "a"}, r":2: id 'a' is used already on line 1"),
        ({**GOOD, "id": "c", "answers": []}, r":2: a factoid case needs at least one answer"),
        ({**NONE, "answers": ["Y"]}, r":2: an unanswerable case has no answers"),
        ({**NONE, "short": float("nan")}, r":2: short must be true or false"),
        ({**NONE, "id": 7}, r":2: id must be a non-empty string"),
        ({**NONE, "id": " "}, r":2: id must be a non-empty string"),
    ],
)
def test_each_bad_case_is_one_error_naming_its_line(
    tmp_path: Path, second: dict, message: str
) -> None:
    path = write(tmp_path, json.dumps(GOOD), json.dumps(second))
    with pytest.raises(InputError, match=message) as caught:
        load_gold(path)
    assert "\n" not in str(caught.value)


def test_an_id_of_thousands_of_digits_is_one_error(tmp_path: Path) -> None:
    line = '{"id": ' + "9" * 5000 + ', "type": "unanswerable"}'
    with pytest.raises(InputError, match=r":1: a number too long to read"):
        load_gold(write(tmp_path, line))
