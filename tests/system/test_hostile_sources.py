"""Hostile sources and gold files (issue 11, items 7 and 10): bounded work, one error line.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import subprocess
import sys

from rag.text.sentences import split_sentences

from ..fakes import ROOT


def test_abbreviations_split_right_and_in_linear_time() -> None:
    text = "Mr. Smith met Dr. Jones in the U.S. on Monday. He left. " * 3
    assert [s.text for s in split_sentences(text)][:2] == [
        "Mr. Smith met Dr. Jones in the U.S. on Monday.",
        "He left.",
    ]
    # 40,000 abbreviations in one run-on sentence: seconds when linear, hours when quadratic.
    # Run apart with a generous limit, as a hang guard (not a timing).
    code = "from rag.documents.parse import split_sentences; split_sentences('Mr. Smith ' * 40000)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120, check=True)
