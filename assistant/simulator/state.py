"""Shared, thread-safe state: the current settings and the counters that drive the faults.

Faults that live in a browser's state (busy-twice, bad-cookie, stale-cache; and
long-conversation per chat) count per browser session: each browser profile gets a
visitor id on its first page load (the `sim_visitor` cookie, and the page's ETag, so
clearing only cookies or only the cache keeps it), and `Faults` holds that session's
counters. A new profile meets the fault again; requests with no visitor (the API, a test's
own HTTP client) share one session. `reset()` (POST /__reset) forgets every session.
`current_visitor` says which session the request being served belongs to (set by the
server's middleware), so code deciding a request's fault asks `faults()` for its counters.

The server runs on its own thread and loop while tests call `configure()` and read the
counters from theirs, so every read-modify-write goes through one lock. Deciding what a
request gets (answer, busy, 503...) happens here, in one place, so the web endpoint and
the API cannot drift apart in how they count.
"""

from __future__ import annotations

import re
import threading
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

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


# The browser session (visitor) of the request being served; None: not a browser's.
VISITOR_COOKIE = "sim_visitor"
current_visitor: ContextVar[str | None] = ContextVar("current_visitor", default=None)
_VALID_VISITOR = re.compile(r"v-[0-9a-f]{16}")


def new_visitor() -> str:
    return f"v-{uuid.uuid4().hex[:16]}"


def visitor_of(cookie: str | None, if_none_match: str | None) -> str | None:
    """The visitor a request names: its cookie, else the ETag its cached page carries."""
    if cookie and _VALID_VISITOR.fullmatch(cookie):
        return cookie
    tag = (if_none_match or "").strip().removeprefix("W/").strip('"')
    return tag if _VALID_VISITOR.fullmatch(tag) else None


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
    why: str = ""  # what decided it, for the request log ("1 of 2 busy left")


@dataclass
class Faults:
    """One browser session's counters: what its next page load, bundle or send gets."""

    pages: int = 0
    bundles: int = 0
    completions: int = 0  # web sends
    api_completions: int = 0  # API requests, counted apart (the API has its own busy-twice)
    turns_by_chat: dict[str, int] = field(default_factory=dict)
    answers_by_chat: dict[str, int] = field(default_factory=dict)


