"""The differential diagnosis.

1. Reproduce the failure in the person's setup, with the outside probes running alongside.
2. Decide at once where the evidence already decides: the chat answers (healthy, or a
   feature is missing), the site cannot be reached (DNS, a route), the server says
   rate limit, streams die on this path, the status page reports an outage.
3. Back off on the schedule without changing anything: the control. Recovering here is
   a transient overload; not recovering means the fault persists, so whatever flips it
   next is its cause (and not the overload passing by).
4. Change one thing at a time: a new chat; a clean profile (then the extensions,
   bisected); or, in a clean setup, cookies, then the cache with a hard reload; other
   routes. Experiments that cannot change the verdict are skipped: when the API fails
   the same way, nothing in the browser can be the cause.
5. Otherwise the API decides between the web front end and the provider, or the
   verdict stays inconclusive, listing what was tried.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from urllib.parse import urlsplit

from assistant import events as ev
from assistant.diagnosis import decide
from assistant.diagnosis.model import Evidence, Setup, Verdict
from assistant.experiments.trial import Check, Result, Trial
from assistant.playbook.model import RetryPolicy, Route, SiteProfile
from assistant.probes import ProbeContext
from assistant.timing.retry import max_attempts, next_wait

PROBES = ("status_page", "api", "dns", "connect", "streams", "windows")
CONTROL = RetryPolicy(when=("busy", "rate_limited", "timeout", "error"))


class _Broken(Exception):
    """The diagnosis cannot go on, for a reason that is not the chat's: carries its verdict."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.summary)
        self.verdict = verdict


