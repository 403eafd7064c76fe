"""The web chat's conversations: capped, dropped when idle, and bounded in what they keep."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.results import Answer
from rag.streaming import AnswerStream
from ui.sessions import Session, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


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


class EchoPipeline:
    """An `Asker` that answers at once and records the history each question came with."""

    mode = "extractive"
    model_name = None
    multi_doc = False
    max_question_chars = 200

    def __init__(self) -> None:
        from rag.documents.parse import parse_text

        self.documents = [parse_text("Bridge opens\n\nThe mayor opened the bridge.\n", "bridge")]
        self.histories: list[int] = []

    def check_question(self, question: str) -> str:
        return question.strip()

    def example_questions(self) -> list[str]:
        return []

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Answer:
        return self.stream(question, history).answer

    def stream(self, question: str, history: Sequence[tuple[str, str]] = ()) -> AnswerStream:
        self.histories.append(len(history))
        answer = Answer(question, question, f"Answer to {question}", [], False, "extractive")
        items: Iterator[object] = iter([answer])
        return AnswerStream(items)  # type: ignore[arg-type]


def test_a_long_chat_shows_and_sends_only_its_last_turns() -> None:
    from ui.app import Chat

    pipeline = EchoPipeline()
    chat = Chat(pipeline, SessionStore(max_turns=10))
    key = None
    for n in range(30):
        messages, key, _, _ = list(chat.respond(f"question {n}", key))[-1]
    assert len(messages) == 2 * 10  # the last ten turns shown
    assert "question 29" in messages[-2]["content"] and "question 20" in messages[0]["content"]
    assert max(pipeline.histories) == 10 and pipeline.histories[-1] == 10
    # The key is all the session's state holds; another session has its own conversation.
    assert isinstance(key, str) and len(key) < 40
    messages, other, _, _ = list(chat.respond("question A", None))[-1]
    assert other != key and len(messages) == 2
    # Clearing the chat drops the conversation.
    assert chat.clear(key)[1] is None
    assert chat.sessions.get(key).turns == []


def test_an_expired_session_starts_a_new_conversation() -> None:
    from ui.app import Chat

    clock = Clock()
    pipeline = EchoPipeline()
    chat = Chat(pipeline, SessionStore(idle_seconds=600, clock=clock))
    key = list(chat.respond("question 1", None))[-1][1]
    list(chat.respond("question 2", key))
    clock.now += 601
    messages, _, _, _ = list(chat.respond("question 3", key))[-1]
    assert pipeline.histories == [0, 1, 0] and len(messages) == 2


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
