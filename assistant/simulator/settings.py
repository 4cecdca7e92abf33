"""The simulator's knobs: which fault to play, how the page shows it, and how fast.

Settings are validated once, here, so a typo in a test or on the command line fails
loudly with the list of valid values instead of silently serving a healthy chat.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SCENARIOS: dict[str, str] = {
    "healthy": "every send answers",
    "busy-twice": "a browser session's first two completion requests are busy, then every send answers",
    "always-busy": "every completion is busy (heartbeats, then an error hint)",
    "http-503": "the completion endpoint answers HTTP 503 with the busy text",
    "rate-limit": "the completion endpoint answers HTTP 429 with Retry-After (unless retry_after is empty)",
    "stream-stall": "heartbeats, then the stream closes with no data and no hint",
    "stream-truncated": "the answer starts streaming, then the stream closes before it finishes",
    "stale-cache": "a browser session's first script bundle is an old build that posts to a retired endpoint (410), "
    "cached for a day: only a hard reload or an emptied cache fixes it",
    "bad-cookie": "a browser session's first page load sets a corrupt session cookie and every send carrying it is busy: "
    "only clearing cookies and reloading fixes it",
    "long-conversation": "each conversation answers long_after times, then is busy until a new chat is started "
    "(diagnose with --turns 3 to meet it)",
}

API_KEY_HINT = "sim-any-key"  # the simulator's API takes any key; this one is as good as any


def ready_notes(url: str, scenario: str, *, log: bool = True) -> list[str]:
    """What `assistant simulate` tells a person once it listens: how faults count, the API
    key to set, and what a scenario needs to show."""
    notes = [
        "Faults count per browser session: a new browser profile meets busy-twice, bad-cookie and stale-cache "
        f"again; `curl -X POST {url}/__reset` starts every count over.",
        f"Any API key works: `export SIMULATOR_API_KEY={API_KEY_HINT}` lets `assistant diagnose simulator` "
        "compare the web chat with the API (without a key the API is not checked).",
    ]
    if scenario == "long-conversation":
        notes.append("long-conversation is busy from the third message of a conversation: diagnose it with `--turns 3`.")
    if log:
        notes.append("One line per request follows (-q hides them).")
    return notes


BUSY_FORMS = ("inline", "row", "toast")
LANGS = ("en", "zh")

# The page's look: "deepseek" imitates chat.deepseek.com (`web`), "plain" is a generic
# chat with other markup, texts and stream format (`plain`). Both serve every scenario,
# busy form and language, so a detector tuned to one skin's quirks shows up as a failure
# on the other.
SKINS = ("deepseek", "plain")
# The DeepSeek skin's transcript markup, by UI generation (shared/GROUND_TRUTH.md):
# "2025" is the simulator's own stable DOM (bubbles in `.ds-markdown--block`, an error row
# with role=alert); "2026" [3P] is the live page as a third party captured it: turns in
# `div.ds-virtual-list-visible-items`, the person's turn `div.ds-message`, a finished
# answer a plain `div.ds-markdown` followed by an action bar ("复制") that only shows once
# it is complete, and a busy turn with no answer: "重试" inside the person's turn and the
# refusal in a sibling row with hashed classes only. In 2026 a busy turn always shows in
# that row (busy_form is not used) with the 2026 text. The plain skin has one markup.
MARKUPS = ("2025", "2026")
# Where the DeepSeek skin's page streams a reply from. The first is the real site's [3P]
# and the `deepseek` profile's; the others stand for a deploy that moved it, so the
# profile's stream path matches nothing and only the page can tell busy from answered.
# Every one is routed; a POST to one that is not the current setting is 404.
STREAM_PATHS = ("/api/v0/chat/completion", "/api/v1/chat/completion", "/api/v0/chat/stream")
# How `hidden_busy_row` hides the busy row the page also puts in every turn (inline
# style on the row itself); a hidden row is not a busy signal (GROUND_TRUTH.md).
HIDDEN_ROW_STYLES: dict[str, str] = {
    "display-none": "display: none",
    "visibility-hidden": "visibility: hidden",
    "opacity-0": "opacity: 0",
}
# Page features the `hide_features` setting can leave out, as a recovering site may
# ("the chat answers, image recognition is gone").
FEATURES = ("image_upload",)

# Statuspage indicator -> (page description, status of every component), as Atlassian
# Statuspage words them.
STATUS_LEVELS: dict[str, tuple[str, str]] = {
    "none": ("All Systems Operational", "operational"),
    "minor": ("Partially Degraded Service", "degraded_performance"),
    "major": ("Partial System Outage", "partial_outage"),
    "critical": ("Major System Outage", "major_outage"),
}

COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
INCIDENT_STATUSES = ("investigating", "identified", "monitoring")  # unresolved ones only
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying")  # not yet completed
# none: a healthy page; cloudflare: a 403 challenge page where JSON was expected;
# no-summary: summary.json is 404, so a probe must fall back to status.json.
STATUS_FAULTS = ("none", "cloudflare", "no-summary")

# API error statuses the simulator can stage, DeepSeek's documented ones plus Anthropic's
# 529 (a fallback provider's overload); `openai_api` holds their bodies.
API_STATUSES = (400, 401, 402, 422, 429, 500, 503, 529)
FINISH_REASONS = ("stop", "length", "content_filter", "insufficient_system_resource")

# How many turns `busy-twice` fails.
BUSY_TWICE_COUNT = 2


@dataclass(frozen=True)
class Settings:
    """One run's settings. Build with `Settings.make(**kw)` to validate; copy with `replace`."""

    scenario: str = "healthy"
    busy_form: str = "inline"
    lang: str = "en"
    heartbeats: int = 3
    heartbeat_interval: float = 0.05
    chunk_delay: float = 0.01
    # A string because the real header is one; None or "" leaves the header out.
    retry_after: str | None = "7"
    # long-conversation: answers per conversation before it turns busy (people report two or three).
    long_after: int = 2
    skin: str = "deepseek"  # one of SKINS; like the busy form, a page load picks it up
    hide_features: tuple[str, ...] = ()  # FEATURES the page leaves out, on either skin
    # DeepSeek skin only, fixed when the page loads (reload after configure):
    markup: str = "2025"  # one of MARKUPS: the transcript's DOM
    stream_path: str = STREAM_PATHS[0]  # one of STREAM_PATHS: where the page's script posts
    # One of HIDDEN_ROW_STYLES, or None: every turn ALSO gets a busy row (the markup's own
    # form, busy text included) hidden that way, answered turns too.
    hidden_busy_row: str | None = None
    status: str = "none"
    # Status page, beyond the overall level. A component left at None follows `status`;
    # nothing derives the indicator from them, so a test stages exactly what it asserts.
    component_api: str | None = None
    component_web: str | None = None
    incident: str | None = None  # the name of an unresolved incident (replaces the default one)
    incident_impact: str = "minor"
    incident_status: str = "investigating"
    maintenance: str | None = None  # the name of a scheduled maintenance
    maintenance_status: str = "in_progress"
    status_fault: str = "none"
    # API, beyond the scenario: an error status for every completion (401 also for
    # /models), seconds a completion waits in the queue sending keep-alives before it
    # answers (the real API holds it up to 10 minutes), and how an answer finishes.
    api_status: int | None = None
    api_queued: float = 0.0
    api_finish_reason: str = "stop"
    # True: the API answers whatever the web scenario is ("web busy, API fine"); a staged
    # `api_status` still wins, being the more specific request.
    api_healthy: bool = False

    @classmethod
    def make(cls, base: Settings | None = None, **changes) -> Settings:
        """Validate `changes` on top of `base` (default: the defaults) and return new settings."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ValueError(
                f"unknown simulator setting(s) {', '.join(unknown)}; valid settings: {', '.join(names)}"
            )
        settings = dataclasses.replace(base or cls(), **changes)
        settings._validate()
        return settings

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def shown_busy_form(self) -> str:
        """The busy form the DeepSeek page shows: the setting's, except that the 2026
        markup only knows its error row."""
        return "row" if self.markup == "2026" else self.busy_form

    def _validate(self) -> None:
        _one_of("scenario", self.scenario, SCENARIOS)
        _one_of("busy form", self.busy_form, BUSY_FORMS)
        _one_of("language", self.lang, LANGS)
        _one_of("skin", self.skin, SKINS)
        if isinstance(self.markup, int) and not isinstance(self.markup, bool):
            object.__setattr__(self, "markup", str(self.markup))  # 2026 from JSON or YAML
        _one_of("markup", self.markup, MARKUPS)
        _one_of("stream path", self.stream_path, STREAM_PATHS)
        if self.hidden_busy_row in ("", "none"):
            object.__setattr__(self, "hidden_busy_row", None)  # "" or "none" from a command line
        if self.hidden_busy_row is not None:
            _one_of("hidden busy row style", self.hidden_busy_row, HIDDEN_ROW_STYLES)
        self._validate_features()
        _one_of("status indicator", self.status, STATUS_LEVELS)
        for name in ("component_api", "component_web"):
            if getattr(self, name) is not None:
                _one_of(name.replace("_", " ") + " status", getattr(self, name), COMPONENT_STATUSES)
        _one_of("incident impact", self.incident_impact, STATUS_LEVELS)
        _one_of("incident status", self.incident_status, INCIDENT_STATUSES)
        _one_of("maintenance status", self.maintenance_status, MAINTENANCE_STATUSES)
        _one_of("status fault", self.status_fault, STATUS_FAULTS)
        if isinstance(self.api_status, str) and self.api_status.isdigit():
            object.__setattr__(self, "api_status", int(self.api_status))  # "503" from a CLI
        if self.api_status is not None:
            _one_of("API status", self.api_status, API_STATUSES)
        _one_of("finish reason", self.api_finish_reason, FINISH_REASONS)
        for name in ("heartbeats", "long_after"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        for name in ("heartbeat_interval", "chunk_delay", "api_queued"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
        if not isinstance(self.api_healthy, bool):
            raise ValueError(f"api_healthy must be true or false, not {self.api_healthy!r}")
        if self.retry_after is not None and not isinstance(self.retry_after, str):
            # Accept 7 as well as "7": frozen, so set through object.__setattr__.
            object.__setattr__(self, "retry_after", str(self.retry_after))

    def _validate_features(self) -> None:
        # A list from JSON (/__sim/config) or "a,b" from a command line: store a tuple, so
        # settings stay hashable and compare equal however they were given.
        value = self.hide_features
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"hide_features must be a list of feature names, not {value!r}")
        names = tuple(n.strip() for n in names if n.strip())
        for name in names:
            _one_of("feature", name, FEATURES)
        object.__setattr__(self, "hide_features", names)


def _one_of(what: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(map(str, valid))}")
