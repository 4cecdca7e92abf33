"""What a run leaves behind: step and attempt records, and their JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AttemptRecord:
    """One attempt of a step: its outcome, the signal that decided it, the wait before it."""

    number: int
    outcome: str
    signal: dict[str, Any]
    started_at: str
    waited_s: float
    duration_s: float
    passed: bool
    detail: str = ""
    steps: list[StepRecord] = field(default_factory=list)  # a retry block's inner steps

    def to_dict(self) -> dict[str, Any]:
        data = {
            "number": self.number,
            "outcome": self.outcome,
            "signal": self.signal,
            "started_at": self.started_at,
            "waited_s": round(self.waited_s, 3),
            "duration_s": round(self.duration_s, 3),
        }
        if self.detail:
            data["detail"] = self.detail
        if self.steps:
            data["steps"] = [s.to_dict() for s in self.steps]
        return data


@dataclass
class StepRecord:
    """One step of the playbook and every attempt it took."""

    index: str
    name: str
    label: str
    line: int | None
    outcome: str  # passed | failed | skipped
    detail: str = ""
    duration_s: float = 0.0
    attempts: list[AttemptRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "label": self.label,
            "line": self.line,
            "outcome": self.outcome,
            "detail": self.detail,
            "duration_s": round(self.duration_s, 3),
            "attempts": [a.to_dict() for a in self.attempts],
        }


@dataclass
class RouteRecord:
    """The same steps run again through another network path."""

    name: str
    proxy: str  # without credentials
    outcome: str = "failed"
    summary: str = ""
    duration_s: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "proxy": self.proxy,
            "outcome": self.outcome,
            "summary": self.summary,
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class RunResult:
    """The whole run."""

    playbook: str
    path: str | None
    site: str
    url: str
    outcome: str = "failed"  # passed | failed | error | interrupted
    summary: str = ""
    browser: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    error: str | None = None
    probes: list[Any] = field(default_factory=list)  # probes.Finding, in the order they ended
    notes: list[str] = field(default_factory=list)
    routes: list[RouteRecord] = field(default_factory=list)
    verdict: dict[str, Any] | None = None  # from a diagnose step

    def to_dict(self) -> dict[str, Any]:
        from assistant import __version__

        return {
            "tool": "assistant",
            "version": __version__,
            "playbook": self.playbook,
            "path": self.path,
            "site": self.site,
            "url": self.url,
            "browser": self.browser,
            "outcome": self.outcome,
            "summary": self.summary,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_dict() for s in self.steps],
            "probes": [f.to_dict() for f in self.probes],
            "routes": [r.to_dict() for r in self.routes],
            "verdict": self.verdict,
            "notes": self.notes,
            "artifacts": self.artifacts,
            "error": self.error,
        }
