"""Runs a validated playbook: the step loop, retries, artifacts. Emits events, never prints."""

from __future__ import annotations

import asyncio
import os
import random
import re
from pathlib import Path

from assistant import events as ev
from assistant.browser.proxy import proxy_settings, public_proxy
from assistant.chat.detect import AttemptResult, Signal
from assistant.errors import (
    BadSelector,
    EnvironmentProblem,
    PlaybookError,
    StepFailed,
    interrupted_by,
)
from assistant.playbook.model import Playbook, Route, Step
from assistant.probes import ProbeContext
from assistant.records import AttemptRecord, RouteRecord, RunResult, StepRecord
from assistant.steps import registry
from assistant.timing.clock import Clock
from assistant.timing.retry import max_attempts, next_wait


class StepContext:
    """What a step's code may use: the chat driver, the clock, artifacts."""

    def __init__(self, runner: Runner, chat, page):
        self.runner, self.chat, self.page = runner, chat, page
        self.index = ""

    async def wait(self, seconds: float, reason: str) -> str:
        await self.runner.wait(self.index, seconds, reason)
        return f"waited {seconds:g} s"

    async def screenshot(self, name: str | None, full_page: bool) -> str:
        path = self.runner.artifact_path(f"{name or 'step-' + self.index}.png")
        await self.page.screenshot(path=str(path), full_page=full_page)
        os.chmod(path, 0o600)  # a screenshot shows what the signed-in page showed
        self.runner.result.artifacts.append(str(path))
        return f"saved {path}"


def step_label(step: Step, secrets: dict[str, str] | None = None) -> str:
    """A short human label: `send 'hello'`, `expect_reply contains 'pong'`, `reload hard`;
    an `${env:NAME}` value shows as that reference (`secrets`: the playbook's)."""
    from assistant.playbook.load import hide_secrets

    if step.is_block:
        return f"retry block ({len(step.steps)} steps)"
    label = " ".join([step.kind, *(_param_label(k, v) for k, v in step.params.items() if k != "timeout" and v is not False)])
    return hide_secrets(label, secrets) if secrets else label


def _param_label(key: str, value) -> str:
    if key in ("url", "text", "target", "name"):
        return repr(value)
    if key == "duration":
        return f"{value:g} s"
    if key == "matches":
        return f"matches /{value}/"
    if value is True:
        return key
    if key == "extensions":
        return f"({len(value)} extension{'s' if len(value) != 1 else ''})"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if key == "contains":
        return f"contains {value!r}"
    return str(value) if key == "what" else f"{key}={value}"


