"""The `windows` probe: is now a declared busy window, and when is the next quiet one."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo

from assistant.playbook.model import SiteProfile
from assistant.probes import Finding
from assistant.timing.windows import (
    describe_next,
    end_after,
    in_window,
    instants,
    label,
    local_clock,
    minutes_of,
    next_window_start,
    seconds_until_quiet,
)


def window_findings(site: SiteProfile, at: datetime, local_tz: tzinfo | None = None) -> list[Finding]:
    """Two findings: whether `at` is in a declared busy window, and where the quiet window stands."""
    busy = next((w for w in site.busy_windows if in_window(w, at)), None)
    if busy is not None:
        since = max(s for s in instants(busy.start, busy.tz, at) if s <= at)
        until = end_after(busy, at) if minutes_of(busy.start) != minutes_of(busy.end) else since + timedelta(days=1)
        summary = (f"in the declared busy window {label(busy)} ({since:%H:%M}-{until:%H:%M} UTC, "
                   f"{local_clock(since, local_tz)}-{local_clock(until, local_tz)} your time)")
        data = {"window": label(busy), "since_utc": since.isoformat(), "until_utc": until.isoformat()}
        busy_finding = Finding("windows", "busy window", "busy", summary, data)
    elif site.busy_windows:
        text = describe_next(site.busy_windows, at, local_tz, kind="busy")
        data = {"next_busy_utc": next_window_start(site.busy_windows, at).isoformat()}
        busy_finding = Finding("windows", "busy window", "ok", f"not in a declared busy window; {text}", data)
    else:
        busy_finding = Finding("windows", "busy window", "ok", "no busy window declared")
    text, wait = describe_next(site.quiet_windows, at, local_tz), seconds_until_quiet(site.quiet_windows, at)
    if math.isinf(wait):
        return [busy_finding, Finding("windows", "quiet window", "unknown", text)]
    data = {"seconds_until_quiet": wait}
    if wait:
        data["next_quiet_utc"] = next_window_start(site.quiet_windows, at).isoformat()
    return [busy_finding, Finding("windows", "quiet window", "unknown" if wait else "ok", text, data)]
