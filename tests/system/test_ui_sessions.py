"""The web chat's conversations: capped, dropped when idle, and bounded in what they keep.

System tier: the CLI in a subprocess, servers, the browser or packaging.
"""

from __future__ import annotations

from ui.sessions import SessionStore

from ..fakes import Clock, EchoPipeline


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
