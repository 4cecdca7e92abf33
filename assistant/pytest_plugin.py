"""pytest plugin: playbook files collected as tests, for a CI smoke test of a web chat.

Built on pytest-playwright's fixtures, so a team configures it as it does its other
Playwright tests: the browser is launched with `browser_type_launch_args` (or reached with
`connect_options`), every context gets `browser_context_args`, the site is `base_url`
(`--base-url`, the `base_url` ini option, `PYTEST_BASE_URL`; `--assistant-url` wins), and
`--tracing`, `--video`, `--screenshot` keep their files under `output_path`
(`--output/<test id>/`, a rerun in its own folder) for failing tests only when asked
`retain-on-failure` / `only-on-failure`. Files matching an `assistant_playbooks` ini
pattern (several, space-separated; default `*.playbook.yaml`) become test items; the `chat` fixture drives a site from
hand-written tests. Public pytest and Playwright APIs only.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("assistant", "web-chat playbooks (assistant)")
    group.addoption("--assistant-url", metavar="URL", help="The site's base URL for every playbook and the `chat` fixture (wins over --base-url).")
    group.addoption("--assistant-time-scale", type=float, metavar="F", help="Multiply every backoff wait by F (or ASSISTANT_TIME_SCALE).")
    group.addoption("--assistant-site", metavar="NAME|PATH", help="The site profile of the `chat` fixture (or the assistant_site ini option).")
    parser.addini("assistant_playbooks", "Globs of playbook files collected as tests (several, space-separated).",
                  type="args", default=["*.playbook.yaml"])
    parser.addini("assistant_site", "Site profile of the `chat` fixture.", default="deepseek")


_SIGNALS = pytest.StashKey[object]()
_FAILED = pytest.StashKey[bool]()


class _Overrides:
    """Registered last, so its fixtures win over pytest-playwright's of the same name."""

    @pytest.fixture(scope="session", autouse=True)
    @classmethod
    def delete_output_dir(cls) -> None:
        """pytest-playwright empties --output in each xdist worker at its first test, which can
        remove what a faster worker kept; it is emptied once, before the workers start."""


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM and SIGHUP (a CI cancel, `timeout`) end the session like Ctrl-C: each running
    playbook reports itself interrupted and closes its browser; temporary folders are removed."""
    from contextlib import ExitStack

    from assistant.errors import stop_signals_as_interrupt

    stack = ExitStack()
    stack.enter_context(stop_signals_as_interrupt())
    config.stash[_SIGNALS] = stack
    if config.pluginmanager.hasplugin("playwright"):
        config.pluginmanager.register(_Overrides(), "assistant-overrides")


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_SIGNALS, None)
    if stack is not None:
        stack.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if not hasattr(config, "workerinput") and config.pluginmanager.hasplugin("assistant-overrides"):
        output = Path(config.getoption("output"))
        if output.is_dir():
            shutil.rmtree(output, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Whether the test failed (its setup or its call), for the fixtures that keep artifacts."""
    report = yield
    if report.when == "setup" or (report.when == "call" and not item.stash.get(_FAILED, False)):
        item.stash[_FAILED] = report.failed
    return report


def _failed(node: pytest.Item) -> bool:
    """Whether `node` failed so far; an interrupted test (no report) counts as failed."""
    return node.stash.get(_FAILED, True)


def _site_url(config: pytest.Config, base_url: str | None) -> str | None:
    return config.getoption("assistant_url") or base_url or None


def _option_url(config: pytest.Config) -> str | None:
    """The URL known at collection: --assistant-url, --base-url (PYTEST_BASE_URL) or the base_url ini."""
    url = config.getoption("assistant_url") or config.getoption("base_url", default=None)
    if not url:
        try:
            url = config.getini("base_url")
        except ValueError:  # no pytest-playwright or pytest-base-url: no such ini option
            url = None
    return url or None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in parent.config.getini("assistant_playbooks")):
        return PlaybookFile.from_parent(parent, path=file_path)
    return None


