"""Events the core emits; reporters listen. The core never prints.

Each event is a small frozen dataclass. `Emitter` fans them out to listeners; a listener
that raises does not stop the run (its error is kept for the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Listener = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """Base of all events."""


@dataclass(frozen=True)
class RunStarted(Event):
    playbook: str
    site: str
    url: str
    browser: str


@dataclass(frozen=True)
class StepStarted(Event):
    index: str  # "3" or "4.2" inside a block
    kind: str
    label: str


@dataclass(frozen=True)
class AttemptStarted(Event):
    index: str
    number: int
    of: int


@dataclass(frozen=True)
class AttemptEnded(Event):
    index: str
    number: int
    outcome: str
    signal: dict[str, Any]
    duration_s: float


@dataclass(frozen=True)
class WaitStarted(Event):
    index: str
    seconds: float
    reason: str  # "schedule", "Retry-After", "exponential", "wait step"
    next_attempt: int | None = None
    of: int | None = None


@dataclass(frozen=True)
class WaitTick(Event):
    index: str
    remaining: float


@dataclass(frozen=True)
class StepEnded(Event):
    index: str
    kind: str
    outcome: str  # passed | failed | skipped
    detail: str
    duration_s: float


@dataclass(frozen=True)
class ProbeFinding(Event):
    """A probe outside the browser observed something (`finding` is a probes.Finding)."""

    finding: Any


@dataclass(frozen=True)
class VerdictReached(Event):
    """A diagnosis decided (`verdict` is a diagnosis.Verdict)."""

    verdict: Any


@dataclass(frozen=True)
class Note(Event):
    """Something worth telling the person that is not a step result."""

    message: str
    level: str = "info"  # info | warning


@dataclass(frozen=True)
class RunEnded(Event):
    outcome: str  # passed | failed | error | interrupted
    summary: str
    duration_s: float
    artifacts: tuple[str, ...] = field(default_factory=tuple)
    result: Any = None  # the RunResult, for reporters that write files


class Emitter:
    """Fans events out to listeners."""

    def __init__(self, *listeners: Listener):
        self.listeners: list[Listener] = list(listeners)
        self.listener_errors: list[BaseException] = []

    def __call__(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:  # a broken reporter must not break the run
                self.listener_errors.append(exc)
