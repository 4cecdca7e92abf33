"""The fault matrix: stage every verdict on the simulator, diagnose it, compare.

One simulator, one browser session for the whole matrix (extension launches are their
own browsers, as extensions need); fault proxies stand in for networks that drop streams
or crawl; an unresolvable `.invalid` host stands in for broken DNS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.diagnosis.model import Setup, Verdict
from assistant.experiments.trial import Check
from assistant.playbook.model import Route


@dataclass(frozen=True)
class Row:
    """One staged fault and the verdict it must get."""

    name: str
    expected: str
    sim: dict = field(default_factory=dict)  # simulator settings
    extensions: tuple[str, ...] = ()  # fixture extensions in the person's browser
    proxy_faults: tuple[str, ...] | None = None  # the person's path goes through a fault proxy
    proxy_latency: float = 0.0
    alt_route: bool = False  # a healthy proxy as another route
    host: str | None = None  # replace the site's host (DNS)
    api_key: bool = True
    turns: int = 1


ROWS = (
    Row("healthy", "healthy"),
    Row("always-busy, API overloaded too", "provider_outage", {"scenario": "always-busy"}),
    Row("always-busy web, API fine", "web_outage", {"scenario": "always-busy", "api_healthy": True}),
    Row("rate-limit (429, Retry-After 7)", "rate_limited", {"scenario": "rate-limit"}),
    Row("busy-twice", "transient_overload", {"scenario": "busy-twice"}),
    Row("long-conversation", "session_context", {"scenario": "long-conversation", "long_after": 2}, turns=3),
    Row("stale-cache", "stale_cache", {"scenario": "stale-cache"}),
    Row("bad-cookie", "cookies", {"scenario": "bad-cookie"}),
    Row("an extension blocks the stream", "extension", extensions=("dark-style", "block-stream", "word-counter")),
    Row("unresolvable host", "dns", host="chat.simulator.invalid"),
    Row("a proxy drops streams", "streams_blocked", proxy_faults=("drop_sse",)),
    Row("usual path too slow, other route fine", "network_route", proxy_faults=(), proxy_latency=6.0, alt_route=True),
    Row("image upload gone after recovery", "feature_missing", {"hide_features": ("image_upload",)}),
    Row("another chat's markup (plain skin)", "profile_mismatch", {"skin": "plain"}),
    Row("always-busy, API not checkable", "inconclusive", {"scenario": "always-busy"}, api_key=False),
)


@dataclass
class RowResult:
    row: Row
    got: str
    seconds: float
    verdict: Verdict | None = None
    error: str | None = None

    @property
    def matches(self) -> bool:
        return self.got == self.row.expected


async def run_matrix(rows, *, clock, emit, headless: bool = True, browser_path: str | None = None,
                     on_row: Callable[[RowResult], None] | None = None) -> list[RowResult]:
    """Diagnose every row in one browser session; report each as it ends."""
    from assistant.browser import BrowserSession
    from assistant.simulator import Simulator

    results = []
    with Simulator() as sim:
        async with BrowserSession(headless=headless, browser_path=browser_path) as session:
            for row in rows:
                started = time.monotonic()
                try:
                    verdict = await _diagnose_row(row, sim, session, clock, emit)
                    result = RowResult(row, verdict.category, time.monotonic() - started, verdict)
                except Exception as exc:  # a row that breaks is a mismatch, not the end of the matrix
                    result = RowResult(row, "error", time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
                results.append(result)
                if on_row:
                    on_row(result)
    return results


async def _diagnose_row(row: Row, sim, session, clock, emit) -> Verdict:
    from assistant.browser.extensions import fixture_extensions
    from assistant.diagnosis.engine import Diagnoser
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase
    from assistant.probes import ProbeContext
    from assistant.simulator.faultproxy import FaultProxy

    sim.configure(**{f.name: f.default for f in dataclasses.fields(type(sim.settings))})
    sim.configure(**row.sim)
    url = sim.url if row.host is None else sim.url.replace("127.0.0.1", row.host)
    site = rebase(load_site("simulator"), url)
    with contextlib.ExitStack() as stack:
        proxy = alt = None
        if row.proxy_faults is not None:
            proxy = stack.enter_context(FaultProxy(faults=row.proxy_faults, latency=row.proxy_latency)).url
        if row.alt_route:
            alt = stack.enter_context(FaultProxy()).url
        fixtures = fixture_extensions()
        setup = Setup(
            extensions=tuple(fixtures[name] for name in row.extensions),
            proxy=proxy,
            routes=(Route("alt", alt),) if alt else (),
        )
        env = {"SIMULATOR_API_KEY": "sk-selftest-not-secret"} if row.api_key else {}
        check = Check(timeout=5.0, open_timeout=3.0)
        probe_ctx = ProbeContext(timeout=4.0, proxy=proxy, env=env)
        diagnoser = Diagnoser(session, site, setup, check, clock=clock, emit=emit, turns=row.turns, probe_ctx=probe_ctx)
        return await diagnoser.run()
