"""scripts/probe_hostile.py, the re-run of issue 20's hostile probe, runs and finds its quick cases
handled: the ones refused before any index is built (a non-UTF-8 index folder, questions of no
words, settings out of range, bad gold files). Its other cases need index builds, the Qwen model
or a server and are run by hand (docs/reliability.md has the figure); each has its own regression
test in the tiers.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ..fakes import ROOT, child_environment


@pytest.mark.slow  # nine `rag` processes, about 6 s
def test_the_probe_s_quick_cases_are_handled() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "probe_hostile.py"), "--quick"],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert all(re.search(r": handled \(\d+ s\)$", line) for line in lines[:-1]), done.stdout
    assert re.match(r"(\d+) of \1 cases handled, 0 mishandled, 0 skipped", lines[-1])
    assert len(lines) - 1 >= 9
