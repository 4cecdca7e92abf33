"""Running probes concurrently: each bounded by its own timeout, none able to stop the others."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from datetime import datetime, timezone

from assistant.playbook.model import SiteProfile
from assistant.probes import PROBE_NAMES, Finding, ProbeContext

# name -> (module, coroutine function); imported only when a probe is asked for.
_PROBES = {
    "status_page": ("assistant.probes.statuspage", "probe_status_page"),
    "api": ("assistant.probes.api", "probe_api"),
    "dns": ("assistant.probes.network", "probe_dns"),
    "connect": ("assistant.probes.network", "probe_connect"),
    "streams": ("assistant.probes.streams", "probe_streams"),
    "windows": ("assistant.probes.run", "probe_windows"),
}
assert set(_PROBES) == set(PROBE_NAMES)
GRACE_S = 2.0  # beyond a probe's own timeout, before it is cut off


async def probe_windows(site: SiteProfile, ctx: ProbeContext, now: datetime | None = None) -> list[Finding]:
    """Quiet and busy windows relative to now, in UTC and local time."""
    from assistant.probes.windows import window_findings

    return window_findings(site, now or datetime.now(timezone.utc))


async def run_one(name: str, site: SiteProfile, ctx: ProbeContext) -> list[Finding]:
    """One probe, bounded; a crash or overrun becomes a finding instead of an exception."""
    module, func = _PROBES[name]
    started = time.monotonic()
    try:
        probe = getattr(importlib.import_module(module), func)
        findings = await asyncio.wait_for(probe(site, ctx), ctx.timeout + GRACE_S)
    except asyncio.TimeoutError:
        findings = [Finding(name, site.name, "timeout", f"the {name} probe did not finish within {ctx.timeout:g} s")]
    except Exception as exc:  # a probe bug must not hide the other probes' evidence
        findings = [Finding(name, site.name, "error", f"the {name} probe failed: {type(exc).__name__}: {exc}")]
    for finding in findings:
        finding.data.setdefault("probe_s", round(time.monotonic() - started, 3))
    return findings


async def run_probes(
    site: SiteProfile,
    names: tuple[str, ...] | list[str],
    ctx: ProbeContext,
    on_finding: Callable[[Finding], None] | None = None,
) -> list[Finding]:
    """Run the named probes concurrently; report each finding as soon as its probe ends."""
    results: list[Finding] = []
    for next_done in asyncio.as_completed([run_one(n, site, ctx) for n in names]):
        for finding in await next_done:
            results.append(finding)
            if on_finding:
                on_finding(finding)
    return results
