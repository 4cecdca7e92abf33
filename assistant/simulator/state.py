"""Shared, thread-safe state: the current settings and the counters that drive the faults.

The server runs on its own thread and loop while tests call `configure()` and read the
counters from theirs, so every read-modify-write goes through one lock. Deciding what a
request gets (answer, busy, 503...) happens here, in one place, so the web endpoint and
the API cannot drift apart in how they count.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from assistant.simulator.settings import BUSY_TWICE_COUNT, LONG_CHAT_ANSWERS, Settings

# What one completion request gets.
ANSWER = "answer"
BUSY = "busy"  # web: heartbeats then an error hint; API: 503
HTTP_503 = "http-503"
RATE_LIMIT = "rate-limit"
STALL = "stall"
TRUNCATED = "truncated"
API_ERROR = "api-error"  # the API answers the `api_status` setting's error


@dataclass(frozen=True)
class Turn:
    """The decision for one completion request, with the settings it was made under."""

    outcome: str
    settings: Settings
    number: int  # 1-based count of this kind of request since start/configure
    turn_in_chat: int = 1  # 1-based turn within its conversation (web only)


class State:
    """Settings plus counters; `configure` swaps settings and resets every counter."""

    def __init__(self, settings: Settings):
        self._lock = threading.Lock()
        self.settings = settings
        self._reset()

    def _reset(self) -> None:
        self.completions = 0  # web POST /api/v0/chat/completion
        self.api_completions = 0  # POST /v1/chat/completions, counted apart on purpose
        self._turns_by_chat: dict[str, int] = {}
        self._answers_by_chat: dict[str, int] = {}

    def configure(self, **changes) -> Settings:
        settings = Settings.make(self.settings, **changes)  # validate before touching anything
        with self._lock:
            self.settings = settings
            self._reset()
        return settings

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "settings": self.settings.as_dict(),
                "counters": {
                    "completions": self.completions,
                    "api_completions": self.api_completions,
                    "chats": len(self._turns_by_chat),
                },
            }

    def web_turn(self, chat_id: str) -> Turn:
        """Count a web completion request and decide what it gets."""
        with self._lock:
            self.completions += 1
            n = self.completions
            s = self.settings
            turn = self._turns_by_chat[chat_id] = self._turns_by_chat.get(chat_id, 0) + 1
            outcome = {
                "healthy": ANSWER,
                "busy-twice": BUSY if n <= BUSY_TWICE_COUNT else ANSWER,
                "always-busy": BUSY,
                "http-503": HTTP_503,
                "rate-limit": RATE_LIMIT,
                "stream-stall": STALL,
                "stream-truncated": TRUNCATED,
            }.get(s.scenario)
            if s.scenario == "long-chat-busy":
                answered = self._answers_by_chat.get(chat_id, 0)
                outcome = BUSY if answered >= LONG_CHAT_ANSWERS else ANSWER
            if outcome == ANSWER:
                self._answers_by_chat[chat_id] = self._answers_by_chat.get(chat_id, 0) + 1
            return Turn(outcome, s, n, turn)

    def api_turn(self) -> Turn:
        """Count an API completion request and decide what it gets.

        The API has no overload hint: busy is a 503. Stalls and truncation only exist
        for streaming requests; the handler decides how a non-streaming one looks. A
        staged `api_status` wins over the scenario: it is what the test asked for.
        """
        with self._lock:
            self.api_completions += 1
            n = self.api_completions
            s = self.settings
            outcome = {
                "busy-twice": HTTP_503 if n <= BUSY_TWICE_COUNT else ANSWER,
                "always-busy": HTTP_503,
                "http-503": HTTP_503,
                "rate-limit": RATE_LIMIT,
                "stream-stall": STALL,
                "stream-truncated": TRUNCATED,
            }.get(s.scenario, ANSWER)
            if s.api_status is not None:
                outcome = API_ERROR
            return Turn(outcome, s, n)
