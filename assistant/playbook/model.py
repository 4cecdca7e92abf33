"""The typed playbook: what the loader produces and the runner consumes.

Durations are float seconds. Every step keeps its source position so errors and
reports can point at `file:line:col`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.timing.retry import OUTCOMES_RETRYABLE_BY_DEFAULT, Exponential, RetryPolicy  # noqa: F401 (part of the model)
from assistant.timing.windows import DEFAULT_QUIET, Window  # noqa: F401 (part of the model)

# The `probes:` a playbook may name (probes/ implements them; the loader checks the names).
PROBE_NAMES = ("status_page", "api", "dns", "connect", "streams", "windows")
# What the `clear` step can clear (experiments/hygiene.py clears it).
CLEARABLE = ("cookies", "cache", "local_storage", "session_storage", "indexeddb", "service_workers")


@dataclass(frozen=True)
class Pos:
    """A place in a YAML file, 1-based."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Step:
    """One step of a playbook, or a `retry` block holding steps."""

    kind: str
    params: dict[str, Any]
    pos: Pos
    retry: RetryPolicy | None = None
    steps: list[Step] = field(default_factory=list)
    optional: bool = False  # a failure is recorded, the run goes on and is not failed by it
    when: Any = None  # a parsed `when:` condition (assistant.playbook.when.When); false: skipped

    @property
    def is_block(self) -> bool:
        return self.kind == "retry"


@dataclass
class BrowserSpec:
    """How to run the browser for this playbook."""

    headless: bool = True
    profile: str = "clean"  # clean | path (a copy of profile_path) | storage_state
    locale: str | None = None
    viewport: tuple[int, int] | None = None
    profile_path: Path | None = None  # a Chromium/Chrome user-data or profile folder
    storage_state: Path | None = None  # a saved signed-in session (assistant login)
    extensions: tuple[Path, ...] = ()  # unpacked extension folders to load


@dataclass
class StreamSpec:
    """Where the chat's reply stream comes from (URL path substrings) and its kind."""

    paths: tuple[str, ...] = ()
    kind: str = "sse"


@dataclass
class ApiSpec:
    """An OpenAI-compatible API: the provider's own, or a fallback route to a model."""

    base: str
    key_env: str | None = None  # the environment variable holding the key; the key is never stored
    model: str | None = None
    name: str = "api"




@dataclass(frozen=True)
class Route:
    """Another network path to the site: a named proxy (http://, https://, socks5://)."""

    name: str
    proxy: str


@dataclass
class SiteProfile:
    """A web chat: URL, selectors, the texts it shows when busy, status page and API."""

    name: str
    url: str
    path: Path | None = None
    # Playwright selectors, alternatives in order: composer, send, reply, new_chat,
    # retry_button, error_row, toast, alert. `reply`, `error_row`, `toast` and `alert`
    # must be CSS (they are also watched from inside the page).
    selectors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Exact texts by outcome: busy, rate_limited, error.
    busy_texts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stream: StreamSpec = field(default_factory=StreamSpec)
    status_page: tuple[str, ...] = ()
    api: ApiSpec | None = None
    features: dict[str, tuple[str, ...]] = field(default_factory=dict)
    api_fallbacks: tuple[ApiSpec, ...] = ()
    quiet_windows: tuple[Window, ...] = DEFAULT_QUIET
    busy_windows: tuple[Window, ...] = ()
    routes: tuple[Route, ...] = ()
    typing_delay: float = 0.0  # seconds between keys when typing into the composer (0: fill at once)


@dataclass
class Playbook:
    """A validated playbook, ready to run."""

    name: str
    path: Path | None
    site: SiteProfile
    browser: BrowserSpec
    vars: dict[str, str]
    steps: list[Step]
    source: str = ""
    probes: tuple[str, ...] = ()  # outside probes run alongside the browser check
    routes: tuple[Route, ...] = ()  # the site's routes plus the playbook's own
    # Each `${env:NAME}` value read -> that reference: labels and messages show the name, never the value.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
