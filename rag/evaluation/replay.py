"""Replaying a gold case as a real chat would ask it.

A follow-up case (rag.evaluation.gold) carries the earlier questions of its conversation. A chat
asks them in turn and the system answers each one itself, so the case's question is asked after
the system's own answers, never the gold file's ideal ones (those would flatter the rewriting;
they are there for people reading the file). `rag eval`, fitting the logistic reader and the
benchmarks all replay cases through here. Not here: scoring the answer (rag.evaluation.scoring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag import Conversation, Pipeline
from rag.evaluation.gold import GoldCase

if TYPE_CHECKING:
    from rag.chat.conversation import Turn
    from rag.pipeline import Traced


def replay_history(pipeline: Pipeline, case: GoldCase) -> list[Turn]:
    """The turns before the case's question: its earlier questions, each answered by `pipeline`
    after the ones before it."""
    conversation = Conversation(pipeline)
    for earlier, _ in case.history:
        conversation.ask(earlier)
    return conversation.turns


def replay(pipeline: Pipeline, case: GoldCase, depth: int = 0) -> Traced:
    """The case's question answered after its replayed history, with the retrieval behind it
    (`depth` paragraphs deep at least)."""
    return pipeline.trace(case.question, replay_history(pipeline, case), depth=depth)
