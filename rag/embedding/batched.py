"""Embedding many texts in batches, saying how far it got: the index build's embedding step.

`embed_in_batches` gives the embedder `BATCH` texts at a time and, each time `REPORT_SECONDS`
have passed since it last said anything, reports through `progress` how many are done and the
rate so far ("embedding 12,800/40,000 passages, 210/s"), then once at the end how long it took.
Work done in less time says nothing. Not here: the embedder itself (rag.embedding.torch_encoder)
or the limit on how many passages a build may have (`max_passages`, checked by rag.index.build).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from rag.embedding.model import Embedder
from rag.progress import Progress, no_progress

BATCH = 256  # texts per call: several of the model's own batches, about 10 s at most here
REPORT_SECONDS = 5.0


def embed_in_batches(
    embedder: Embedder,
    texts: Sequence[str],
    progress: Progress = no_progress,
    *,
    batch: int = BATCH,
    every: float = REPORT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> np.ndarray:
    """`embedder.embed_batch(texts)`, made in batches of `batch` texts, reporting every `every`
    seconds: the same rows, in the same order."""
    if len(texts) <= batch:
        return embedder.embed_batch(texts)
    started = last = clock()
    parts: list[np.ndarray] = []
    done, reported = 0, False
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed_batch(texts[start : start + batch]))
        done += len(parts[-1])
        now = clock()
        if now - last >= every and done < len(texts):
            progress(f"embedding {done:,}/{len(texts):,} passages, {_rate(done, now - started)}")
            last, reported = now, True
    if reported:  # the work was long enough to be noticed: say how it ended
        seconds = clock() - started
        progress(f"embedded {done:,} passages in {seconds:.0f} s, {_rate(done, seconds)}")
    return np.concatenate(parts)


def _rate(done: int, seconds: float) -> str:
    return f"{done / seconds:,.0f}/s" if seconds > 0 else "-/s"
