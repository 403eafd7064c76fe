"""`rag eval --squad`: SQuAD 2.0 articles read, written as documents, indexed on their own and

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..fakes import TINY, one_line_error, run_rag


@pytest.mark.slow
def test_eval_squad_asks_every_question_over_its_own_article(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    done = run_rag("eval", "--squad", str(path), "--json", index_dir=tmp_path / "index")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["metrics"]["questions"] == 3 and report["metrics"]["unanswerable"] == 1
    rows = {r["id"]: r for r in report["rows"]}
    assert rows["a1"]["contained"] and rows["a1"]["cited"], rows["a1"]
    assert rows["a2"]["contained"] and rows["a2"]["cited"], rows["a2"]
    assert (tmp_path / "index-squad" / "Harbour_Bridge_Sydney" / "index" / "current").exists()
    assert not (tmp_path / "index").exists()  # the everyday index is untouched
    table = run_rag("eval", "--squad", str(path), index_dir=tmp_path / "index")
    assert table.returncode == 0 and "| Harbour_Bridge_(Sydney) |" in table.stdout


def test_bad_squad_files_are_one_error_line(tmp_path: Path) -> None:
    missing = run_rag("eval", "--squad", str(tmp_path / "none.json"))
    assert "no such SQuAD file" in one_line_error(missing, 2)
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"title": "X", "paragraphs": [{"context": "c"}]}]}')
    assert "article 'X' is malformed" in one_line_error(run_rag("eval", "--squad", str(broken)), 2)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    split = run_rag("eval", "--squad", str(path), "--split", "test")
    assert "no article of the file is in the test split" in one_line_error(split, 2)
    both = run_rag("eval", "--squad", str(path), "--gold", str(path))
    assert both.returncode == 2
