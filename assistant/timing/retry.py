"""Retry policies: explicit schedules, exponential backoff, Retry-After, budgets.

A policy yields the nominal wait before each further attempt. The runner does the
waiting through the clock; this module only does the arithmetic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone

OUTCOMES = ("busy", "rate_limited", "timeout", "error")
OUTCOMES_RETRYABLE_BY_DEFAULT = ("busy", "rate_limited", "timeout")


@dataclass(frozen=True)
class Exponential:
    """Exponential backoff: initial * factor**k, capped, with +/- jitter (a fraction)."""

    initial: float = 5.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often to try again. Waits are nominal seconds."""

    when: tuple[str, ...] = OUTCOMES_RETRYABLE_BY_DEFAULT
    schedule: tuple[float, ...] = (5.0, 10.0, 30.0)
    exponential: Exponential | None = None
    max_attempts: int | None = None  # total attempts, first included
    budget: float | None = None  # total nominal seconds for all attempts and waits
    retry_after: bool = True  # honour a server's Retry-After over the schedule
    until: str | None = None  # "off_peak": the last wait lasts until the next quiet window

DURATION = {"type": ["string", "number"], "format": "duration"}

RETRY_SCHEMA: dict = {
    "type": "object",
    "description": "Try again on busy, rate-limited or timed-out outcomes.",
    "properties": {
        "when": {
            "type": "array",
            "items": {"type": "string", "enum": list(OUTCOMES)},
            "description": "Outcomes that trigger another attempt (default busy, rate_limited, timeout).",
        },
        "schedule": {
            "type": "array",
            "items": DURATION,
            "minItems": 1,
            "description": "Waits before attempts 2, 3, ... (default [5s, 10s, 30s]).",
        },
        "exponential": {
            "type": "object",
            "properties": {
                "initial": DURATION,
                "factor": {"type": "number", "minimum": 1, "maximum": 100},
                "cap": DURATION,
                "jitter": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "additionalProperties": False,
            "description": "initial * factor**k, capped; jitter is a +/- fraction.",
        },
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Total attempts, the first included."},
        "budget": {**DURATION, "description": "Give up when the next wait would pass this total."},
        "retry_after": {"type": "boolean", "description": "Honour a server's Retry-After (default true)."},
        "until": {"type": "string", "enum": ["off_peak"], "description": "off_peak: when the schedule runs out, wait for the site's next quiet window and try once more."},
    },
    "additionalProperties": False,
}


def policy_from_mapping(data: dict) -> RetryPolicy:
    """Build a policy from a validated mapping (durations already in seconds)."""
    exp = data.get("exponential")
    exponential = Exponential(**exp) if exp is not None else None
    kwargs = {k: data[k] for k in ("max_attempts", "budget", "retry_after", "until") if k in data}
    if "when" in data:
        kwargs["when"] = tuple(data["when"])
    if "schedule" in data:
        kwargs["schedule"] = tuple(float(s) for s in data["schedule"])
    return RetryPolicy(exponential=exponential, **kwargs)


def max_attempts(policy: RetryPolicy) -> int:
    """Total attempts the policy allows, the first included."""
    if policy.max_attempts is not None:
        return policy.max_attempts
    if policy.exponential is not None:
        return 4
    return len(policy.schedule) + 1


def planned_wait(policy: RetryPolicy, retry_index: int, rng: random.Random | None = None) -> float:
    """Nominal wait before retry number `retry_index` (0 = before the second attempt)."""
    if policy.exponential is not None:
        e = policy.exponential
        base = min(e.cap, e.initial * e.factor**retry_index)
        if e.jitter:
            base *= 1 + (rng or random).uniform(-e.jitter, e.jitter)
        return max(0.0, min(e.cap, base))
    if not policy.schedule:
        return 0.0
    return policy.schedule[min(retry_index, len(policy.schedule) - 1)]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # only for an HTTP-date Retry-After

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def next_wait(
    policy: RetryPolicy,
    retry_index: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> tuple[float, str]:
    """The wait before the next attempt and why: ("schedule" | "exponential" | "Retry-After")."""
    if retry_after is not None and policy.retry_after:
        return retry_after, "Retry-After"
    reason = "exponential" if policy.exponential is not None else "schedule"
    return planned_wait(policy, retry_index, rng), reason
