"""Outside the browser: status page, API, DNS, connection, streams on the path.

Each probe is a coroutine `probe(site, ctx) -> list[Finding]` that never raises for
what it measures (a refused connection is a finding, not an exception) and keeps to
its own timeout, so independent probes run concurrently and one slow probe does not
hold up the others. Secrets (API keys) are read from the environment at the moment
of use and never stored in a Finding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The probes a playbook can ask for (`probes: [...]`); `run.py` maps them to code.
from assistant.playbook.model import PROBE_NAMES  # noqa: F401 (the names live with the playbook language)


@dataclass
class Finding:
    """One observation from outside the browser."""

    probe: str  # status_page | api | dns | connect | streams | windows | route
    subject: str  # what was looked at: a host, a component, an API route, ...
    outcome: str  # ok | degraded | down | busy | rate_limited | queued | error | timeout | unknown
    summary: str  # one line a person can read
    data: dict[str, Any] = field(default_factory=dict)  # numbers and details (timings in seconds)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProbeContext:
    """What every probe gets: its time limit, an optional proxy, and permissions."""

    timeout: float = 10.0  # real seconds, per probe
    proxy: str | None = None  # http://host:port to send the probe's traffic through
    allow_system_changes: bool = False  # e.g. flushing the DNS cache
    # Where API keys are read from (default: os.environ); kept out of repr so that
    # logging a context can never print a key.
    env: dict[str, str] | None = field(default=None, repr=False)