class PlaybookFile(pytest.File):
    """A playbook file: validated at collection, so a broken one is a collection error."""

    def collect(self):
        from assistant.errors import AssistantError
        from assistant.playbook import load_playbook

        url = _option_url(self.config)
        try:
            playbook = load_playbook(self.path, url=url)
        except AssistantError as exc:
            raise self.CollectError(str(exc)) from None
        yield PlaybookItem.from_parent(self, name=playbook.name, playbook=playbook, url=url)


class PlaybookFailed(Exception):
    """The run did not pass; carries the RunResult for the failure report."""

    def __init__(self, result):
        super().__init__(result.summary)
        self.result = result


def _playbook_test(request, browser_type_launch_args, browser_context_args, connect_options, base_url, output_path):
    """The test function of a playbook item: pytest-playwright's fixtures in, a run out."""
    request.node.run_playbook(dict(browser_type_launch_args), dict(browser_context_args), connect_options,
                              _site_url(request.config, base_url), Path(output_path))


class PlaybookItem(pytest.Function):
    """One playbook run in a real browser, with pytest-playwright's fixtures."""

    def __init__(self, *, playbook, url: str | None = None, **kwargs):
        self.playbook, self._collected_url = playbook, url
        super().__init__(callobj=_playbook_test, **kwargs)

    def run_playbook(self, launch: dict, context: dict, connect: dict | None, url: str | None, folder: Path) -> None:
        from assistant import events as ev
        from assistant.playbook import load_playbook
        from assistant.runner import Runner
        from assistant.timing.clock import Clock

        config = self.config
        playbook = self.playbook if url == self._collected_url else load_playbook(self.path, url=url)
        headless = launch.pop("headless", None)
        channel = launch.pop("channel", None)
        context.pop("base_url", None)  # the site's URL, set above
        runner = Runner(playbook, emit=ev.Emitter(), clock=Clock(_time_scale(config)), headless=headless, artifacts_dir=folder,
                        trace=config.getoption("tracing", default="off"),
                        media={"video": config.getoption("video", default="off"),
                               "screenshot": _screenshot(config), "channel": channel})
        loop = LoopThread()  # pytest-playwright's sync Playwright holds this thread's event loop
        try:
            result = loop.run(_with_options(runner.run(), {"launch": launch, "context": context, "connect": connect or {}}))
        finally:
            loop.stop()
            _remove_empty(folder)
        _job_summary(result)
        for step in result.steps:
            if step.attempts:
                self.user_properties.append((f"step {step.index} {step.label}", _attempts(step)))
        self.user_properties += [("artifact", path) for path in result.artifacts]
        if result.outcome != "passed":
            raise PlaybookFailed(result)

    def repr_failure(self, excinfo):
        from assistant.errors import AssistantError

        if isinstance(excinfo.value, PlaybookFailed):
            return failure_text(self.playbook, excinfo.value.result)
        if isinstance(excinfo.value, AssistantError):  # bad input or environment: the paragraph, no traceback
            return f"{self.path}: {excinfo.value.label}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"playbook: {self.name}"


async def _with_options(coro, options: dict):
    """Await `coro` with Playwright options from outside the playbook (see BrowserSession)."""
    from assistant.browser.session import PLAYWRIGHT_OPTIONS

    PLAYWRIGHT_OPTIONS.set(options)  # this task's own context
    return await coro


class LoopThread:
    """An event loop in a background thread, for the asynchronous core: the test's own thread
    belongs to pytest-playwright's sync Playwright. Ctrl-C (and SIGTERM, SIGHUP) in the test
    cancels what runs there, waits for it to clean up (reports, browser, profiles), then stops."""

    def __init__(self):
        import asyncio
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="assistant-loop", daemon=True)
        self._thread.start()

    def run(self, coro, timeout: float | None = None):
        import asyncio
        import concurrent.futures

        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except KeyboardInterrupt:
            self._loop.call_soon_threadsafe(future.cancel)
            try:
                future.result(60)
            except (concurrent.futures.CancelledError, Exception):
                pass
            raise

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()


