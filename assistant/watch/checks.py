"""What one round looks at: the browser check (a site profile's default check, or a
playbook) and the cheap probes (status page and API), judged for the state machine.

One browser is kept between checks and every check gets a fresh context; the browser is
restarted after a crash and every `restart_every` checks, so a watch of days does not
grow with Chromium's own leaks.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.experiments.trial import Check, Trial
from assistant.playbook.model import Playbook, RetryPolicy, SiteProfile
from assistant.probes import ProbeContext
from assistant.timing.retry import max_attempts, next_wait
from assistant.watch.states import Observation, Policy, Reading

SCHEDULE = RetryPolicy()  # the 5/10/30 s schedule, on busy, rate limit and timeout
FEATURE_S = 0.5  # real seconds a named feature may take to show after the answer did


@dataclass
class Target:
    """A site profile (the default check) or a playbook, with how it is watched."""

    name: str
    site: SiteProfile
    playbook: Playbook | None = None
    policy: Policy = field(default_factory=Policy)
    check: Check = field(default_factory=Check)
    retry: RetryPolicy = SCHEDULE
    webhooks: tuple[str, ...] = ()
    maintenance: tuple = ()  # MaintenanceWindow, see alerts


class BrowserKeeper:
    """One browser for many checks: a fresh context each, restarted after a crash or every K checks."""

    def __init__(self, *, headless: bool = True, browser_path: str | None = None, restart_every: int = 50):
        self.headless, self.browser_path, self.restart_every = headless, browser_path, restart_every
        self.session = None
        self.checks = 0
        self.restarts = 0  # every K checks
        self.crashes = 0  # restarts after the browser went away
        self._lock = asyncio.Lock()

    async def get(self):
        """The running session, started or restarted when needed."""
        from assistant.browser import BrowserSession

        async with self._lock:
            alive = self.session is not None and self.session.browser is not None and self.session.browser.is_connected()
            if alive and self.checks >= self.restart_every:
                await self.close()
                alive = False
                self.restarts += 1
            if not alive:
                if self.session is not None:
                    self.crashes += 1
                    await self.close()
                self.session = BrowserSession(headless=self.headless, browser_path=self.browser_path)
                await self.session.start()
                self.checks = 0
            self.checks += 1
            return self.session

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            try:
                await session.close()
            except Exception:  # a browser that crashed may fail to close; it is gone either way
                pass


async def browser_check(target: Target, keeper: BrowserKeeper, clock, *, half_open: bool = False) -> Observation:
    """Run the target's check in a fresh context and judge it: up, degraded or down."""
    at, started = clock.wall().timestamp(), time.monotonic()
    for last_try in (False, True):
        session = await keeper.get()  # no browser at all is the environment's problem (exit 3), not the chat's
        try:
            if target.playbook is not None:
                kind, outcome, detail, attempts, missing = await _playbook(target, session, clock)
            else:
                kind, outcome, detail, attempts, missing = await _site_check(target, session, clock)
        except Exception as exc:
            kind, outcome, detail, attempts, missing = "down", "error", f"the check could not run: {type(exc).__name__}: {exc}", 1, []
        if kind == "up" or last_try or await _alive(session):
            break
        # Our browser crashed or was killed, not the chat: the check once more, in a new browser.
    took = time.monotonic() - started
    if kind == "up" and target.policy.slow is not None and took > target.policy.slow:
        kind, detail = "degraded", f"answered in {took:.1f} s, slower than {target.policy.slow:g} s"
    return Observation(at, kind, outcome, detail, round(took, 3), attempts, missing, half_open)


async def _alive(session) -> bool:
    """Whether the browser still answers: one round trip, since a killed browser's pages can
    fail before Playwright has seen its connection close."""
    browser = session.browser
    if browser is None or not browser.is_connected():
        return False
    try:
        cdp = await browser.new_browser_cdp_session()
        await cdp.detach()
    except Exception:
        return False
    return True


