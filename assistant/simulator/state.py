"""Shared, thread-safe state: the current settings and the counters that drive the faults.

The server runs on its own thread and loop while tests call `configure()` and read the
counters from theirs, so every read-modify-write goes through one lock. Deciding what a
request gets (answer, busy, 503...) happens here, in one place, so the web endpoint and
the API cannot drift apart in how they count.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass

from assistant.simulator.settings import BUSY_TWICE_COUNT, Settings

# What one completion request gets.
ANSWER = "answer"
BUSY = "busy"  # web: heartbeats then an error hint; API: 503
HTTP_503 = "http-503"
RATE_LIMIT = "rate-limit"
STALL = "stall"
TRUNCATED = "truncated"
API_ERROR = "api-error"  # the API answers the `api_status` setting's error

# Which script bundle a request for it gets (stale-cache serves OLD once).
OLD_BUILD = "old"
NEW_BUILD = "new"

# The web session cookie. Valid values are the ones `new_session` issues; bad-cookie plants
# CORRUPT_SESSION, which the server cannot decode (an encoded NUL) and so cannot serve.
SESSION_COOKIE = "ds_session"
CORRUPT_SESSION = "corrupt%00%ff%fe"
_VALID_SESSION = re.compile(r"sim-[0-9a-f]{32}")


def new_session() -> str:
    return f"sim-{uuid.uuid4().hex}"


def is_valid_session(value: str) -> bool:
    return _VALID_SESSION.fullmatch(value) is not None


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
        self.completions = (
            0  # web sends, either skin (/api/v0/chat/completion, /backend/conversation)
        )
        self.api_completions = 0  # POST /v1/chat/completions, counted apart on purpose
        self.pages = 0  # page loads (/, /a/chat/s/<id>, /c/<id>)
        self.bundles = 0  # script bundles (/static/bundle.js, /assets/app.js)
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
                    "pages": self.pages,
                    "bundles": self.bundles,
                    "chats": len(self._turns_by_chat),
                },
            }

    def page_session(self, current: str | None) -> str | None:
        """Count a page load; the session cookie it sets, or None to leave the browser's alone.

        bad-cookie corrupts the session on the first load after configure (overwriting a
        good one), then behaves like every scenario: a load without a session gets a fresh
        valid one, and a load with any session, even a corrupt one, keeps it. So a reload
        keeps failing and only clearing cookies (then reloading) fixes it.
        """
        with self._lock:
            self.pages += 1
            if self.settings.scenario == "bad-cookie" and self.pages == 1:
                return CORRUPT_SESSION
        return new_session() if current is None else None

    def bundle_build(self) -> str:
        """Count a request for the script bundle and decide which build it gets.

        stale-cache: the first request after configure stands for the copy the browser
        cached before a deploy, so it gets the OLD build; the bundle is cacheable, so the
        browser keeps using it until a hard reload or an emptied cache asks again.
        """
        with self._lock:
            self.bundles += 1
            stale = self.settings.scenario == "stale-cache" and self.bundles == 1
        return OLD_BUILD if stale else NEW_BUILD

    def web_turn(self, chat_id: str, session: str | None = None) -> Turn:
        """Count a web completion request and decide what it gets.

        `session` is the request's session cookie: bad-cookie makes a corrupt one busy (the
        server is fine, the browser's state is not); no cookie at all still answers.
        """
        with self._lock:
            self.completions += 1
            n = self.completions
            s = self.settings
            turn = self._turns_by_chat[chat_id] = self._turns_by_chat.get(chat_id, 0) + 1
            # Scenarios not listed answer here: stale-cache's fault is the old bundle, not
            # this endpoint, and the two below decide for themselves.
            outcome = {
                "healthy": ANSWER,
                "busy-twice": BUSY if n <= BUSY_TWICE_COUNT else ANSWER,
                "always-busy": BUSY,
                "http-503": HTTP_503,
                "rate-limit": RATE_LIMIT,
                "stream-stall": STALL,
                "stream-truncated": TRUNCATED,
            }.get(s.scenario, ANSWER)
            if s.scenario == "long-conversation":
                answered = self._answers_by_chat.get(chat_id, 0)
                outcome = BUSY if answered >= s.long_after else ANSWER
            if s.scenario == "bad-cookie":
                outcome = BUSY if session is not None and not is_valid_session(session) else ANSWER
            if outcome == ANSWER:
                self._answers_by_chat[chat_id] = self._answers_by_chat.get(chat_id, 0) + 1
            return Turn(outcome, s, n, turn)

    def api_turn(self) -> Turn:
        """Count an API completion request and decide what it gets.

        The API has no overload hint: busy is a 503. Stalls and truncation only exist
        for streaming requests; the handler decides how a non-streaming one looks. A
        staged `api_status` wins over the scenario: it is what the test asked for.
        `api_healthy` cuts the API loose from the web scenario ("web busy, API fine").
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
            if s.api_healthy:
                outcome = ANSWER
            if s.api_status is not None:
                outcome = API_ERROR
            return Turn(outcome, s, n)