class Runner:
    """Runs one playbook in one browser."""

    def __init__(
        self,
        playbook: Playbook,
        *,
        emit: ev.Emitter,
        clock: Clock,
        headless: bool | None = None,
        browser_path: str | None = None,
        artifacts_dir: Path | None = None,
        rng: random.Random | None = None,
        probe_ctx: ProbeContext | None = None,
        in_place: bool = False,
        trace: str = "off",
        remote: str | None = None,
        media: dict | None = None,
    ):
        self.playbook, self.emit, self.clock = playbook, emit, clock
        self.in_place = in_place  # run on the person's own profile (the CLI backed it up first)
        self.trace = trace  # off | on | retain-on-failure: Playwright traces into the artifacts folder
        # pytest-playwright's vocabulary: video off|on|retain-on-failure, screenshot off|on|only-on-failure, channel
        self.media = {"video": "off", "screenshot": "only-on-failure", "channel": None, **(media or {})}
        self.remote = remote  # a remote browser (see BrowserSession)
        self.session = None
        self.probe_ctx = probe_ctx or ProbeContext()
        self.headless = playbook.browser.headless if headless is None else headless
        self.browser_path = browser_path
        self.artifacts_dir = artifacts_dir
        self.rng = rng or random.Random()
        self.result = RunResult(
            playbook=playbook.name,
            path=str(playbook.path) if playbook.path else None,
            site=playbook.site.name,
            url=playbook.site.url,
        )
        self.ctx: StepContext | None = None
        self.unwritten: list[str] = []  # artifacts asked for that could not be written (exit 3 at the end)

    def artifact_path(self, filename: str) -> Path:
        folder = self.artifacts_dir or Path("assistant-results")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / re.sub(r"[^\w.-]+", "-", filename)

    async def wait(self, index: str, seconds: float, reason: str, next_attempt: int | None = None, of: int | None = None) -> None:
        self.emit(ev.WaitStarted(index, seconds, reason, next_attempt, of))
        started = self.clock.now()
        try:
            await self.clock.sleep(seconds, on_tick=lambda remaining: self.emit(ev.WaitTick(index, remaining)))
        except (asyncio.CancelledError, KeyboardInterrupt):  # a stop mid-wait: say what really passed
            waited = max(0.0, min(seconds, self.clock.now() - started))
            self.emit(ev.WaitTick(index, seconds - waited))
            before = f" before attempt {next_attempt} of {of}" if next_attempt else ""
            self.result.notes.append(f"Interrupted in step {index} while waiting {seconds:g} s ({reason}){before}: "
                                     f"{waited:.1f} s of it had passed.")
            raise

    async def run(self) -> RunResult:
        """Run every step; the result says passed or failed. Raises only for bad input or environment."""
        from assistant.browser import BrowserSession

        result, started = self.result, self.clock.now()
        result.started_at = self.clock.wall().isoformat(timespec="seconds")
        prewarm()  # the modules a run needs once the browser is up load while it starts
        probes = self._start_probes()  # alongside the browser check, from before its launch
        try:
            async with BrowserSession(headless=self.headless, browser_path=self.browser_path, remote=self.remote,
                                      channel=self.media["channel"]) as session:
                self.session = session
                result.browser = session.info.describe()
                self.emit(ev.RunStarted(self.playbook.name, self.playbook.site.name, self.playbook.site.url, result.browser))
                await self._in_context(session, None, result.steps)
                for route in self.playbook.routes:  # the "switch region" remedy, measured
                    result.routes.append(await self._through(session, route))
            if probes is not None:
                await probes
            if self.unwritten:  # every step ran; what the person asked to keep is not all there
                raise EnvironmentProblem(" ".join(u[:1].upper() + u[1:] + "." for u in self.unwritten),
                                         hint="Free some space, or give --artifacts a folder you can write to.")
            result.outcome = "failed" if any(s.outcome == "failed" for s in result.steps) else "passed"  # `when` skips pass
            result.notes.extend(plain_notes(result))
        except (asyncio.CancelledError, KeyboardInterrupt):
            result.outcome, result.summary = "interrupted", f"interrupted by {interrupted_by()}"
            raise
        except Exception as exc:
            result.outcome, result.error = "error", str(exc)
            raise
        finally:
            if probes is not None and not probes.done():
                probes.cancel()
            result.duration_s = self.clock.now() - started
            result.summary = result.summary or self._summary()
            self.emit(ev.RunEnded(result.outcome, result.summary, result.duration_s, tuple(result.artifacts), result))
        return result

    async def run_in(self, session) -> list[StepRecord]:
        """Run the steps once in a fresh context of `session`, a browser the caller keeps (the
        watch's): the step records. No probes, no routes, no run events: the caller judges."""
        self.session, records = session, []
        await self._in_context(session, None, records)
        return records

    def _start_probes(self) -> asyncio.Task | None:
        if not self.playbook.probes:
            return None
        from assistant.probes.run import run_probes

        def found(finding) -> None:
            self.result.probes.append(finding)  # kept as they come: an interrupted run keeps them
            self.emit(ev.ProbeFinding(finding))

        return asyncio.ensure_future(run_probes(self.playbook.site, self.playbook.probes, self.probe_ctx, found))

    async def _in_context(self, session, route: Route | None, into: list[StepRecord]) -> None:
        """Run the steps in a fresh context (through `route`'s proxy when given)."""
        from assistant.chat.driver import ChatDriver

        context = await self._open_context(session, route)
        if self.trace != "off":
            await context.tracing.start(screenshots=True, snapshots=True, sources=False)
        page = None
        try:
            page = await new_page(context)
            self.ctx = StepContext(self, ChatDriver(page, self.playbook.site), page)
            await self._run_steps(self.playbook.steps, f"{route.name}/" if route else "", into)
            if self.media["screenshot"] == "on":
                await self.ctx.screenshot(f"final{'-' + route.name if route else ''}", True)
        finally:
            try:
                await self._stop_trace(context, route, into)
            except Exception:  # the browser may be going down (Ctrl-C); no trace to keep then
                pass
            try:
                await context.close()
                await self._keep_video(page, into)
            except Exception:  # the browser may be going down (Ctrl-C); it closes the context too
                pass

    async def _keep_video(self, page, records: list[StepRecord]) -> None:
        """A recorded video is kept when asked to, or when the run failed (retain-on-failure)."""
        if page is None or page.video is None:
            return
        path = Path(await page.video.path())
        if self.media["video"] == "on" or any(r.outcome == "failed" for r in records):
            if path.exists():
                os.chmod(path, 0o600)  # like a screenshot, it shows what the signed-in page showed
            self.result.artifacts.append(str(path))
        else:
            path.unlink(missing_ok=True)

    async def _stop_trace(self, context, route: Route | None, records: list[StepRecord]) -> None:
        """Keep the trace (`playwright show-trace FILE`) when asked to, or when the run failed."""
        if self.trace == "off":
            return
        failed = any(r.outcome == "failed" for r in records)
        if self.trace == "on" or failed:
            path = self.artifact_path(f"trace{'-' + route.name if route else ''}.zip")
            try:
                await context.tracing.stop(path=str(path))
                os.chmod(path, 0o600)  # a trace holds every request's Cookie and Authorization headers
            except Exception as exc:  # a full disk, a folder in the way: said like an unwritable report
                if context.pages and context.pages[0].is_closed() or "has been closed" in str(exc):
                    raise  # the browser went away: not the trace's problem
                _remove_partial(path)
                self.unwritten.append(f"the trace {path} was not written: {_write_error(exc)}")
                return
            self.result.artifacts.append(str(path))
        else:
            await context.tracing.stop()

    async def _open_context(self, session, route: Route | None):
        """A context as the playbook's browser spec asks: clean, signed in, a profile, extensions."""
        from assistant.browser import profiles

        spec, args = self.playbook.browser, self._context_args(route)
        if spec.profile == "storage_state":
            if spec.extensions:
                raise PlaybookError("browser: a storage_state cannot be combined with extensions yet; use profile: {path: ...} for a signed-in profile with extensions.")
            args["storage_state"] = profiles.load_storage_state(spec.storage_state)
        return await session.setup_context(
            profile=spec.profile_path if spec.profile == "path" else None, extensions=spec.extensions,
            in_place=self.in_place, warn=lambda text: self.emit(ev.Note(text, "warning")), **args)

    async def diagnose(self, params: dict) -> AttemptResult:
        """The diagnose step: the playbook's browser spec and routes are the person's setup."""
        from assistant.diagnosis.engine import Diagnoser
        from assistant.diagnosis.model import Setup
        from assistant.experiments.trial import Check

        spec = self.playbook.browser
        setup = Setup(profile=spec.profile_path, extensions=spec.extensions, routes=self.playbook.routes)
        check = Check(**{k: params[k] for k in ("prompt", "contains") if k in params}, timeout=params.get("timeout", 60.0))
        diagnoser = Diagnoser(self.session, self.playbook.site, setup, check, clock=self.clock, emit=self.emit,
                              turns=params.get("turns", 1), probe_ctx=self.probe_ctx)
        verdict = await diagnoser.run()
        self.result.verdict = verdict.to_dict()
        self.result.probes.extend(diagnoser.findings)  # what the diagnosis probed is the run's too
        signal = Signal("diagnosis", f"verdict {verdict.category}: {verdict.summary}", extra={"verdict": self.result.verdict})
        return AttemptResult(verdict.category, signal, passed=verdict.category == "healthy", detail=f"{verdict.category}: {verdict.summary}")

    async def experiment(self, kind: str, params: dict) -> AttemptResult:
        """Run an extensions experiment (compare, bisect) for a step, in this run's browser."""
        from assistant.experiments.extensions import run_experiment

        return await run_experiment(kind, params, self.session, self.playbook, self.emit)

    async def _through(self, session, route: Route) -> RouteRecord:
        record = RouteRecord(route.name, public_proxy(route.proxy))
        self.emit(ev.Note(f"route {route.name} via {record.proxy}: the same steps again"))
        started = self.clock.now()
        await self._in_context(session, route, record.steps)
        record.duration_s = self.clock.now() - started
        failed = next((s for s in record.steps if s.outcome == "failed"), None)
        record.outcome = "failed" if failed else "passed"
        record.summary = f"step {failed.index} failed: {failed.detail}" if failed else f"all steps passed in {record.duration_s:.1f} s"
        self.emit(ev.Note(f"route {route.name}: {record.outcome}, {record.summary}", "info" if failed is None else "warning"))
        return record

    def _context_args(self, route: Route | None = None) -> dict:
        spec = self.playbook.browser
        args: dict = {"proxy": proxy_settings(route.proxy)} if route else {}
        if spec.locale:
            args["locale"] = spec.locale
        if spec.viewport:
            args["viewport"] = {"width": spec.viewport[0], "height": spec.viewport[1]}
        if self.media["video"] != "off":
            args["record_video_dir"] = str(self.artifact_path("videos"))
        return args

    async def _run_steps(self, steps: list[Step], prefix: str, into: list[StepRecord]) -> list[StepRecord]:
        """Run steps in order into `into` (kept up to date, so an interrupted run keeps its records)."""
        for number, step in enumerate(steps, 1):
            if step.when is not None and not step.when.holds(into, self.playbook.vars):  # skipped, the run goes on
                record = StepRecord(f"{prefix}{number}", step.kind, step_label(step, self.playbook.secrets), step.pos.line, "skipped", f"when: {step.when.text!r} is false")
                self.emit(ev.StepStarted(record.index, step.kind, record.label))
                self.emit(ev.StepEnded(record.index, step.kind, "skipped", record.detail, 0.0))
                into.append(record)
                continue
            record = await self._run_step(step, f"{prefix}{number}")
            into.append(record)
            if record.outcome == "failed":
                for later_number, later in enumerate(steps[number:], number + 1):
                    into.append(StepRecord(f"{prefix}{later_number}", later.kind, step_label(later, self.playbook.secrets), later.pos.line, "skipped",
                                           f"not run: step {record.index} failed"))
                break
        return into

    async def _run_step(self, step: Step, index: str) -> StepRecord:
        label = step_label(step, self.playbook.secrets)
        self.emit(ev.StepStarted(index, step.kind, label))
        record = StepRecord(index, step.kind, label, step.pos.line, "failed")
        policy, started = step.retry, self.clock.now()
        off_peak = policy is not None and policy.until == "off_peak"
        total = (max_attempts(policy) if policy else 1) + off_peak
        retry_after, stop_note = None, ""
        for number in range(1, total + 1):
            waited = 0.0
            if number > 1:
                if off_peak and number == total:  # the schedule ran out: wait for a quiet hour
                    waited, reason = self._until_quiet()
                else:
                    waited, reason = next_wait(policy, number - 2, retry_after, self.rng)
                if policy.budget is not None and self.clock.now() - started + waited > policy.budget:
                    stop_note = f"; stopped before attempt {number}: the next wait ({waited:g} s) would pass the {policy.budget:g} s budget"
                    break
                await self.wait(index, waited, reason, number, total)
            recovery = None
            if number > 1 and not step.is_block:
                recovery = await self._guard(step, self.ctx.chat.re_ask())
            self.emit(ev.AttemptStarted(index, number, total))
            if recovery is not None and not recovery.passed:  # could not even ask again: that is the attempt
                attempt = AttemptRecord(number, recovery.outcome, {**recovery.signal.to_dict(), "summary": f"could not ask again: {recovery.detail}"},
                                        self.clock.wall().isoformat(timespec="milliseconds"), waited, 0.0, False, recovery.detail)
            else:
                attempt = await self._attempt(step, index, number, waited)
                if recovery is not None:
                    attempt.signal["recovery"] = recovery.detail
            record.attempts.append(attempt)
            self.emit(ev.AttemptEnded(index, number, attempt.outcome, attempt.signal, attempt.duration_s))
            if attempt.passed or policy is None or attempt.outcome not in policy.when or self._page_crashed():
                break  # a crashed page cannot be asked again
            retry_after = attempt.signal.get("retry_after")
        last = record.attempts[-1] if record.attempts else None
        record.outcome = "passed" if last and last.passed else "failed"
        record.detail = self._step_detail(record, total) + stop_note
        record.duration_s = self.clock.now() - started
        if record.outcome == "failed" and not index.count("."):
            await self._failure_screenshot(index)
        if record.outcome == "failed" and step.optional:  # recorded, but the run goes on
            record.outcome, record.detail = "tolerated", f"{record.detail} (optional step: the run goes on)"
        self.emit(ev.StepEnded(index, step.kind, record.outcome, record.detail, record.duration_s))
        return record

    def _until_quiet(self) -> tuple[float, str]:
        from assistant.timing.windows import describe_next, seconds_until_quiet

        now = self.clock.wall()
        wait = min(seconds_until_quiet(self.playbook.site.quiet_windows, now), 24 * 3600.0)  # inf: no window declared
        return wait, f"off-peak: {describe_next(self.playbook.site.quiet_windows, now)}"

    async def _attempt(self, step: Step, index: str, number: int, waited: float) -> AttemptRecord:
        started_at, t0 = self.clock.wall().isoformat(timespec="milliseconds"), self.clock.now()
        inner: list[StepRecord] = []
        if step.is_block:
            inner = await self._run_steps(step.steps, f"{index}.", [])
            failed = next((s for s in inner if s.outcome == "failed"), None)
            res = self._block_result(failed)
        else:
            self.ctx.index = index
            res = await self._guard(step, registry()[step.kind].run(self.ctx, step.params))
            if self.playbook.secrets:  # `open: "${env:URL}"` says which page it loaded: by its name
                from assistant.playbook.load import hide_secrets

                res.detail = hide_secrets(res.detail or "", self.playbook.secrets)
                res.signal.summary = hide_secrets(res.signal.summary, self.playbook.secrets)
        return AttemptRecord(number, res.outcome, res.signal.to_dict(), started_at, waited, self.clock.now() - t0, res.passed, res.detail, inner)

    @staticmethod
    def _block_result(failed: StepRecord | None) -> AttemptResult:
        if failed is None:
            return AttemptResult("ok", Signal("step", "every step of the block passed"), passed=True)
        last = failed.attempts[-1] if failed.attempts else None
        outcome = last.outcome if last else "error"
        signal = Signal("step", f"step {failed.index} {failed.name}: {failed.detail}", extra={"step": failed.index})
        if last and last.signal.get("retry_after") is not None:
            signal.retry_after = last.signal["retry_after"]
        return AttemptResult(outcome, signal, passed=False, detail=failed.detail)

    async def _guard(self, step: Step, awaitable) -> AttemptResult:
        """Run a step's coroutine; turn its failures into an attempt result, bad selectors into exit 2."""
        from assistant.browser.extensions import ExtensionError

        try:
            value = await awaitable
        except StepFailed as exc:
            if self._page_crashed():
                return _crashed()
            self._stop_if_browser_gone(step, exc.detail)  # a step may word a dead browser as its own failure
            return AttemptResult(exc.outcome, Signal("step", exc.detail), passed=False, detail=exc.detail)
        except ExtensionError as exc:
            raise PlaybookError(f"{step.pos}: step {step.kind}: {exc}") from None
        except BadSelector as exc:
            raise PlaybookError(
                f"{step.pos}: step {step.kind}: {exc}. Fix the selector in the playbook or in the site "
                f"profile {self.playbook.site.name!r}."
            ) from None
        except (PlaybookError, EnvironmentProblem, asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # a Playwright error: the attempt's outcome, never a traceback
            from assistant.chat.driver import first_line

            line = first_line(exc)
            if self._page_crashed() or "Target crashed" in line:
                self.ctx.chat.crashed = True  # the page's own event may come a moment later
                return _crashed()
            self._stop_if_browser_gone(step, line, type(exc).__name__ == "TargetClosedError")
            return AttemptResult("error", Signal("step", line), passed=False, detail=line)
        if isinstance(value, AttemptResult):  # a failure on a crashed page: the crash is why
            return _crashed() if not value.passed and self._page_crashed() else value
        return AttemptResult("ok", Signal("step", str(value or "done")), passed=True, detail=str(value or ""))

    def _page_crashed(self) -> bool:
        return self.ctx is not None and getattr(self.ctx.chat, "crashed", False)

    def _stop_if_browser_gone(self, step: Step, line: str, closed: bool = False) -> None:
        """The browser (not only the tab) went away: an environment error, exit 3."""
        if closed or "has been closed" in line or (self.ctx is not None and self.ctx.page.is_closed()):
            raise EnvironmentProblem(
                f"{step.pos}: step {step.kind}: the browser closed during the step ({line}): was it killed, "
                "or out of memory? Nothing is wrong with the playbook; run it again.") from None

    def _step_detail(self, record: StepRecord, total: int) -> str:
        attempts = record.attempts
        if not attempts:
            return "not attempted"
        last = attempts[-1]
        what = last.detail or last.signal.get("summary", "")
        if len(attempts) == 1:
            return what
        waits = _waits([a.waited_s for a in attempts[1:]])
        if last.passed:
            earlier = ", ".join(a.outcome for a in attempts[:-1])
            return f"{last.outcome} at attempt {last.number} of {total} after {earlier} (waited {waits})"
        return f"still {last.outcome} after {len(attempts)} attempts (waited {waits}): {what}"

    async def _failure_screenshot(self, index: str) -> None:
        if self.ctx is None or self.artifacts_dir is None or self.media["screenshot"] == "off":
            return
        try:
            await self.ctx.screenshot(f"failure-step-{index}", False)
        except Exception:  # evidence is a bonus; never let it mask the failure
            pass

    def _summary(self) -> str:
        steps = self.result.steps
        failed = next((s for s in steps if s.outcome == "failed"), None)
        if failed:
            return f"step {failed.index} ({failed.label}) failed: {failed.detail}"
        if self.result.outcome in ("error", "interrupted"):
            return self.result.error or self.result.outcome
        retried = [s for s in steps if len(s.attempts) > 1]
        if retried:
            return "; ".join(f"{s.label}: {s.detail}" for s in retried)
        return passed_summary(steps)


def passed_summary(steps: list[StepRecord]) -> str:
    """`all 4 steps passed`, `the 1 step passed`, or `passed: 8 steps, 1 tolerated, 1 skipped`."""
    counts = {o: sum(1 for s in steps if s.outcome == o) for o in ("passed", "tolerated", "skipped")}
    if counts["passed"] == len(steps):
        return "the 1 step passed" if len(steps) == 1 else f"all {len(steps)} steps passed"
    done = counts["passed"]
    parts = [f"{done} step{'' if done == 1 else 's'}"] + [f"{n} {o}" for o, n in counts.items() if o != "passed" and n]
    return "passed: " + ", ".join(parts)


CRASHED = "the page crashed (its renderer process died: out of memory, or killed); not the chat's doing"


def _crashed() -> AttemptResult:
    """A tab whose renderer died: an attempt outcome of its own, never blamed on the chat."""
    return AttemptResult("error", Signal("page", CRASHED, extra={"crashed": True}), passed=False, detail=CRASHED)


def _write_error(exc: BaseException) -> str:
    """Why a file was not written, in words: "No space left on device", not Playwright's ENOSPC line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    from assistant.chat.driver import first_line

    text = str(exc)
    for code, words in (("ENOSPC", "No space left on device"), ("EISDIR", "it is a folder"), ("EACCES", "Permission denied"),
                        ("EROFS", "Read-only file system"), ("ENOTDIR", "Not a directory"), ("ENOENT", "No such file or directory")):
        if code in text:
            return words
    return first_line(exc)


def _remove_partial(path: Path) -> None:
    """A half-written artifact is no evidence: remove it (a folder in the way stays)."""
    try:
        if path.is_file() and not path.is_symlink():
            path.unlink()
    except OSError:
        pass


async def new_page(context):
    """A page; with video on, a missing video encoder said plainly instead of Playwright's banner."""
    try:
        return await context.new_page()
    except Exception as exc:
        if "ffmpeg" not in str(exc):
            raise
        raise EnvironmentProblem(
            "Recording video needs Playwright's ffmpeg, which is not installed here: run "
            "`python -m playwright install ffmpeg` (it downloads), or record without --video."
        ) from None


def _waits(seconds: list[float]) -> str:
    """`5 + 10 + 30 s`; with a long wait (off-peak) each as the countdown says it: `5 s + 6 h 15 min`."""
    if all(s < 120 for s in seconds):
        return " + ".join(f"{s:g}" for s in seconds) + " s"

    def span(s: float) -> str:
        if s < 120:
            return f"{round(s, 1):g} s"
        minutes = round(s / 60)
        return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"

    return " + ".join(span(s) for s in seconds)


AFTER_LAUNCH = ("assistant.chat.generic", "assistant.chat.driver", "assistant.browser.profiles", "assistant.browser.extensions")


def prewarm() -> None:
    """Import AFTER_LAUNCH on a thread: starting Playwright and the browser is mostly waiting
    for other processes, so the imports cost a run nothing (an import the run reaches first
    waits for the thread's, Python's import locks see to that)."""
    import importlib
    import sys
    import threading

    missing = [name for name in AFTER_LAUNCH if name not in sys.modules]
    if not missing:
        return

    def load() -> None:
        for name in missing:
            try:
                importlib.import_module(name)
            except Exception:  # the run's own import says what is wrong
                return

    threading.Thread(target=load, name="assistant-prewarm", daemon=True).start()


def plain_notes(result: RunResult) -> list[str]:
    """Things worth saying plainly that no single step or probe says."""
    notes = []
    busy = any(s.attempts and s.attempts[-1].outcome in ("busy", "rate_limited") for s in result.steps if s.outcome == "failed")
    green = any(f.probe == "status_page" and f.data.get("indicator") == "none" for f in result.probes)
    direct = "passed" if not any(s.outcome == "failed" for s in result.steps) else "failed"
    for route in result.routes:
        if route.outcome != direct:
            notes.append(
                f"Route {route.name!r} {route.outcome} where the direct path {direct}: the network "
                "path or region makes the difference."
            )
    if busy and green:
        notes.append(
            "The status page says all systems are operational, yet the chat is busy: capacity "
            "limits often never reach a status page, so a green page does not mean it is you."
        )
    return notes


def run_playbook(
    playbook: Playbook,
    *,
    listeners: list,
    time_scale: float = 1.0,
    headless: bool | None = None,
    browser_path: str | None = None,
    artifacts_dir: Path | None = None,
    probe_ctx: ProbeContext | None = None,
    in_place: bool = False,
    trace: str = "off",
    remote: str | None = None,
    media: dict | None = None,
) -> RunResult:
    """Run a playbook to completion in a fresh event loop (the CLI's entry into the core)."""
    runner = Runner(
        playbook,
        emit=ev.Emitter(*listeners),
        clock=Clock(time_scale),
        headless=headless,
        browser_path=browser_path,
        artifacts_dir=artifacts_dir,
        probe_ctx=probe_ctx,
        in_place=in_place,
        trace=trace,
        remote=remote,
        media=media,
    )
    from assistant.browser import driver

    return driver.run(runner.run())  # asyncio.run, on the loop `assistant run` started Playwright's driver on