class State:
    """Settings plus counters; `configure` swaps settings and resets every counter."""

    def __init__(self, settings: Settings):
        self._lock = threading.Lock()
        self.settings = settings
        self.log = None  # a callable taking one line per request served (`assistant simulate`)
        self._reset()

    def _reset(self) -> None:
        self.completions = (
            0  # web sends, either skin (/api/v0/chat/completion, /backend/conversation)
        )
        self.api_completions = 0  # POST /v1/chat/completions, counted apart on purpose
        self.pages = 0  # page loads (/, /a/chat/s/<id>, /c/<id>)
        self.bundles = 0  # script bundles (/static/bundle.js, /assets/app.js)
        self._sessions: dict[str | None, Faults] = {}
        self._labels: dict[str, int] = {}  # visitor -> 1, 2, ... in order of first page load
        self._owners: dict[str, str] = {}  # chat id -> the browser session that began it

    def reset(self) -> None:
        """Forget every counter and browser session; the settings stay (POST /__reset)."""
        with self._lock:
            self._reset()

    def browser_label(self, visitor: str | None) -> str:
        """`  [browser 2]` for the request log; '' for requests from no browser session."""
        with self._lock:
            number = self._labels.get(visitor) if visitor else None
        return f"  [browser {number}]" if number else ""

    def note_chat(self, chat_id: str) -> None:
        """The request being served began or used chat `chat_id`: its page is that session's."""
        visitor = current_visitor.get()
        if visitor is not None and chat_id:
            with self._lock:
                self._owners.setdefault(chat_id, visitor)

    def owner(self, chat_id: str | None) -> str | None:
        """The browser session chat `chat_id` belongs to (its page reloaded without cookies)."""
        with self._lock:
            return self._owners.get(chat_id) if chat_id else None

    def begin_visit(self, visitor: str | None) -> tuple[str, bool]:
        """A page load's browser session: `visitor`, or a new one (then True)."""
        if visitor is not None:
            with self._lock:
                self._labels.setdefault(visitor, len(self._labels) + 1)
            return visitor, False
        visitor = new_visitor()
        with self._lock:
            self._labels[visitor] = len(self._labels) + 1
        return visitor, True

    def faults(self, visitor: str | None = None) -> Faults:
        """The counters of browser session `visitor` (default: the request being served's).
        Hold `self._lock` while reading or changing them."""
        key = visitor if visitor is not None else current_visitor.get()
        if key not in self._sessions:
            self._sessions[key] = Faults()
        return self._sessions[key]

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
                    "chats": sum(len(f.turns_by_chat) for f in self._sessions.values()),
                    "sessions": sum(1 for k in self._sessions if k is not None),
                },
            }

    def page_session(self, current: str | None) -> str | None:
        """Count a page load; the session cookie it sets, or None to leave the browser's alone.

        bad-cookie corrupts the session on a browser session's first load (overwriting a
        good one), then behaves like every scenario: a load without a session gets a fresh
        valid one, and a load with any session, even a corrupt one, keeps it. So a reload
        keeps failing and only clearing cookies (then reloading) fixes it.
        """
        with self._lock:
            self.pages += 1
            faults = self.faults()
            faults.pages += 1
            if self.settings.scenario == "bad-cookie" and faults.pages == 1:
                return CORRUPT_SESSION
        return new_session() if current is None else None

    def bundle_build(self) -> str:
        """Count a request for the script bundle and decide which build it gets.

        stale-cache: a browser session's first request stands for the copy the browser
        cached before a deploy, so it gets the OLD build; the bundle is cacheable, so the
        browser keeps using it until a hard reload or an emptied cache asks again.
        """
        with self._lock:
            self.bundles += 1
            faults = self.faults()
            faults.bundles += 1
            stale = self.settings.scenario == "stale-cache" and faults.bundles == 1
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
            faults = self.faults()
            faults.completions += 1
            mine = faults.completions  # this browser session's sends
            if current_visitor.get() is not None and chat_id:
                self._owners.setdefault(chat_id, current_visitor.get())
            turn = faults.turns_by_chat[chat_id] = faults.turns_by_chat.get(chat_id, 0) + 1
            # Scenarios not listed answer here: stale-cache's fault is the old bundle, not
            # this endpoint, and the two below decide for themselves.
            outcome = {
                "healthy": ANSWER,
                "busy-twice": BUSY if mine <= BUSY_TWICE_COUNT else ANSWER,
                "always-busy": BUSY,
                "http-503": HTTP_503,
                "rate-limit": RATE_LIMIT,
                "stream-stall": STALL,
                "stream-truncated": TRUNCATED,
            }.get(s.scenario, ANSWER)
            why = ""
            if s.scenario == "busy-twice":
                why = f"{max(0, BUSY_TWICE_COUNT - mine)} of {BUSY_TWICE_COUNT} busy left"
            if s.scenario == "long-conversation":
                answered = faults.answers_by_chat.get(chat_id, 0)
                outcome = BUSY if answered >= s.long_after else ANSWER
                why = f"turn {turn} of its chat; busy after {s.long_after} answers until a new chat"
            if s.scenario == "bad-cookie":
                corrupt = session is not None and not is_valid_session(session)
                outcome = BUSY if corrupt else ANSWER
                why = "the corrupt session cookie" if corrupt else "a valid session cookie"
            if outcome == ANSWER:
                faults.answers_by_chat[chat_id] = faults.answers_by_chat.get(chat_id, 0) + 1
            return Turn(outcome, s, n, turn, why)

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
            faults = self.faults()
            faults.api_completions += 1
            mine = faults.api_completions
            outcome = {
                "busy-twice": HTTP_503 if mine <= BUSY_TWICE_COUNT else ANSWER,
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
            why = f"{max(0, BUSY_TWICE_COUNT - mine)} of {BUSY_TWICE_COUNT} busy left" if s.scenario == "busy-twice" and outcome != API_ERROR else ""
            return Turn(outcome, s, n, 1, why)


OUTCOME_WORDS = {
    ANSWER: "answer", BUSY: "busy (hint)", HTTP_503: "HTTP 503 (busy)", RATE_LIMIT: "HTTP 429 (rate limit)",
    STALL: "stall (heartbeats, then nothing)", TRUNCATED: "truncated answer", API_ERROR: "the staged API error",
}


def describe(turn: Turn) -> str:
    """A request log's right side: `busy (hint), 1 of 2 busy left`."""
    word = OUTCOME_WORDS.get(turn.outcome, turn.outcome)
    return f"{word}, {turn.why}" if turn.why else word
