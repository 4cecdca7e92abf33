"""An outage on a timeline, and a flaky chat: what `assistant watch` is tested against.

The outage that shaped the watch (DeepSeek, May 8): the web chat and the API busy for
hours, the status page turning to "Major Outage" only some minutes after the first
failures, recovery, the image upload still missing for a while, then back to full.
`OutagePlayer` plays such a timeline by changing the simulator's settings at each phase,
waiting between phases through the one clock, so a day of it runs in seconds under a
scaled clock (and in real time for a person watching `assistant simulate --timeline outage`).

`FlakyState` is a chat that fails one conversation in three at random (seeded): a check
that opens a new chat and retries in it fails as a whole, one check in three.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.simulator.state import BUSY, State, Turn

HEALTHY = {
    "scenario": "healthy", "status": "none", "incident": None, "incident_impact": "minor",
    "incident_status": "investigating", "hide_features": (), "component_api": None, "component_web": None,
    "maintenance": None,
}
OUTAGE_INCIDENT = "Web chat and API service unavailable"


@dataclass(frozen=True)
class Phase:
    """From `at` nominal seconds after the start, the simulator plays these settings."""

    at: float
    name: str
    settings: dict = field(default_factory=dict)

    def full(self) -> dict:
        return {**HEALTHY, **self.settings}


def outage_timeline(*, outage_at: float = 1200.0, status_lag: float = 720.0, outage_for: float = 5400.0,
                    status_green_after: float = 600.0, feature_back_after: float = 1800.0,
                    end_after: float = 1200.0) -> tuple[Phase, ...]:
    """The phases, in nominal seconds (by default 20 min healthy, a 90 min outage whose status
    page turns red 12 min late, the image upload back 30 min after recovery)."""
    down = {"scenario": "always-busy"}
    red = {**down, "status": "critical", "incident": OUTAGE_INCIDENT, "incident_impact": "critical",
           "incident_status": "identified"}
    back = outage_at + outage_for
    recovering = {"hide_features": ("image_upload",), "status": "minor", "incident": OUTAGE_INCIDENT,
                  "incident_impact": "minor", "incident_status": "monitoring"}
    return (
        Phase(0.0, "healthy"),
        Phase(outage_at, "web and API busy", down),
        Phase(outage_at + status_lag, "status page: major outage", red),
        Phase(back, "recovered, image upload missing", recovering),
        Phase(back + status_green_after, "status page green, image upload missing", {"hide_features": ("image_upload",)}),
        Phase(back + feature_back_after, "back to full"),
        Phase(back + feature_back_after + end_after, "end"),
    )


TIMELINES = {"outage": outage_timeline}


class OutagePlayer:
    """Plays `phases` on a simulator (`configure` is `Simulator.configure` or `State.configure`)."""

    def __init__(self, configure: Callable[..., object], clock, phases: tuple[Phase, ...] | None = None,
                 repeat: bool = False):
        self.configure, self.clock = configure, clock
        self.phases = phases or outage_timeline()
        self.repeat = repeat
        self.played: list[tuple[str, float]] = []  # (phase name, wall-clock epoch seconds it began)
        self.done = asyncio.Event()

    def began(self, name: str) -> float:
        """When the phase named `name` began (wall-clock epoch seconds)."""
        return next(at for n, at in self.played if n == name)

    async def run(self) -> None:
        join = getattr(self.clock, "join", None)  # a clock shared by several tasks counts this one from its start
        if join is not None:
            join()
        while True:
            start = self.clock.now()
            for phase in self.phases:
                await self.clock.sleep(max(0.0, start + phase.at - self.clock.now()))
                self.configure(**phase.full())
                self.played.append((phase.name, self.clock.wall().timestamp()))
            if not self.repeat:
                self.done.set()
                return


async def play(state: State, name: str, time_scale: float = 1.0) -> None:
    """`assistant simulate --timeline NAME`: the timeline over and over, until cancelled."""
    from assistant.timing.clock import Clock

    await OutagePlayer(state.configure, Clock(time_scale), TIMELINES[name](), repeat=True).run()


class FlakyState(State):
    """Busy for one conversation in every three (at a random place in each three, seeded),
    for every turn of it; never two busy conversations in a row, so each failure is a
    single one among good ones: what confirmation thresholds exist for."""

    def __init__(self, settings, *, seed: int = 0):
        super().__init__(settings)
        self._rng = random.Random(seed)
        self._flaky: dict[str, bool] = {}
        self._plan: list[bool] = []

    def _next(self) -> bool:
        if not self._plan:
            last_busy = bool(self._flaky) and list(self._flaky.values())[-1]
            where = self._rng.choice((1, 2) if last_busy else (0, 1, 2))
            self._plan = [i == where for i in range(3)]
        return self._plan.pop(0)

    def web_turn(self, chat_id: str, session: str | None = None) -> Turn:
        turn = super().web_turn(chat_id, session)
        with self._lock:
            if chat_id not in self._flaky:
                self._flaky[chat_id] = self._next()
            busy = self._flaky[chat_id]
        return Turn(BUSY, turn.settings, turn.number, turn.turn_in_chat) if busy else turn

    @property
    def flaky_chats(self) -> int:
        with self._lock:
            return sum(self._flaky.values())