async def _site_check(target: Target, session, clock) -> tuple[str, str, str, int, list[str]]:
    """Open, new chat, send, expect the reply on the retry schedule, then every named feature."""
    context = await session.new_context()
    trial = Trial(context, target.site, target.check, "watch")
    try:
        await trial.start()
        opened = await trial.open_chat()
        if opened is not None:
            return "down", opened.outcome, opened.describe(), 1, []
        if target.site.selectors.get("new_chat"):
            try:
                await trial.chat.new_chat()
            except Exception:
                pass  # a chat without a working "New chat" still answers in its first conversation
        result, attempts = await trial.ask(), 1
        total, retry_after = max_attempts(target.retry), None
        while not result.passed and result.outcome in target.retry.when and attempts < total:
            wait, _reason = next_wait(target.retry, attempts - 1, retry_after)
            await clock.sleep(wait)
            attempts += 1
            retry_after = result.attempt.signal.retry_after
            result = await trial.ask_again()
        if not result.passed:
            return "down", result.outcome, f"{result.describe()} (attempt {attempts} of {total})", attempts, []
        missing = await _missing(trial)
        if missing:
            return "degraded", "answered", f"answered, but {', '.join(missing)} is missing", attempts, missing
        return "up", "answered", f"answered at attempt {attempts}" if attempts > 1 else "answered", attempts, []
    finally:
        await trial.close()


async def _missing(trial: Trial) -> list[str]:
    """The profile's named features that do not show, once the answer has: the page is drawn
    by then, so each gets a short look rather than a step's time limit."""
    from assistant.errors import StepFailed

    missing = []
    for name in trial.site.features:
        try:
            await trial.chat.expect_visible(name, FEATURE_S)
        except StepFailed:
            missing.append(name)
    return missing


async def _playbook(target: Target, session, clock) -> tuple[str, str, str, int, list[str]]:
    """A playbook's steps in a fresh context of the kept browser."""
    from assistant import events as ev
    from assistant.runner import Runner

    records = await Runner(target.playbook, emit=ev.Emitter(), clock=clock).run_in(session)  # the runner's step loop, in our browser
    failed = [r for r in records if r.outcome == "failed"]
    attempts = sum(len(r.attempts) for r in records) or 1
    if not failed:
        return "up", "answered", f"all {len(records)} steps passed", attempts, []
    step = failed[0]
    if step.name == "expect_visible":  # the chat works; a named feature does not show
        missing = [step.label.removeprefix("expect_visible").strip() or "feature"]
        return "degraded", "answered", f"step {step.index} {step.label}: {step.detail}", attempts, missing
    outcome = step.attempts[-1].outcome if step.attempts else "error"
    return "down", outcome, f"step {step.index} {step.label}: {step.detail}", attempts, []


async def probe_reading(site: SiteProfile, clock, timeout: float = 10.0) -> Reading:
    """The status page's indicator and which API routes answer, concurrently."""
    from assistant.probes.run import run_probes

    at = clock.wall().timestamp()
    names = [n for n, wanted in (("status_page", site.status_page), ("api", site.api or site.api_fallbacks)) if wanted]
    findings = await run_probes(site, names, ProbeContext(timeout=timeout)) if names else []
    reading = Reading(at)
    overall = next((f for f in findings if f.probe == "status_page" and f.subject == "overall"), None)
    if overall is not None:
        reading.indicator = overall.data.get("indicator")
        reading.status_summary = overall.summary
    reading.maintenance = any(f.probe == "status_page" and f.outcome == "maintenance" and f.data.get("status") in ("in_progress", "verifying")
                              for f in findings)
    routes = [f for f in findings if f.probe == "api" and f.subject != "routes"]
    main = next((f for f in routes if f.data.get("route") == "main"), routes[0] if routes else None)
    if main is not None and main.outcome != "unknown":
        reading.api = main.outcome
    reading.answering = [("API" if f.data.get("route") == "main" else "api_fallbacks") + f" '{f.subject}'"
                         for f in routes if f.outcome == "ok"]
    return reading


def playbook_target(path: Path, policy: Policy, url: str | None = None) -> Target:
    """A playbook as a target (validated now, before any browser starts)."""
    from assistant.playbook import load_playbook

    playbook = load_playbook(path, url=url)
    return Target(path.stem, playbook.site, playbook=playbook, policy=policy)
