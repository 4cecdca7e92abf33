"""The one clock every wait goes through.

Reports use *nominal* seconds (what the schedule says: 5, 10, 30); the clock decides how
long that really takes. `RealClock(time_scale=0.001)` runs the 5/10/30 s schedule in
milliseconds, and `now()` still advances by the nominal amount, so budgets and reports
read the same at any scale.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone

TickCallback = Callable[[float], None]


class Clock:
    """Real time, with every deliberate wait multiplied by `time_scale`."""

    def __init__(self, time_scale: float = 1.0):
        if time_scale < 0:
            raise ValueError("time scale must be >= 0")
        self.time_scale = time_scale
        self._skew = 0.0  # nominal seconds waited minus real seconds slept

    def now(self) -> float:
        """Monotonic nominal seconds."""
        return time.monotonic() + self._skew

    def wall(self) -> datetime:
        """Nominal wall-clock time (UTC), for timestamps in reports."""
        return datetime.fromtimestamp(time.time() + self._skew, timezone.utc)

    async def sleep(self, seconds: float, on_tick: TickCallback | None = None) -> None:
        """Wait `seconds` nominal seconds; call `on_tick(remaining)` each second (each minute
        while more than two minutes remain, so an hours-long wait for a quiet window stays cheap)."""
        remaining = max(0.0, float(seconds))
        while remaining > 0:
            step = min(1.0 if remaining <= 120 else 60.0, remaining) if on_tick else remaining
            if on_tick:
                on_tick(remaining)
            await self._pause(step)
            remaining -= step
        if on_tick and seconds > 0:
            on_tick(0.0)

    async def _pause(self, nominal: float) -> None:
        real = nominal * self.time_scale
        started = time.monotonic()
        await asyncio.sleep(real)
        self._skew += nominal - (time.monotonic() - started)


class FakeClock(Clock):
    """A clock that never really waits: for tests of schedule arithmetic."""

    def __init__(self, start: float = 1_000.0):
        super().__init__(time_scale=0.0)
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return datetime.fromtimestamp(1_767_225_600 + self._now, timezone.utc)

    async def sleep(self, seconds: float, on_tick: TickCallback | None = None) -> None:
        self.slept.append(float(seconds))
        await super().sleep(seconds, on_tick)

    async def _pause(self, nominal: float) -> None:
        self._now += nominal
        await asyncio.sleep(0)


def time_scale_from_env(default: float = 1.0) -> float:
    """`ASSISTANT_TIME_SCALE`, or `default`."""
    raw = os.environ.get("ASSISTANT_TIME_SCALE")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value >= 0 else default
