"""Daily quiet and busy windows: is a moment inside one, and when does the next one begin.

Pure functions: the current time is always passed in as an aware datetime, so the tests
and the tool's clock decide what "now" is. Windows are wall-clock times in their own zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

UTC = timezone.utc


@dataclass(frozen=True)
class Window:
    """A daily time window, `start` to `end` ("HH:MM", may wrap past midnight) in zone `tz`."""

    start: str
    end: str
    tz: str = "UTC"


DEFAULT_QUIET = (Window("01:00", "05:00", "UTC"),)  # off-peak, as people report it


def minutes_of(hhmm: str) -> int:
    """Minutes after midnight of "HH:MM"; "24:00" is midnight."""
    hours, _, minutes = hhmm.strip().partition(":")
    return (int(hours) * 60 + int(minutes)) % 1440


def _aware(at: datetime) -> datetime:
    """`at` itself, or ValueError when it carries no time zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone; pass an aware datetime")
    return at


def in_window(window: Window, at: datetime) -> bool:
    """True when `at` falls in `window` (start inclusive, end exclusive; start == end is all day)."""
    from zoneinfo import ZoneInfo  # imported when a window is used (start-up cost)

    local = _aware(at).astimezone(ZoneInfo(window.tz))
    start, end = minutes_of(window.start) * 60, minutes_of(window.end) * 60
    now = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    if start == end:
        return True
    return start <= now < end if start < end else (now >= start or now < end)


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after a local time skipped by a DST change (the transition itself)."""
    # In a gap, fold=1 maps with the offset after the change (an instant before it) and
    # fold=0 with the offset before (an instant after it); bisect between them to the second.
    lo = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(naive.replace(tzinfo=zone, fold=0).timestamp())
    after = datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if datetime.fromtimestamp(mid, zone).utcoffset() == after else (mid, hi)
    return datetime.fromtimestamp(hi, UTC)


def instants(hhmm: str, tz: str, at: datetime) -> list[datetime]:
    """The UTC instants, from the day before `at` to two days after, when the clock in `tz` reads `hhmm`."""
    from zoneinfo import ZoneInfo

    zone, minutes = ZoneInfo(tz), minutes_of(hhmm)
    today = _aware(at).astimezone(zone).date()
    found = set()
    for days in range(-1, 3):
        naive = datetime.combine(today + timedelta(days=days), time(minutes // 60, minutes % 60))
        for fold in (0, 1):  # a time repeated when clocks go back occurs twice
            instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) != naive:
                instant = _gap_end(naive, zone)
            found.add(instant)
    return sorted(found)


def _next_start(windows: Iterable[Window], at: datetime) -> tuple[datetime, Window] | None:
    """The next moment (>= at) one of `windows` begins, and which; `at` itself when inside one."""
    windows = tuple(windows)
    for window in windows:
        if in_window(window, at):
            return at.astimezone(UTC), window
    starts = [
        (start, window)
        for window in windows
        for start in instants(window.start, window.tz, at)
        if start >= at and in_window(window, start)  # skips a window lying wholly in a DST gap
    ]
    return min(starts, key=lambda pair: pair[0], default=None)


def next_window_start(windows: Iterable[Window], at: datetime) -> datetime | None:
    """The next moment (>= at) any of `windows` begins, in UTC; `at` when already inside; None if none."""
    found = _next_start(windows, at)
    return found[0] if found else None


def seconds_until_quiet(quiet_windows: Iterable[Window], at: datetime) -> float:
    """0 inside a quiet window, else seconds until the next one starts (inf when none is declared)."""
    start = next_window_start(quiet_windows, at)
    return math.inf if start is None else max(0.0, (start - at).total_seconds())


def label(window: Window) -> str:
    return f"{window.start}-{window.end} {window.tz}"


def local_clock(at: datetime, local_tz: tzinfo | None) -> str:
    """HH:MM of `at` in `local_tz`, or in the machine's zone (its rules at that instant)."""
    return f"{at.astimezone(local_tz) if local_tz else at.astimezone():%H:%M}"


def _span(seconds: float) -> str:
    """A wait as "3 h 20 min", rounded up to the minute."""
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def end_after(window: Window, at: datetime) -> datetime:
    """The instant the occurrence of `window` holding `at` ends."""
    return min(end for end in instants(window.end, window.tz, at) if end > at)


def describe_next(windows: Iterable[Window], at: datetime, local_tz: tzinfo | None = None, kind: str = "quiet") -> str:
    """One line: the window `at` is in (and until when), or the next one and how far off, in UTC and local time."""
    windows = tuple(windows)
    found = _next_start(windows, at)
    if found is None:
        return f"no {kind} window declared"
    start, window = found
    if in_window(window, at):
        if minutes_of(window.start) == minutes_of(window.end):
            return f"now in the {kind} window {label(window)} (all day)"
        end = end_after(window, at)
        return f"now in the {kind} window {label(window)} (until {end:%H:%M} UTC, {local_clock(end, local_tz)} your time)"
    utc = "" if window.tz == "UTC" else f"{start:%H:%M} UTC, "
    wait = _span((start - at).total_seconds())
    return f"next {kind} window {label(window)}, in {wait} ({utc}{local_clock(start, local_tz)} your time)"