class Diagnoser:
    """One diagnosis in one browser session."""

    def __init__(self, session, site: SiteProfile, setup: Setup, check: Check, *, clock, emit,
                 turns: int = 1, policy: RetryPolicy = CONTROL, probe_ctx: ProbeContext | None = None):
        self.session, self.site, self.setup, self.check = session, site, setup, check
        self.clock, self.emit, self.turns, self.policy = clock, emit, turns, policy
        self.probe_ctx = probe_ctx or ProbeContext(timeout=10.0, proxy=setup.proxy)
        self.evidence: list[Evidence] = []
        self.tried: list[str] = []
        self.findings: list = []
        self.host = urlsplit(site.url).hostname or site.url
        self.extensions: list = []  # what the setup runs and the bisection tests, read once in run()
        self.not_included: list[str] = []  # the profile's extensions that could not be, with why

    def note(self, source: str, observation: str, outcome: str | None = None, **data) -> None:
        self.evidence.append(Evidence(source, observation, outcome, data))
        self.emit(ev.Note(f"  {source}: {observation}"))

    async def run(self) -> Verdict:
        from assistant.probes.run import run_probes

        trial = probes = None
        self._gather_extensions()
        try:
            trial = await self.open(self.setup, "your setup")
            opened = await trial.open_chat()
            # The probes start once the page has loaded: alongside the conversation, and
            # never the first visitor (a site may hand its first visitor state of its own).
            probes = asyncio.ensure_future(run_probes(self.site, PROBES, self.probe_ctx, self._found))
            first = opened or await trial.converse(self.turns)
            verdict = await self._decide(trial, first, probes)
        except _Broken as broken:
            verdict = broken.verdict
        except Exception as exc:  # a page or browser gone mid-experiment: said, never a traceback
            verdict = self._gone(trial, exc)
        finally:
            if trial is not None:
                await trial.close()
            if probes is not None and not probes.done():
                probes.cancel()
        verdict.evidence, verdict.tried = self.evidence, self.tried
        if self.not_included:
            verdict.notes.append(f"Not included in the extension experiments (the tool cannot read them): {'; '.join(self.not_included)}.")
        self.emit(ev.VerdictReached(verdict))
        return verdict

    def _gather_extensions(self) -> None:
        """The `--extension` folders and the profile's enabled extensions, each once. The
        setup then runs exactly these, as copies loaded unpacked into the profile's copy:
        a copied profile does not reliably re-register its own extensions, and Chromium
        must not write into the person's folders. Unreadable ones are said, not dropped."""
        from assistant.browser.extensions import ExtensionError, discover, load_unpacked

        exts = [load_unpacked(p) for p in self.setup.extensions]
        if self.setup.profile is not None:
            try:
                found = discover(self.setup.profile)
            except ExtensionError as exc:  # not a profile at all: the copy says so next, as before
                self.not_included.append(f"the profile's own ({exc})")
                self.note("setup", f"the profile's extensions cannot be listed: {exc}")
                found = []
            for ext in found:
                if not ext.enabled:
                    continue  # turned off in the person's browser: not part of their setup
                if not ext.readable:  # the problem names the file
                    self.not_included.append(f"'{ext.name}' ({ext.problem})")
                    self.note("setup", f"not included: '{ext.name}': {ext.problem}")
                elif all(ext.path != e.path for e in exts):
                    exts.append(ext)
            self.setup = replace(self.setup, extensions=tuple(e.path for e in exts))
            if exts:
                self.note("setup", f"your profile's copy runs {len(exts)} extension(s), loaded unpacked: "
                          + ", ".join(f"'{e.name}'" for e in exts))
        self.extensions = exts

    def _stop_if_broken(self, trial: Trial) -> None:
        """Stop at once when the profile does not fit the page or the page crashed: neither
        says anything about the chat, and no back-off or experiment can change them."""
        chat = trial.chat
        if chat is not None and chat.crashed:
            raise _Broken(decide.crashed(self, trial.label))
        if chat is not None and chat.unfit:
            raise _Broken(decide.unfit(self, chat.unfit))

    def _gone(self, trial: Trial | None, exc: Exception) -> Verdict:
        from assistant.chat.driver import first_line
        from assistant.errors import AssistantError, EnvironmentProblem, StepFailed

        if isinstance(exc, AssistantError):
            raise exc
        line = exc.detail if isinstance(exc, StepFailed) else first_line(exc)
        chat = trial.chat if trial is not None else None
        if "Target crashed" in line or (chat is not None and chat.crashed):
            return decide.crashed(self, trial.label if chat is not None and chat.crashed else "a trial")
        if chat is not None and chat.unfit:
            return decide.unfit(self, chat.unfit)
        if "has been closed" in line or type(exc).__name__ == "TargetClosedError":
            raise EnvironmentProblem(f"The browser closed during the diagnosis ({line}): was it killed, or out of memory? "
                                     "Nothing was concluded about the chat; run it again.") from None
        if isinstance(exc, StepFailed):  # an experiment the page would not take (a control it lacks)
            self.note("diagnosis", f"could not go on: {line}", exc.outcome)
            return decide.no_flip(self, self.findings)
        raise exc

    def _found(self, finding) -> None:
        self.findings.append(finding)
        self.emit(ev.ProbeFinding(finding))

    async def open(self, setup: Setup, label: str, *, extensions=None, route: Route | None = None) -> Trial:
        """A trial context like `setup` (extensions overridable, proxy replaced by `route`)."""
        from assistant.browser.proxy import proxy_settings

        proxy = route.proxy if route else setup.proxy
        args = {"proxy": proxy_settings(proxy)} if proxy else {}
        exts = setup.extensions if extensions is None else extensions
        context = await self.session.setup_context(profile=setup.profile, extensions=exts,
                                                   warn=lambda text: self.note("setup", text), **args)
        trial = Trial(context, self.site, self.check, label)
        await trial.start()
        return trial

    async def settled_probes(self, probes: asyncio.Future) -> list:
        """The probes' findings, waiting for the ones still running (each is bounded)."""
        try:
            await asyncio.wait_for(asyncio.shield(probes), self.probe_ctx.timeout + 5)
        except asyncio.TimeoutError:
            pass
        return self.findings

    async def _decide(self, trial: Trial, first: Result, probes: asyncio.Future) -> Verdict:
        self.note("reproduce", f"in {trial.label}: {first.describe()}", first.outcome, signal=first.attempt.signal.to_dict())
        self._stop_if_broken(trial)
        if first.passed:
            missing = await trial.missing_features()
            await self.settled_probes(probes)
            return decide.answered(self, missing)
        findings = await self.settled_probes(probes)
        early = decide.from_outside(self, first, findings)
        if first.phase == "open":
            return early or await self._unreachable(first)
        if early:
            return early
        recovered = await self.back_off(trial)
        if recovered:
            return decide.transient(self, recovered)
        if decide.api_fails_alike(self, findings):
            self.tried.append("browser experiments: skipped, the API fails the same way")
            return decide.no_flip(self, findings)
        flipped = await self.experiments(trial)
        return flipped or decide.no_flip(self, findings)

    async def back_off(self, trial: Trial) -> tuple[int, list[float]] | None:
        """Ask again on the schedule, changing nothing: (the attempt that answered, the waits)."""
        self.tried.append("backing off on the schedule (the control: nothing changed)")
        waits: list[float] = []
        retry_after = None
        total = max_attempts(self.policy)
        for attempt in range(2, total + 1):
            wait, reason = next_wait(self.policy, attempt - 2, retry_after)
            self.emit(ev.WaitStarted("diagnose", wait, reason, attempt, total))
            await self.clock.sleep(wait, on_tick=lambda left: self.emit(ev.WaitTick("diagnose", left)))
            waits.append(wait)
            result = await trial.ask_again()
            self.note("back-off", f"attempt {attempt} of {total} after {wait:g} s: {result.describe()}", result.outcome)
            self._stop_if_broken(trial)
            if result.passed:
                return attempt, waits
            retry_after = result.attempt.signal.retry_after
        return None

    async def experiments(self, trial: Trial) -> Verdict | None:
        """Change one thing at a time, cheapest and widest first; the first flip decides."""
        if await self._flips("a new chat", trial, self._new_chat):
            return decide.verdict(self, "session_context", "a new chat fixes it: the conversation itself is refused")
        if self.setup.customised:
            verdict = await self._clean_profile()
            if verdict is not None:
                return verdict
        else:
            if await self._flips("clearing cookies, then a reload", trial, self._clear_cookies):
                return decide.verdict(self, "cookies", "clearing this site's cookies fixes it")
            if await self._flips("clearing the cache, then a hard reload", trial, self._clear_cache):
                return decide.verdict(self, "stale_cache", "only a cache clear with a hard reload fixes it: the browser held outdated site code")
        return await self._routes("it works through route '{}' and not through your usual path")

    async def _routes(self, why: str) -> Verdict | None:
        """The check through each other route; the first that works decides."""
        for route in self.setup.routes:
            other = await self.open(self.setup, f"route {route.name}", route=route)
            try:
                result = await other.reproduce(1)
                self._stop_if_broken(other)
            finally:
                await other.close()
            self.tried.append(f"route {route.name}")
            self.note(f"route {route.name}", result.describe(), result.outcome)
            if result.passed:
                return decide.verdict(self, "network_route", why.format(route.name), route=route.name)
        return None

    async def _flips(self, what: str, trial: Trial, change) -> bool:
        self.tried.append(what)
        await change(trial)
        result = await trial.ask()
        self.note(f"experiment: {what}", result.describe(), result.outcome)
        self._stop_if_broken(trial)
        return result.passed

    @staticmethod
    async def _new_chat(trial: Trial) -> None:
        await trial.chat.new_chat()

    @staticmethod
    async def _clear_cookies(trial: Trial) -> None:
        from assistant.experiments import hygiene

        await hygiene.clear(trial.page, trial.site.url, ["cookies"])
        await hygiene.reload(trial.page, hard=False, timeout=30.0)
        trial.chat.turn = None

    @staticmethod
    async def _clear_cache(trial: Trial) -> None:
        from assistant.experiments import hygiene

        await hygiene.clear(trial.page, trial.site.url, ["cache"])
        await hygiene.reload(trial.page, hard=True, timeout=30.0)
        trial.chat.turn = None

    async def _clean_profile(self) -> Verdict | None:
        """A clean profile without extensions; if it works, which extension (or the profile) it was."""
        self.tried.append("a clean profile without extensions")
        clean = await self.open(Setup(proxy=self.setup.proxy), "a clean profile", extensions=())
        try:
            result = await clean.reproduce(self.turns)
            self._stop_if_broken(clean)
        finally:
            await clean.close()
        self.note("experiment: a clean profile", result.describe(), result.outcome)
        if not result.passed:
            return None
        if self.extensions:
            from assistant.experiments.extensions import find_culprits

            skipped = f"; {len(self.not_included)} could not be included" if self.not_included else ""
            self.tried.append(f"bisecting {len(self.extensions)} extension(s){skipped}")
            found = await find_culprits(self.session, self.site, self.check, self.extensions,
                                        lambda n, subset, r: self.note("bisection", f"launch {n} with [{', '.join(e.name for e in subset) or 'none'}]: {r.outcome}", r.outcome))
            if found.culprits:
                return decide.extension(self, found)
        return decide.verdict(self, "inconclusive", "a clean profile works, but neither an extension nor cookies or cache explain it: something else in your profile does")

    async def _unreachable(self, first: Result) -> Verdict:
        found = await self._routes("the chat cannot be reached your usual way, but route '{}' works")
        return found or decide.no_flip(self, self.findings, unreachable=True)
