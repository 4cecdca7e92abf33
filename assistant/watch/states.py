"""From checks to confirmed states and incidents, and when the next browser check is due.

Pure bookkeeping: no browser, no clock. Every time is a wall-clock epoch second passed
in by the caller, so a state saved by one `watch --once` round is read by the next.

A state changes only after `down_after` consecutive checks that disagree with it on the
down side, or `up_after` on the answering side: one flaky check pages nobody. While a
target is down its browser checks back off (the interval doubles up to a cap: an outage
of hours costs a handful of checks) and the cheap probes go on; the status page turning
green or the API answering again makes the next browser check due at once (half-open).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATES = ("up", "degraded", "down", "unknown")
BAD_INDICATORS = ("minor", "major", "critical")
API_OVERLOAD = ("busy", "rate_limited", "queued", "down", "timeout", "error")


@dataclass(frozen=True)
class Policy:
    """How a target is judged and scheduled (nominal seconds)."""

    every: float = 300.0  # browser check
    probe_every: float = 60.0  # status page and API
    down_after: int = 2  # N failed checks confirm down
    up_after: int = 2  # M good checks confirm up (or degraded)
    max_every: float = 3600.0  # the back-off's cap while down
    slow: float | None = None  # an answer slower than this is degraded
    remind: float | None = None  # while down, alert again this long after the last alert

    @property
    def recheck(self) -> float:
        """The wait before a check that may confirm a change: no longer than either cadence."""
        return min(self.every, self.probe_every)


@dataclass
class Observation:
    """One browser check, judged: `up`, `degraded` (answers, a feature missing or slow) or `down`."""

    at: float
    kind: str
    outcome: str  # answered | busy | rate_limited | timeout | error | unreachable ...
    detail: str = ""
    duration_s: float = 0.0
    attempts: int = 1
    missing: list[str] = field(default_factory=list)
    half_open: bool = False


@dataclass
class Reading:
    """One round of the cheap probes: the status page's indicator and the API routes."""

    at: float
    indicator: str | None = None  # none | minor | major | critical, None when unreadable
    status_summary: str = ""
    maintenance: bool = False  # the provider's own scheduled maintenance is in progress
    api: str | None = None  # the main route's outcome (ok, busy, ...), None when not probed
    answering: list[str] = field(default_factory=list)  # API routes that answer now


@dataclass
class Incident:
    """From the first failed check to full recovery, features included."""

    kind: str  # down | degraded (the worst state it reached)
    first_failed_at: float
    confirmed_at: float
    category: str = "inconclusive"
    evidence: list[str] = field(default_factory=list)
    status_indicator: str | None = None  # the worst the status page said during it
    status_since: float | None = None  # when the status page first said so
    recovered_at: float | None = None  # the first good check of the streak that ended `down`
    closed_at: float | None = None  # confirmed up with every feature back
    features: dict[str, dict[str, float | None]] = field(default_factory=dict)  # name -> missing_since, back_at
    answering: list[str] = field(default_factory=list)  # routes that answered while down
    maintenance: bool = False
    id: int | None = None

    @property
    def status_lag_s(self) -> float | None:
        """Seconds the status page said so after the first failed check (negative: it said so first)."""
        return None if self.status_since is None else round(self.status_since - self.first_failed_at, 3)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"status_lag_s": self.status_lag_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        data = {k: v for k, v in data.items() if k != "status_lag_s"}
        return cls(**data)


@dataclass
class Change:
    """A confirmed state change: what alerts and history record."""

    at: float
    previous: str
    state: str
    event: str  # down | degraded | recovered | up (the first confirmation: no alert)
    summary: str
    incident: Incident | None = None
    maintenance: bool = False

    @property
    def alerts(self) -> bool:
        return self.previous != "unknown" or self.state != "up"


