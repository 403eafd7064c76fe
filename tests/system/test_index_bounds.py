"""Bounded builds (issue 20, item 9): `rag index` over the passage limit stops in one line.

Before: 10,000 small files or one 4 MB file ran past 150 s with no output at all.

System tier: the CLI in a subprocess, servers, the browser or packaging. Quick: the refusal
comes before the embedding model is loaded.
"""

from __future__ import annotations

from pathlib import Path

from ..fakes import one_line_error, run_rag


def test_rag_index_over_the_passage_limit_is_one_error_line(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(40):  # 40 articles of a headline and three paragraphs
        body = "\n\n".join(
            f"Report {n}, part {part}: the harbour council met on Monday and agreed the budget."
            for part in range(3)
        )
        (folder / f"article-{n:02}.txt").write_text(f"Harbour news {n}\n\n{body}\n")
    index_dir = tmp_path / "index"
    done = run_rag("index", str(folder), index_dir=index_dir, env={"RAG_MAX_PASSAGES": "50"})
    line = one_line_error(done, 3)
    assert line.startswith("error: the sources make ")
    assert "passages, more than the 50 one index may hold" in line
    assert line.endswith("or raise RAG_MAX_PASSAGES")
    assert done.stderr.strip() == line  # refused before any work: nothing else was said
    assert not (index_dir / "builds").exists()  # and nothing was written
