"""The web chat's conversations, kept on the server with a cap and an idle expiry.

`SessionStore` holds one `Session` (the chat as shown and the turns asked) per browser session,
by a key that the session's `gr.State` carries. The least recently used sessions go first when
more than `capacity` are kept, and a session unused for `idle_seconds` is dropped: a key that
is no longer known starts a new conversation. A session keeps only its last `max_turns` turns,
so what one turn sends back to the browser is bounded too. The clock is injectable for tests.

Not here: what a turn does (ui.app) or how a follow-up is rewritten (rag.chat.rewrite, which
reads only the last few turns).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_SESSIONS = 500  # conversations kept at once (Gradio's own per-session records likewise)
IDLE_SECONDS = 3600.0  # a conversation unused this long is dropped
MAX_TURNS = 50  # turns a conversation keeps and shows


@dataclass
class Session:
    """One conversation: the chat messages as shown, and the (question as asked, answer) turns."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    turns: list[tuple[str, str]] = field(default_factory=list)


class SessionStore:
    """Conversations by key, least recently used first; safe to share between threads."""

    def __init__(
        self,
        capacity: int = MAX_SESSIONS,
        idle_seconds: float = IDLE_SECONDS,
        max_turns: int = MAX_TURNS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.idle_seconds = idle_seconds
        self.max_turns = max_turns
        self.clock = clock
        self._sessions: OrderedDict[str, tuple[float, Session]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return len(self._sessions)

    def get(self, key: str | None) -> Session:
        """A copy of the conversation under `key`: a new one when the key is unknown or expired."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if key is None or key not in self._sessions:
                return Session()
            _, session = self._sessions.pop(key)
            self._sessions[key] = (now, session)  # most recently used
            return Session(list(session.messages), list(session.turns))

    def put(self, key: str | None, session: Session) -> str:
        """Keep `session` (its last `max_turns` turns) under `key`, or a new key; the key."""
        kept = Session(session.messages[-2 * self.max_turns :], session.turns[-self.max_turns :])
        with self._lock:
            now = self.clock()
            self._expire(now)
            key = key or secrets.token_urlsafe(16)
            self._sessions.pop(key, None)
            self._sessions[key] = (now, kept)
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return key

    def drop(self, key: str | None) -> None:
        with self._lock:
            self._sessions.pop(key or "", None)

    def _expire(self, now: float) -> None:
        """Drop the sessions idle too long: they are the oldest, at the front."""
        while self._sessions:
            used, _ = next(iter(self._sessions.values()))
            if now - used <= self.idle_seconds:
                break
            self._sessions.popitem(last=False)
