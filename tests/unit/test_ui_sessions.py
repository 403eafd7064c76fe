"""The web chat's conversations: capped, dropped when idle, and bounded in what they keep.

Unit tier: no subprocess, no real model, no server; runs in seconds.
"""

from __future__ import annotations

from ui.sessions import Session, SessionStore

from ..fakes import Clock, EchoPipeline


def turn(n: int) -> tuple[str, str]:
    return (f"question {n}", f"answer {n}")


def test_the_least_recently_used_session_goes_first_past_the_cap() -> None:
    store = SessionStore(capacity=3)
    keys = [store.put(None, Session(turns=[turn(n)])) for n in range(3)]
    assert len(set(keys)) == 3 and len(store) == 3
    assert store.get(keys[0]).turns == [turn(0)]  # used: now the most recent
    store.put(None, Session(turns=[turn(3)]))
    assert len(store) == 3
    assert store.get(keys[1]).turns == []  # evicted: a new conversation
    assert store.get(keys[0]).turns == [turn(0)] and store.get(keys[2]).turns == [turn(2)]


def test_an_idle_session_expires_and_a_used_one_does_not() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, clock=clock)
    idle = store.put(None, Session(turns=[turn(0)]))
    busy = store.put(None, Session(turns=[turn(1)]))
    for _ in range(3):
        clock.now += 30
        assert store.get(busy).turns == [turn(1)]
    assert len(store) == 1
    assert store.get(idle).turns == []
    store.drop(busy)
    assert len(store) == 0


def test_a_session_keeps_its_last_turns_and_messages() -> None:
    store = SessionStore(max_turns=5)
    messages = [{"role": role, "content": f"{n}"} for n in range(40) for role in ("user", "a")]
    key = store.put(None, Session(messages, [turn(n) for n in range(40)]))
    kept = store.get(key)
    assert kept.turns == [turn(n) for n in range(35, 40)]
    assert [m["content"] for m in kept.messages] == [f"{n}" for n in range(35, 40) for _ in "ua"]
    kept.turns.clear()  # a copy: the store's own is unchanged
    assert len(store.get(key).turns) == 5


def test_a_question_that_is_not_text_is_named_by_its_type() -> None:
    import pytest

    from rag.errors import InputError
    from rag.pipeline import check_question
    from ui.app import Chat

    for value, kind in ((3, "a number"), (None, "null"), (["a"], "a list"), ({}, "an object")):
        with pytest.raises(InputError, match=f"^the question must be text, not {kind}$"):
            check_question(value, 100)  # type: ignore[arg-type]
    chat = Chat(StrictPipeline())
    messages, _, _, textbox = list(chat.respond(42, None))[-1]  # type: ignore[arg-type]
    assert "must be text, not a number" in messages[-1]["content"] and textbox == ""


class StrictPipeline(EchoPipeline):
    def check_question(self, question: str) -> str:
        from rag.pipeline import check_question

        return check_question(question, self.max_question_chars)