@dataclass
class Tracker:
    """One target's state, streak, open incident and schedule; serialisable for `--once`."""

    name: str
    state: str = "unknown"
    since: float | None = None
    streak_class: str | None = None  # what the checks disagreeing with `state` say
    streak: list[float] = field(default_factory=list)  # their times
    down_checks: int = 0  # browser checks since down was confirmed (the back-off exponent)
    next_check_at: float = 0.0
    skip: int = 0  # `--once` rounds to skip while backing off (the cron is the interval)
    alerted_at: float | None = None  # the last alert sent, for reminders
    incident: Incident | None = None
    indicator: str | None = None
    status_bad_since: float | None = None
    api: str | None = None
    answering: list[str] = field(default_factory=list)
    last: Observation | None = None

    # -- browser checks -------------------------------------------------------------------

    def observe(self, obs: Observation, policy: Policy, maintenance: bool = False) -> Change | None:
        """Take one browser check; the confirmed change it completes, if any."""
        self.last = obs
        self._features(obs)
        cls = self._class(obs.kind)
        if cls == self.state:
            self.streak_class, self.streak = None, []
        else:
            if cls != self.streak_class:
                self.streak_class, self.streak = cls, []
            self.streak.append(obs.at)
        change = self._confirm(obs, policy, maintenance)
        inc = self.incident or (change.incident if change else None)
        if inc is not None and (obs.kind == "down" or inc.kind == "degraded" and obs.kind == "degraded"):
            inc.category, inc.evidence = categorise(obs, self)
        self._schedule(obs.at, policy)
        return change

    def _class(self, kind: str) -> str:
        # Leaving `down`, answering is what counts; which answering state comes from the last check.
        return "answering" if self.state == "down" and kind in ("up", "degraded") else kind

    def _confirm(self, obs: Observation, policy: Policy, maintenance: bool) -> Change | None:
        if not self.streak:
            return None
        needed = policy.down_after if self.streak_class == "down" else policy.up_after
        if len(self.streak) < needed:
            return None
        first = self.streak[0]
        previous, self.state = self.state, obs.kind
        self.since, self.streak_class, self.streak, self.down_checks = obs.at, None, [], 0
        return self._change(previous, first, obs, maintenance)

    def _change(self, previous: str, first: float, obs: Observation, maintenance: bool) -> Change:
        inc = self.incident
        if self.state in ("down", "degraded") and inc is None:
            inc = self.incident = Incident(self.state, first, obs.at, maintenance=maintenance)
            self._status_into(inc)
            self._features(obs)
        if inc is not None:
            if self.state == "down":
                inc.kind = "down"
                inc.answering = sorted(set(inc.answering) | set(self.answering))
            elif previous == "down":
                inc.recovered_at = first
            if self.state == "up":
                inc.closed_at = obs.at
                if inc.recovered_at is None and inc.kind == "down":
                    inc.recovered_at = first
        event = {"down": "down", "degraded": "degraded", "up": "recovered" if previous != "unknown" else "up"}[self.state]
        change = Change(obs.at, previous, self.state, event, self._summary(event, obs), inc, maintenance)
        if self.state == "up":
            self.incident = None
        return change

    def _summary(self, event: str, obs: Observation) -> str:
        if event == "down":
            routes = f"; answering now: {', '.join(self.answering)}" if self.answering else ""
            return f"{self.name} is down: {obs.detail or obs.outcome}{routes}"
        if event == "degraded":
            return f"{self.name} answers, but is degraded: {obs.detail}"
        return f"{self.name} is up: {obs.detail or 'answered'}"

    def _features(self, obs: Observation) -> None:
        inc = self.incident
        if inc is None:
            return
        for name in obs.missing:
            entry = inc.features.setdefault(name, {"missing_since": obs.at, "back_at": None})
            entry["back_at"] = None
        if obs.kind in ("up", "degraded"):
            for name, entry in inc.features.items():
                if name not in obs.missing and entry["back_at"] is None:
                    entry["back_at"] = obs.at

    def _schedule(self, at: float, policy: Policy) -> None:
        self.skip = 0
        if self.streak:
            self.next_check_at = at + policy.recheck
        elif self.state == "down":
            interval = min(policy.every * 2 ** self.down_checks, policy.max_every)
            self.next_check_at, self.skip = at + interval, max(0, round(interval / policy.every) - 1)
            self.down_checks += 1
        else:
            self.next_check_at = at + policy.every

    def alert(self, change: Change | None, obs: Observation, policy: Policy, maintenance: bool) -> Change | None:
        """What to alert after a check, if anything: the change, a reminder, or nothing inside
        maintenance. An incident that began in maintenance and was never alerted is told once
        the maintenance ends if it is still on, and not at all if it ended with it."""
        if maintenance:
            return None
        inc = self.incident or (change.incident if change is not None else None)
        untold = inc is not None and inc.maintenance and (self.alerted_at is None or self.alerted_at < inc.confirmed_at)
        if untold and change is not None and change.event == "recovered":
            return None  # nobody was told it was down
        if untold and change is None and self.state in ("down", "degraded") and not self.streak:  # this check agrees
            return Change(obs.at, self.state, self.state, self.state,
                          f"{self._summary(self.state, obs)} (still, after the provider's maintenance)", inc)
        return change if change is not None and change.alerts else self.reminder(obs, policy)

    def reminder(self, obs: Observation, policy: Policy) -> Change | None:
        """While down, a reminder once `policy.remind` has passed since the last alert."""
        if policy.remind is None or self.state != "down" or self.alerted_at is None or obs.at - self.alerted_at < policy.remind:
            return None
        since = (obs.at - (self.since or obs.at)) / 60
        return Change(obs.at, "down", "down", "reminder", f"{self.name} is still down ({since:.0f} min): {obs.detail or obs.outcome}",
                      self.incident)

    # -- cheap probes ---------------------------------------------------------------------

    def read(self, reading: Reading) -> bool:
        """Take one probe round; True when it makes a half-open browser check due now."""
        was_bad = self.indicator in BAD_INDICATORS
        api_was_failing = self.api in API_OVERLOAD
        if reading.indicator is not None:
            if reading.indicator in BAD_INDICATORS and not was_bad:
                self.status_bad_since = reading.at
            elif reading.indicator == "none":
                self.status_bad_since = None
            self.indicator = reading.indicator
        self.api, self.answering = reading.api, list(reading.answering)
        if self.incident is not None:
            self._status_into(self.incident)
            if self.state == "down":
                self.incident.answering = sorted(set(self.incident.answering) | set(reading.answering))
        green = was_bad and reading.indicator == "none"
        api_back = api_was_failing and reading.api == "ok"
        if self.state == "down" and (green or api_back) and (self.next_check_at > reading.at or self.skip):
            self.next_check_at, self.skip = reading.at, 0
            return True
        return False

    def _status_into(self, inc: Incident) -> None:
        if self.indicator in BAD_INDICATORS and self.status_bad_since is not None:
            rank = BAD_INDICATORS.index
            if inc.status_indicator is None or rank(self.indicator) > rank(inc.status_indicator):
                inc.status_indicator = self.indicator
            if inc.status_since is None:
                inc.status_since = self.status_bad_since

    # -- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tracker:
        data = dict(data)
        if data.get("incident"):
            data["incident"] = Incident.from_dict(data["incident"])
        if data.get("last"):
            data["last"] = Observation(**data["last"])
        return cls(**data)


def categorise(obs: Observation, tracker: Tracker) -> tuple[str, list[str]]:
    """A verdict category (the diagnosis' names) and its evidence, from what the watch saw."""
    evidence = [f"browser check: {obs.outcome}: {obs.detail}" if obs.detail else f"browser check: {obs.outcome}"]
    if tracker.indicator is not None:
        evidence.append(f"status page: indicator {tracker.indicator}")
    if tracker.api is not None:
        evidence.append(f"API: {tracker.api}")
    if obs.kind == "degraded":
        return ("feature_missing" if obs.missing else "transient_overload"), evidence
    if obs.outcome == "rate_limited":
        return "rate_limited", evidence
    if tracker.api == "ok":
        return "web_outage", evidence
    if tracker.api in API_OVERLOAD or tracker.indicator in ("major", "critical"):
        return "provider_outage", evidence
    return "inconclusive", evidence
