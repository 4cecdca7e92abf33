"""The schedule: per target a browser-check loop and a probe loop, all through the one clock.

Several loops wait at once here, so the watch uses `WatchClock`: the one clock, with
waits that overlap counted once (the nominal time is where the latest waiter woke, not
the sum of every waiter's nominal seconds). A probe round that finds the provider back
wakes the browser loop at once (half-open). Browser checks of all targets share one
browser and a bound on how many run at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timezone

from assistant.timing.clock import Clock
from assistant.watch.alerts import Alerter, Webhook, event_of
from assistant.watch.checks import BrowserKeeper, Target, browser_check, probe_reading
from assistant.watch.history import History
from assistant.watch.states import Observation, Tracker


class WatchClock(Clock):
    """The one clock for several tasks that wait at the same time (a discrete-event clock).

    Nominal time runs at real speed while any task that waits on this clock is working
    (a browser check, a probe in flight), and `1 / time_scale` times faster while every one
    of them is waiting; it never jumps past the earliest wake-up. So a one-second browser
    check costs one nominal second whatever the scale, and a day of five-minute checks runs
    in seconds without the probes and the simulator's timeline racing ahead meanwhile.
    """

    def __init__(self, time_scale: float = 1.0):
        super().__init__(time_scale)
        self._r0 = self._v0 = self._start = time.monotonic()
        self._epoch0 = time.time()
        self._members: set = set()  # tasks that have waited on this clock and are not done
        self._targets: dict = {}  # waiting task -> the nominal time it wakes at
        self._waiters: set[asyncio.Future] = set()  # waits to wake and re-plan when who waits changes

    def _all_waiting(self) -> bool:
        return bool(self._targets) and self._members <= set(self._targets)

    def now(self) -> float:
        elapsed = time.monotonic() - self._r0
        if not self._all_waiting():
            return self._v0 + elapsed
        earliest = max(min(self._targets.values()), self._v0)
        return earliest if self.time_scale == 0 else min(self._v0 + elapsed / self.time_scale, earliest)

    def wall(self) -> datetime:
        return datetime.fromtimestamp(self._epoch0 + (self.now() - self._start), timezone.utc)

    def _moved(self, change) -> None:
        """Apply `change` to who waits, keeping now() continuous, and wake every waiter to re-plan."""
        v = self.now()
        change()
        self._v0, self._r0 = v, time.monotonic()
        for woken in list(self._waiters):
            _settle(woken)

    def _forget(self, task) -> None:
        self._moved(lambda: (self._members.discard(task), self._targets.pop(task, None)))

    def join(self) -> None:
        """Count the current task as working from now on (not only from its first wait), so
        time does not race ahead while it starts up."""
        task = asyncio.current_task()
        if task not in self._members:
            self._members.add(task)
            task.add_done_callback(self._forget)

    def poke(self) -> None:
        """Make waiters look again (something they wait for besides time happened)."""
        self._moved(lambda: None)

    async def _pause(self, nominal: float, wake: asyncio.Event | None = None) -> None:
        task = asyncio.current_task()
        self.join()
        target = self.now() + nominal
        self._moved(lambda: self._targets.__setitem__(task, target))
        loop = asyncio.get_running_loop()
        try:
            while self.now() < target and not (wake is not None and wake.is_set()):
                scale = self.time_scale if self._all_waiting() else 1.0
                # A plain future, not wait_for: wait_for can swallow a cancellation that
                # arrives as the event it waits for is set (Python 3.11).
                woken = loop.create_future()
                self._waiters.add(woken)
                timer = loop.call_later(max(0.0, (target - self.now()) * scale), _settle, woken)
                try:
                    await woken
                finally:
                    timer.cancel()
                    self._waiters.discard(woken)
        finally:
            self._moved(lambda: self._targets.pop(task, None))

    async def nap(self, seconds: float, wake: asyncio.Event) -> None:
        """Wait `seconds` nominal seconds, or less if `wake` is set (then call `poke()`)."""
        await self._pause(max(0.0, seconds), wake)


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class Watcher:
    """Watches targets, records every check in `history`, alerts through `alerter`."""

    def __init__(self, targets: list[Target], history: History, alerter: Alerter, clock: Clock,
                 keeper: BrowserKeeper, *, concurrency: int = 2, metrics=None,
                 on_check: Callable[[str, object], None] | None = None):
        self.targets, self.history, self.alerter, self.clock = targets, history, alerter, clock
        self.keeper, self.metrics, self.on_check = keeper, metrics, on_check
        self.trackers = {t.name: history.tracker(t.name) for t in targets}
        self._slots = asyncio.Semaphore(concurrency)
        self.running = self.peak_running = 0  # browser checks in flight now, and the most at once
        self._wake = {t.name: asyncio.Event() for t in targets}
        self._half_open = {t.name: False for t in targets}
        self._provider_maintenance = {t.name: False for t in targets}

    # -- running ----------------------------------------------------------------------------

    async def run(self, duration: float | None = None) -> None:
        """Watch until cancelled (Ctrl-C, SIGTERM) or for `duration` nominal seconds."""
        tasks = [asyncio.ensure_future(loop(t)) for t in self.targets for loop in (self._browser_loop, self._probe_loop)]
        try:
            if duration is None:
                await asyncio.gather(*tasks)
            else:
                await self.clock.sleep(duration)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.keeper.close()

    async def once(self) -> dict[str, str]:
        """One round for cron: the probes, then the browser check unless backing off; the
        states after it. The cron's schedule is the interval: while down, rounds are skipped
        (1, 2, 4 ... up to the cap), and a provider back makes the next check run."""
        async def one(target: Target) -> None:
            self._join()
            await self._probe(target)
            tracker = self.trackers[target.name]
            if tracker.skip > 0:
                tracker.skip -= 1
                self.history.save(tracker)
                if self.on_check:
                    self.on_check(target.name, f"browser check skipped: backing off while {tracker.state} ({tracker.skip} more rounds)")
                return
            await self._check(target)

        try:
            await asyncio.gather(*(one(t) for t in self.targets))
        finally:
            await self.keeper.close()
        return {name: t.state for name, t in self.trackers.items()}

    # -- the loops ----------------------------------------------------------------------------

    async def _browser_loop(self, target: Target) -> None:
        self._join()
        tracker, wake = self.trackers[target.name], self._wake[target.name]
        while True:
            delay = tracker.next_check_at - self.clock.wall().timestamp()
            if delay > 0:
                await self._sleep_or_wake(delay, wake)
            wake.clear()
            await self._check(target)

    async def _probe_loop(self, target: Target) -> None:
        self._join()
        while True:
            await self._probe(target)
            await self.clock.sleep(target.policy.probe_every)

    def _join(self) -> None:
        if isinstance(self.clock, WatchClock):
            self.clock.join()

    async def _sleep_or_wake(self, delay: float, wake: asyncio.Event) -> None:
        if isinstance(self.clock, WatchClock):
            await self.clock.nap(delay, wake)
            return
        sleeper, waker = asyncio.ensure_future(self.clock.sleep(delay)), asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    # -- one check, one probe round ---------------------------------------------------------------

    async def _check(self, target: Target) -> Observation:
        tracker = self.trackers[target.name]
        half_open, self._half_open[target.name] = self._half_open[target.name], False
        async with self._slots:
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            try:
                obs = await browser_check(target, self.keeper, self.clock, half_open=half_open)
            finally:
                self.running -= 1
        maintenance = self._provider_maintenance[target.name] or any(w.covers(obs.at) for w in target.maintenance)
        change = tracker.observe(obs, target.policy, maintenance)
        self.history.record_check(tracker, obs, change)
        if self.metrics is not None:
            await self.metrics.checked(target, tracker, obs)
        if self.on_check:
            self.on_check(target.name, obs)
        if change is not None and self.on_check:
            self.on_check(target.name, change)
        alert = tracker.alert(change, obs, target.policy, maintenance)
        if alert is not None:
            tracker.alerted_at = obs.at
            self.history.save(tracker)
            await self.alerter.deliver(event_of(target.name, alert), [Webhook.parse(w) for w in target.webhooks])
        return obs

    async def _probe(self, target: Target) -> None:
        tracker = self.trackers[target.name]
        reading = await probe_reading(target.site, self.clock)
        self._provider_maintenance[target.name] = reading.maintenance
        if tracker.read(reading):
            self._half_open[target.name] = True
            self._wake[target.name].set()
            if isinstance(self.clock, WatchClock):
                self.clock.poke()
        self.history.record_reading(tracker, reading)
        if self.metrics is not None:
            self.metrics.read(target, tracker, reading)
        if self.on_check:
            self.on_check(target.name, reading)


def exit_state(states: dict[str, str]) -> int:
    """`--once`'s exit code: 1 when any target is down or degraded, else 0."""
    return 1 if any(s in ("down", "degraded") for s in states.values()) else 0


__all__ = ["WatchClock", "Watcher", "Tracker", "exit_state"]