def _screenshot(config: pytest.Config) -> str:
    """--screenshot as given; when not given, a failure keeps its screenshot (pytest-playwright's
    default, off, would leave a failing smoke test without the page it failed on)."""
    import shlex

    given = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *config.getini("addopts")]
    if any(str(arg).startswith("--screenshot") for arg in given):
        return config.getoption("screenshot", default="off")
    return "only-on-failure"


def _time_scale(config: pytest.Config) -> float:
    from assistant.timing.clock import time_scale_from_env

    scale = config.getoption("assistant_time_scale")
    return scale if scale is not None else time_scale_from_env()


def _job_summary(result) -> None:
    """In GitHub Actions, each playbook's outcome, attempts and verdict go into the job summary."""
    from assistant import events as ev
    from assistant.report.summary import summary_reporter

    reporter = summary_reporter(None)  # $GITHUB_STEP_SUMMARY when set
    if reporter is not None:
        reporter(ev.RunEnded(result.outcome, result.summary, result.duration_s, tuple(result.artifacts), result))
        if reporter.error is not None:
            import warnings

            warnings.warn(str(reporter.error), stacklevel=1)


def _remove_empty(folder: Path) -> None:
    """A passing test leaves no folder behind (nothing was kept in it)."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def _attempts(step) -> str:
    return "; ".join(f"{a.outcome} after {a.waited_s:g} s: {a.signal.get('summary', '')}" for a in step.attempts)


def failure_text(playbook, result) -> str:
    """The failing step's playbook lines, then every attempt with its outcome and signal."""
    failed = next((s for s in result.steps if s.outcome == "failed"), None)
    lines = [f"{playbook.path}: {result.summary}"]
    if failed is not None and failed.line:
        source = playbook.source.splitlines()
        for number in range(max(1, failed.line - 1), min(len(source), failed.line + 3) + 1):
            lines.append(f"{'>' if number == failed.line else ' '} {number:4} | {source[number - 1]}")
        for a in failed.attempts:
            lines.append(f"  attempt {a.number}: {a.outcome} (waited {a.waited_s:g} s) {a.signal.get('summary', '')}")
    if result.error:
        lines.append(f"error: {result.error}")
    lines += [f"artifact: {path}" for path in result.artifacts]
    return os.linesep.join(lines)


# --- the `chat` fixture ----------------------------------------------------------------------

class SharedBrowser:
    """One browser per worker for every `chat` test, on an event loop in a background thread
    (the core is asynchronous; the tests are not)."""

    def __init__(self, launch: dict, connect: dict | None):
        self._loop = LoopThread()
        self.session = None
        try:
            self.call(self._start(dict(launch), connect or {}))
        except BaseException:
            self.close()
            raise

    def call(self, coro, timeout: float | None = None):
        return self._loop.run(coro, timeout)

    async def _start(self, launch: dict, connect: dict) -> None:
        from assistant.browser import BrowserSession
        from assistant.browser.session import PLAYWRIGHT_OPTIONS

        headless, channel = launch.pop("headless", True), launch.pop("channel", None)
        PLAYWRIGHT_OPTIONS.set({"launch": launch, "connect": connect})  # this task's own context
        self.session = BrowserSession(headless=headless, channel=channel)
        await self.session.start()

    def close(self) -> None:
        """Close the browser and stop the loop; safe to call twice."""
        if self.session is not None:
            try:
                self.call(self.session.close(), timeout=60)
            finally:
                self.session = None
        self._loop.stop()


