"""Schedule arithmetic on a fake clock: no test sleeps through a backoff."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone

import pytest

from assistant.playbook.model import Exponential, RetryPolicy
from assistant.timing.clock import Clock, FakeClock
from assistant.timing.retry import max_attempts, next_wait, parse_retry_after, planned_wait


def test_the_default_schedule_is_5_10_30_and_four_attempts():
    policy = RetryPolicy()
    assert [planned_wait(policy, k) for k in range(3)] == [5, 10, 30]
    assert max_attempts(policy) == 4


def test_a_schedule_shorter_than_the_attempts_repeats_its_last_wait():
    policy = RetryPolicy(schedule=(1.0, 2.0), max_attempts=5)
    assert [planned_wait(policy, k) for k in range(4)] == [1, 2, 2, 2]


def test_exponential_is_capped_and_jitter_stays_within_its_fraction():
    policy = RetryPolicy(exponential=Exponential(initial=5, factor=5, cap=100, jitter=0.0))
    assert [planned_wait(policy, k) for k in range(4)] == [5, 25, 100, 100]
    jittery = RetryPolicy(exponential=Exponential(initial=10, factor=2, cap=1000, jitter=0.2))
    waits = [planned_wait(jittery, 0, random.Random(seed)) for seed in range(50)]
    assert all(8 <= w <= 12 for w in waits) and len(set(waits)) > 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("7", 7.0, id="seconds"),
        pytest.param(" 0 ", 0.0, id="zero"),
        pytest.param("Sun, 22 Nov 2026 10:00:30 GMT", 30.0, id="http-date"),
        pytest.param("Sun, 22 Nov 2026 09:59:00 GMT", 0.0, id="http-date-in-the-past"),
        pytest.param("soon", None, id="garbage"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_retry_after_seconds_or_http_date(header, expected):
    now = datetime(2026, 11, 22, 10, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(header, now) == expected


def test_retry_after_wins_over_the_schedule_unless_switched_off():
    assert next_wait(RetryPolicy(), 0, retry_after=7) == (7, "Retry-After")
    assert next_wait(RetryPolicy(retry_after=False), 0, retry_after=7) == (5, "schedule")


def test_the_fake_clock_advances_by_nominal_seconds_and_ticks_each_second():
    clock, ticks = FakeClock(), []
    start = clock.now()
    asyncio.run(clock.sleep(3, on_tick=ticks.append))
    assert clock.now() - start == 3
    assert ticks == [3, 2, 1, 0]
    assert clock.slept == [3]


def test_a_scaled_clock_reports_nominal_time_but_waits_a_fraction():
    clock = Clock(time_scale=0.001)
    loop_start = asyncio.run(_timed(clock, 30))
    real, nominal = loop_start
    assert real < 1.0
    assert nominal == pytest.approx(30, abs=0.5)


async def _timed(clock: Clock, seconds: float):
    import time

    real0, nominal0 = time.monotonic(), clock.now()
    await clock.sleep(seconds)
    return time.monotonic() - real0, clock.now() - nominal0


def test_scaled_wall_time_moves_with_nominal_time():
    clock = Clock(time_scale=0.0)
    before = clock.wall()
    asyncio.run(clock.sleep(3600))
    assert clock.wall() - before >= timedelta(minutes=59)
