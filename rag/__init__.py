"""rag: ask a news article, get short answers with checkable [¶N] citations.

The package is a library first; `rag.cli` and `ui/` are thin layers over it. The public API,
importable from `rag` itself:

    from rag import Pipeline, Settings
    pipeline = Pipeline.open(Settings.load())      # silent; pass progress=print to see steps
    answer = pipeline.ask("who nominated Al Sudani?")
    answer.text, answer.short_answer, answer.citations[0].quote

`Pipeline`, `Settings`, `Answer` (with its `Citation`, `Fallback` and `Dropped` records),
`Conversation`, `Asker` (what front ends need from a pipeline), `RagError`, `build_index`,
`Library` (the documents of the index folder, added and removed) and `LivePipeline` (a pipeline
that follows the index folder's current build) are loaded on first use, so importing `rag`
loads no heavy library (torch, sentence_transformers, faiss, llama_cpp, gradio) and nothing but
this file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written (pyproject reads it)

_PUBLIC = {
    "Pipeline": "rag.pipeline",
    "Settings": "rag.config",
    "Answer": "rag.results",
    "Citation": "rag.results",
    "Fallback": "rag.results",
    "Dropped": "rag.results",
    "Asker": "rag.asker",
    "Conversation": "rag.chat.conversation",
    "RagError": "rag.errors",
    "build_index": "rag.index.build",
    "Library": "rag.index.library",
    "LivePipeline": "rag.live",
}
__all__ = [
    "Answer",
    "Asker",
    "Citation",
    "Conversation",
    "Dropped",
    "Fallback",
    "Library",
    "LivePipeline",
    "Pipeline",
    "RagError",
    "Settings",
    "__version__",
    "build_index",
]

if TYPE_CHECKING:
    from rag.asker import Asker
    from rag.chat.conversation import Conversation
    from rag.config import Settings
    from rag.errors import RagError
    from rag.index.build import build_index
    from rag.index.library import Library
    from rag.live import LivePipeline
    from rag.pipeline import Pipeline
    from rag.results import Answer, Citation, Dropped, Fallback


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