class ChatSession:
    """The `chat` fixture: a fresh context in the worker's browser, driven from ordinary tests."""

    def __init__(self, browser: SharedBrowser, site, context_args: dict, node, time_scale: float, media: dict, folder: Path):
        self._browser, self.site, self._node, self._media, self._folder = browser, site, node, media, folder
        self._time_scale = time_scale
        self.context = self.page = self.driver = None
        try:
            browser.call(self._open(dict(context_args)))
        except BaseException:
            self.finish(True)
            raise

    async def _open(self, args: dict) -> None:
        from assistant.chat.driver import ChatDriver

        args.pop("base_url", None)
        if self._media["video"] != "off":
            args["record_video_dir"] = str(self._folder / "videos")
        self.context = await self._browser.session.new_context(**args)
        if self._media["tracing"] != "off":
            await self.context.tracing.start(screenshots=True, snapshots=True, sources=False)
        from assistant.errors import EnvironmentProblem
        from assistant.runner import new_page

        try:
            self.page = await new_page(self.context)
        except EnvironmentProblem as exc:  # no video encoder: the runner's paragraph, without Playwright's box
            problem = str(exc)
        else:
            problem = None
        if problem is not None:  # failed outside the except, so pytest shows no chained exception
            pytest.fail(problem, pytrace=False)
        self.driver = ChatDriver(self.page, self.site)
        await self.driver.open("/", 30.0)

    @property
    def browser(self):
        """The worker's Playwright browser (async API), shared by every `chat` test."""
        return self._browser.session.browser

    def evaluate(self, expression: str, arg=None):
        """The value of a JavaScript expression in the chat's page (Playwright's page.evaluate)."""
        __tracebackhide__ = True
        return self._browser.call(self.page.evaluate(expression, arg))

    def send(self, text: str) -> None:
        """Type `text` in the composer and send it."""
        __tracebackhide__ = True
        self._browser.call(self.driver.send(text, 10.0))

    def expect_reply(self, contains: str | None = None, matches: str | None = None, timeout: float = 60.0,
                     retry: dict | bool | None = None) -> str:
        """The reply to the last message, retried as a playbook's `retry:` says (default: the
        5/10/30 s schedule; False: one attempt). Fails the test on busy, rate limit, error,
        timeout or a wrong answer once the retries run out, listing every attempt."""
        __tracebackhide__ = True
        attempts = self._browser.call(self._expect(contains, matches, timeout, _policy(retry)))
        self._node.user_properties.append(("expect_reply", "; ".join(
            f"{r.outcome} after {waited:g} s: {r.signal.summary}" for _, waited, r in attempts)))
        _, _, last = attempts[-1]
        if not last.passed:
            raise AssertionError(_attempts_text(attempts))
        return last.reply or ""

    async def _expect(self, contains, matches, timeout, policy) -> list:
        from assistant.timing.clock import Clock
        from assistant.timing.retry import max_attempts, next_wait

        clock, attempts, retry_after = Clock(self._time_scale), [], None
        started = clock.now()
        for number in range(1, (max_attempts(policy) if policy else 1) + 1):
            waited = 0.0
            if number > 1:
                waited, _ = next_wait(policy, number - 2, retry_after)
                if policy.budget is not None and clock.now() - started + waited > policy.budget:
                    break
                await clock.sleep(waited)
                await self.driver.re_ask()
            result = await self.driver.expect_reply(contains=contains, matches=matches, timeout=timeout)
            attempts.append((number, waited, result))
            if result.passed or policy is None or result.outcome not in policy.when:
                break
            retry_after = result.signal.retry_after
        return attempts

    def expect_not_busy(self, timeout: float = 60.0):
        """Fails the test only when the chat says busy or rate-limited; returns the attempt otherwise."""
        __tracebackhide__ = True
        result = self._browser.call(self.driver.expect_reply(contains=None, matches=None, timeout=timeout))
        if result.outcome in ("busy", "rate_limited"):
            raise AssertionError(f"the chat is {result.outcome}: {result.signal.summary}")
        return result

    def finish(self, failed: bool) -> list[str]:
        """Keep or drop the trace, a screenshot and the video as the options say; close the context."""
        try:
            return self._browser.call(self._finish(failed), timeout=120)
        finally:
            _remove_empty(self._folder)

    async def _finish(self, failed: bool) -> list[str]:
        kept, media, folder = [], self._media, self._folder
        if self.context is None:
            return kept
        wanted = {k: v == "on" or (failed and v in ("retain-on-failure", "only-on-failure")) for k, v in media.items()}
        folder.mkdir(parents=True, exist_ok=True)
        if wanted["screenshot"] and self.page is not None:
            shot = folder / ("failure.png" if failed else "final.png")
            try:
                await self.page.screenshot(path=str(shot))
                kept.append(str(shot))
            except Exception:  # a crashed page: the trace still tells
                pass
        if media["tracing"] != "off":
            trace = folder / "trace.zip"
            await self.context.tracing.stop(path=str(trace) if wanted["tracing"] else None)
            if wanted["tracing"]:
                os.chmod(trace, 0o600)  # it holds every request's cookies and headers
                kept.append(str(trace))
        video = self.page.video if self.page is not None else None
        await self.context.close()
        if video is not None:
            path = Path(await video.path())
            if wanted["video"]:
                kept.append(str(path))
            else:
                path.unlink(missing_ok=True)
        return kept


