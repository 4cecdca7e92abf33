"""Quiet and busy windows on a given clock: inside/outside, wrap past midnight, DST days."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from assistant.playbook.model import DEFAULT_QUIET, SiteProfile, Window
from assistant.probes.windows import window_findings
from assistant.timing.windows import (
    describe_next,
    in_window,
    next_window_start,
    seconds_until_quiet,
)

QUIET = DEFAULT_QUIET[0]  # 01:00-05:00 UTC
NIGHT = Window("22:00", "02:00")
DEEPSEEK_BUSY = Window("15:00", "18:00", "Asia/Shanghai")  # 07:00-10:00 UTC
BERLIN = Window("02:30", "03:30", "Europe/Berlin")
NEW_YORK = Window("01:30", "02:30", "America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("window", "at", "inside"),
    [
        pytest.param(QUIET, utc(2025, 6, 1, 3, 0), True, id="inside"),
        pytest.param(QUIET, utc(2025, 6, 1, 12, 0), False, id="outside"),
        pytest.param(QUIET, utc(2025, 6, 1, 1, 0), True, id="start-inclusive"),
        pytest.param(QUIET, utc(2025, 6, 1, 0, 59, 59), False, id="just-before-start"),
        pytest.param(QUIET, utc(2025, 6, 1, 5, 0), False, id="end-exclusive"),
        pytest.param(QUIET, utc(2025, 6, 1, 4, 59, 59), True, id="just-before-end"),
        pytest.param(NIGHT, utc(2025, 6, 1, 23, 30), True, id="wrap-before-midnight"),
        pytest.param(NIGHT, utc(2025, 6, 1, 1, 59), True, id="wrap-after-midnight"),
        pytest.param(NIGHT, utc(2025, 6, 1, 2, 0), False, id="wrap-end-exclusive"),
        pytest.param(NIGHT, utc(2025, 6, 1, 12, 0), False, id="wrap-outside"),
        pytest.param(Window("06:00", "06:00"), utc(2025, 6, 1, 17, 0), True, id="start-equals-end-is-all-day"),
        pytest.param(Window("22:00", "24:00"), utc(2025, 6, 1, 23, 59), True, id="end-24:00-is-midnight"),
        pytest.param(DEEPSEEK_BUSY, utc(2025, 6, 1, 7, 0), True, id="shanghai-busy-07:00-utc"),
        pytest.param(DEEPSEEK_BUSY, utc(2025, 6, 1, 9, 59), True, id="shanghai-busy-09:59-utc"),
        pytest.param(DEEPSEEK_BUSY, utc(2025, 6, 1, 10, 0), False, id="shanghai-busy-ends-10:00-utc"),
        pytest.param(DEEPSEEK_BUSY, utc(2025, 6, 1, 6, 59), False, id="shanghai-busy-not-yet"),
        pytest.param(BERLIN, utc(2024, 3, 31, 1, 0), True, id="berlin-spring-forward-03:00-cest"),
        pytest.param(BERLIN, utc(2024, 3, 31, 0, 59), False, id="berlin-spring-forward-01:59-cet"),
        pytest.param(NEW_YORK, utc(2024, 11, 3, 6, 45), True, id="new-york-repeated-hour-second-pass"),
    ],
)
def test_in_window(window, at, inside):
    assert in_window(window, at) is inside


@pytest.mark.parametrize(
    ("windows", "at", "expected"),
    [
        pytest.param((QUIET,), utc(2025, 6, 1, 0, 0), utc(2025, 6, 1, 1, 0), id="later-today"),
        pytest.param((QUIET,), utc(2025, 6, 1, 6, 0), utc(2025, 6, 2, 1, 0), id="tomorrow"),
        pytest.param((QUIET,), utc(2025, 6, 1, 5, 0), utc(2025, 6, 2, 1, 0), id="at-end-is-tomorrow"),
        pytest.param((QUIET,), utc(2025, 6, 1, 2, 0), utc(2025, 6, 1, 2, 0), id="inside-is-now"),
        pytest.param((NIGHT,), utc(2025, 6, 1, 12, 0), utc(2025, 6, 1, 22, 0), id="wrap-later-today"),
        pytest.param((QUIET, NIGHT), utc(2025, 6, 1, 12, 0), utc(2025, 6, 1, 22, 0), id="earliest-of-several"),
        pytest.param((DEEPSEEK_BUSY,), utc(2025, 6, 1, 0, 0), utc(2025, 6, 1, 7, 0), id="shanghai-in-utc"),
        pytest.param((DEEPSEEK_BUSY,), utc(2025, 6, 1, 12, 0), utc(2025, 6, 2, 7, 0), id="shanghai-tomorrow"),
        pytest.param((BERLIN,), utc(2024, 3, 30, 12, 0), utc(2024, 3, 31, 1, 0), id="berlin-skipped-start-moves-to-03:00-cest"),
        pytest.param((BERLIN,), utc(2024, 3, 29, 12, 0), utc(2024, 3, 30, 1, 30), id="berlin-day-before-cet"),
        pytest.param((BERLIN,), utc(2024, 3, 31, 2, 0), utc(2024, 4, 1, 0, 30), id="berlin-day-after-cest"),
        pytest.param((Window("02:00", "02:30", "Europe/Berlin"),), utc(2024, 3, 30, 23, 30), utc(2024, 4, 1, 0, 0), id="berlin-window-wholly-in-gap-skips-the-day"),
        pytest.param((NEW_YORK,), utc(2024, 11, 3, 4, 0), utc(2024, 11, 3, 5, 30), id="new-york-fall-back-first-pass-edt"),
        pytest.param((NEW_YORK,), utc(2024, 11, 3, 6, 10), utc(2024, 11, 3, 6, 30), id="new-york-fall-back-second-pass-est"),
        pytest.param((Window("03:00", "04:00", "America/New_York"),), utc(2024, 11, 3, 4, 0), utc(2024, 11, 3, 8, 0), id="new-york-after-fall-back-est"),
        pytest.param((Window("03:00", "04:00", "America/New_York"),), utc(2024, 11, 2, 4, 0), utc(2024, 11, 2, 7, 0), id="new-york-before-fall-back-edt"),
        pytest.param((), utc(2025, 6, 1, 0, 0), None, id="no-windows"),
    ],
)
def test_next_window_start(windows, at, expected):
    start = next_window_start(windows, at)
    assert start == expected
    if start is not None:
        assert start.utcoffset().total_seconds() == 0
        assert any(in_window(w, start) for w in windows)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        in_window(QUIET, datetime(2025, 6, 1, 3, 0))


@pytest.mark.parametrize(
    ("windows", "at", "local_tz", "expected"),
    [
        pytest.param((QUIET,), utc(2025, 6, 1, 21, 40), SHANGHAI,
                     "next quiet window 01:00-05:00 UTC, in 3 h 20 min (09:00 your time)", id="next-utc-window"),
        pytest.param((QUIET,), utc(2025, 6, 1, 2, 0), SHANGHAI,
                     "now in the quiet window 01:00-05:00 UTC (until 05:00 UTC, 13:00 your time)", id="inside"),
        pytest.param((QUIET,), utc(2025, 6, 1, 0, 15), ZoneInfo("America/New_York"),
                     "next quiet window 01:00-05:00 UTC, in 45 min (21:00 your time)", id="minutes-only"),
        pytest.param((DEEPSEEK_BUSY,), utc(2025, 1, 15, 4, 0), ZoneInfo("Europe/Berlin"),
                     "next quiet window 15:00-18:00 Asia/Shanghai, in 3 h (07:00 UTC, 08:00 your time)", id="zoned-window-shows-utc-too"),
        pytest.param((Window("00:00", "00:00"),), utc(2025, 6, 1, 9, 0), SHANGHAI,
                     "now in the quiet window 00:00-00:00 UTC (all day)", id="all-day"),
        pytest.param((), utc(2025, 6, 1, 9, 0), SHANGHAI, "no quiet window declared", id="none"),
    ],
)
def test_describe_next(windows, at, local_tz, expected):
    assert describe_next(windows, at, local_tz) == expected


def test_describe_next_defaults_to_the_machines_zone():
    assert describe_next(DEFAULT_QUIET, utc(2025, 6, 1, 12, 0)).endswith("your time)")


@pytest.mark.parametrize(
    ("quiet", "at", "seconds"),
    [
        pytest.param(DEFAULT_QUIET, utc(2025, 6, 1, 3, 0), 0.0, id="inside"),
        pytest.param(DEFAULT_QUIET, utc(2025, 6, 1, 0, 30), 1800.0, id="half-an-hour"),
        pytest.param(DEFAULT_QUIET, utc(2025, 6, 1, 5, 0), 20 * 3600.0, id="just-ended"),
        pytest.param((BERLIN,), utc(2024, 3, 31, 0, 30), 1800.0, id="berlin-spring-forward"),
        pytest.param((), utc(2025, 6, 1, 3, 0), math.inf, id="none-declared"),
    ],
)
def test_seconds_until_quiet(quiet, at, seconds):
    site = SiteProfile(name="chat", url="https://chat.example", quiet_windows=quiet)
    assert seconds_until_quiet(site.quiet_windows, at) == seconds


DEEPSEEK = SiteProfile(name="deepseek", url="https://chat.deepseek.com", busy_windows=(DEEPSEEK_BUSY,))


@pytest.mark.parametrize(
    ("site", "at", "busy", "quiet", "busy_text", "quiet_text"),
    [
        pytest.param(DEEPSEEK, utc(2025, 6, 1, 8, 0), "busy", "unknown",
                     "in the declared busy window 15:00-18:00 Asia/Shanghai (07:00-10:00 UTC, 15:00-18:00 your time)",
                     "next quiet window 01:00-05:00 UTC, in 17 h (09:00 your time)", id="in-busy-window"),
        pytest.param(DEEPSEEK, utc(2025, 6, 1, 2, 0), "ok", "ok",
                     "not in a declared busy window; next busy window 15:00-18:00 Asia/Shanghai, in 5 h (07:00 UTC, 15:00 your time)",
                     "now in the quiet window 01:00-05:00 UTC (until 05:00 UTC, 13:00 your time)", id="in-quiet-window"),
        pytest.param(SiteProfile(name="chat", url="https://chat.example"), utc(2025, 6, 1, 12, 0), "ok", "unknown",
                     "no busy window declared",
                     "next quiet window 01:00-05:00 UTC, in 13 h (09:00 your time)", id="no-busy-windows"),
    ],
)
def test_window_findings(site, at, busy, quiet, busy_text, quiet_text):
    busy_finding, quiet_finding = window_findings(site, at, SHANGHAI)
    assert (busy_finding.probe, quiet_finding.probe) == ("windows", "windows")
    assert (busy_finding.outcome, busy_finding.summary) == (busy, busy_text)
    assert (quiet_finding.outcome, quiet_finding.summary) == (quiet, quiet_text)
    if quiet == "unknown":
        nxt = datetime.fromisoformat(quiet_finding.data["next_quiet_utc"])
        assert quiet_finding.data["seconds_until_quiet"] == (nxt - at).total_seconds() > 0
    else:
        assert quiet_finding.data["seconds_until_quiet"] == 0.0


def test_busy_finding_carries_the_window_in_utc():
    busy_finding, _ = window_findings(DEEPSEEK, utc(2025, 6, 1, 8, 0), SHANGHAI)
    assert busy_finding.data == {
        "window": "15:00-18:00 Asia/Shanghai",
        "since_utc": "2025-06-01T07:00:00+00:00",
        "until_utc": "2025-06-01T10:00:00+00:00",
    }
