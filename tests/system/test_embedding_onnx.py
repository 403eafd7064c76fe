"""The ONNX query encoder against the real bundled model: same vectors as sentence-transformers,

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embedding.onnx_encoder import (
    OnnxQueryEmbedder,
)

from ..fakes import QUESTIONS, ROOT

# Every test here exports or loads the real MiniLM with torch (seconds each): the slow tier.
pytestmark = pytest.mark.slow


def test_query_process_imports_no_torch(
    encoder_dir: Path, onnx_embedder: OnnxQueryEmbedder
) -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from rag.embedding.onnx_encoder import OnnxQueryEmbedder\n"
        f"e = OnnxQueryEmbedder.from_dir(Path({str(encoder_dir)!r}), threads=1, name='q')\n"
        f"v = e.embed_batch([{QUESTIONS[0]!r}])\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'vector': v[0].tolist(), 'dim': e.dim}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["heavy"] == []
    assert report["dim"] == 384
    expected = onnx_embedder.embed_batch([QUESTIONS[0]])[0]
    np.testing.assert_allclose(np.asarray(report["vector"]), expected, atol=1e-5)