def _policy(retry):
    from assistant.playbook.validate import parse_duration
    from assistant.timing.retry import RetryPolicy, policy_from_mapping

    if retry is False:
        return None
    if retry is None or retry is True:
        return RetryPolicy()
    data = dict(retry)
    for key in ("schedule",):
        if key in data:
            data[key] = [parse_duration(v) for v in data[key]]
    if "budget" in data:
        data["budget"] = parse_duration(data["budget"])
    if "exponential" in data:
        data["exponential"] = {k: parse_duration(v) if k in ("initial", "cap") else v for k, v in data["exponential"].items()}
    return policy_from_mapping(data)


def _attempts_text(attempts: list) -> str:
    _, _, last = attempts[-1]
    waits = " + ".join(f"{w:g}" for _, w, _ in attempts[1:])
    head = f"the reply was {last.outcome}" + (f" after {len(attempts)} attempts (waited {waits} s)" if len(attempts) > 1 else "")
    lines = [f"{head}: {last.detail or last.signal.summary}"]
    lines += [f"  attempt {n}: {r.outcome} (waited {w:g} s) {r.signal.summary}" for n, w, r in attempts]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def assistant_browser(browser_type_launch_args, connect_options):
    """The worker's one browser for `chat` tests, launched with `browser_type_launch_args`
    (or reached with `connect_options`)."""
    from assistant.errors import AssistantError

    try:
        browser = SharedBrowser(browser_type_launch_args, connect_options)
    except AssistantError as exc:  # no browser, an unreachable remote one: the paragraph, no traceback
        pytest.fail(f"{exc.label}: {exc}", pytrace=False)
    yield browser
    browser.close()


@pytest.fixture
def chat(request, pytestconfig, assistant_browser, browser_context_args, base_url, output_path):
    """A fresh context on the site profile (`--assistant-site`, `base_url`): send(), expect_reply(), expect_not_busy()."""
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase

    site = load_site(pytestconfig.getoption("assistant_site") or pytestconfig.getini("assistant_site"))
    url = _site_url(pytestconfig, base_url)
    args = dict(browser_context_args)
    marker = next(request.node.iter_markers("browser_context_args"), None)
    args.update(marker.kwargs if marker else {})
    media = {"tracing": pytestconfig.getoption("tracing", default="off"), "video": pytestconfig.getoption("video", default="off"),
             "screenshot": _screenshot(pytestconfig)}
    session = ChatSession(assistant_browser, rebase(site, url) if url else site, args, request.node,
                          _time_scale(pytestconfig), media, Path(output_path))  # closes its context if it fails to open
    yield session
    kept = session.finish(_failed(request.node))
    request.node.user_properties += [("artifact", path) for path in kept]
