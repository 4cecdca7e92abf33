"""pytest plugin: playbook files collected as tests, for a CI smoke test of a web chat.

Files matching the `assistant_playbooks` ini pattern (default `*.playbook.yaml`) become
test items. Each runs on pytest-playwright's options where it has them (`--headed`,
`--browser-channel`, `--tracing`, `--video`, `--screenshot`, `--output`), fails with the playbook lines of the failing step and every
attempt, and records the attempts as JUnit properties. Public pytest API only.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("assistant", "web-chat playbooks (assistant)")
    group.addoption("--assistant-url", metavar="URL", help="Run every playbook against this base URL.")
    group.addoption("--assistant-time-scale", type=float, metavar="F", help="Multiply every backoff wait by F (or ASSISTANT_TIME_SCALE).")
    group.addoption("--assistant-site", metavar="NAME|PATH", help="The site profile of the `chat` fixture (or the assistant_site ini option).")
    parser.addini("assistant_playbooks", "Glob of playbook files collected as tests.", default="*.playbook.yaml")
    parser.addini("assistant_site", "Site profile of the `chat` fixture.", default="deepseek")


_SIGNALS = pytest.StashKey[object]()


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM and SIGHUP (a CI cancel, `timeout`) end the session like Ctrl-C: each running
    playbook reports itself interrupted and closes its browser; temporary folders are removed."""
    from contextlib import ExitStack

    from assistant.errors import stop_signals_as_interrupt

    stack = ExitStack()
    stack.enter_context(stop_signals_as_interrupt())
    config.stash[_SIGNALS] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_SIGNALS, None)
    if stack is not None:
        stack.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if fnmatch.fnmatch(file_path.name, parent.config.getini("assistant_playbooks")):
        return PlaybookFile.from_parent(parent, path=file_path)
    return None


class PlaybookFile(pytest.File):
    """A playbook file: validated at collection, so a broken one is a collection error."""

    def collect(self):
        from assistant.errors import AssistantError
        from assistant.playbook import load_playbook

        try:
            playbook = load_playbook(self.path, url=self.config.getoption("assistant_url"))
        except AssistantError as exc:
            raise self.CollectError(str(exc)) from None
        yield PlaybookItem.from_parent(self, name=playbook.name, playbook=playbook)


class PlaybookFailed(Exception):
    """The run did not pass; carries the RunResult for the failure report."""

    def __init__(self, result):
        super().__init__(result.summary)
        self.result = result


class PlaybookItem(pytest.Item):
    """One playbook run in a real browser."""

    def __init__(self, *, playbook, **kwargs):
        super().__init__(**kwargs)
        self.playbook = playbook

    def runtest(self) -> None:
        from assistant.runner import run_playbook
        from assistant.timing.clock import time_scale_from_env

        config = self.config
        scale = config.getoption("assistant_time_scale")
        output = Path(config.getoption("output", default=None) or "test-results")
        result = run_playbook(
            self.playbook,
            listeners=[],
            time_scale=scale if scale is not None else time_scale_from_env(),
            headless=False if config.getoption("headed", default=False) else None,
            artifacts_dir=output / re.sub(r"[^\w.-]+", "-", self.nodeid),
            trace=config.getoption("tracing", default=None) or "off",
            media={
                "video": config.getoption("video", default=None) or "off",
                "screenshot": config.getoption("screenshot", default=None) or "only-on-failure",
                "channel": config.getoption("browser_channel", default=None),
            },
        )
        for step in result.steps:
            if step.attempts:
                self.user_properties.append((f"step {step.index} {step.label}", _attempts(step)))
        if result.outcome != "passed":
            raise PlaybookFailed(result)

    def repr_failure(self, excinfo, style=None):
        from assistant.errors import AssistantError

        if isinstance(excinfo.value, PlaybookFailed):
            return failure_text(self.playbook, excinfo.value.result)
        if isinstance(excinfo.value, AssistantError):  # bad input or environment: the paragraph, no traceback
            return f"{self.path}: {excinfo.value.label}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"playbook: {self.name}"


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


class ChatSession:
    """The `chat` fixture: a real browser on the site, driven from ordinary (sync) tests.

    The tool's core is asynchronous; this runs it on an event loop in a background thread
    and waits for each call, so a test reads top to bottom.
    """

    def __init__(self, site, headless: bool):
        import asyncio
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="assistant-chat", daemon=True)
        self._thread.start()
        self.site, self.session = site, None
        try:
            self._call(self._start(headless))
        except BaseException:
            self.close()
            raise

    def _call(self, coro, timeout: float | None = None):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self, headless: bool) -> None:
        from assistant.browser import BrowserSession
        from assistant.chat.driver import ChatDriver

        self.session = BrowserSession(headless=headless)
        await self.session.start()
        context = await self.session.new_context()
        self.page = await context.new_page()
        self.driver = ChatDriver(self.page, self.site)
        await self.driver.open("/", 30.0)

    def send(self, text: str) -> None:
        """Type `text` in the composer and send it."""
        self._call(self.driver.send(text, 10.0))

    def expect_reply(self, contains: str | None = None, matches: str | None = None, timeout: float = 60.0) -> str:
        """The reply to the last message; fails the test on busy, rate limit, error, timeout or a wrong answer."""
        result = self._call(self.driver.expect_reply(contains=contains, matches=matches, timeout=timeout))
        if not result.passed:
            raise AssertionError(f"the reply was {result.outcome}: {result.detail or result.signal.summary}")
        return result.reply or ""

    def expect_not_busy(self, timeout: float = 60.0):
        """Fails the test only when the chat says busy or rate-limited; returns the attempt otherwise."""
        result = self._call(self.driver.expect_reply(contains=None, matches=None, timeout=timeout))
        if result.outcome in ("busy", "rate_limited"):
            raise AssertionError(f"the chat is {result.outcome}: {result.signal.summary}")
        return result

    def close(self) -> None:
        """Close the browser and stop the loop; safe to call twice."""
        if self.session is not None:
            self._call(self.session.close(), timeout=60)
            self.session = None
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)


@pytest.fixture
def chat(pytestconfig):
    """A real browser on the site profile (`--assistant-site`, `--assistant-url`): send(), expect_reply(), expect_not_busy()."""
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase

    site = load_site(pytestconfig.getoption("assistant_site") or pytestconfig.getini("assistant_site"))
    url = pytestconfig.getoption("assistant_url")
    session = ChatSession(rebase(site, url) if url else site, headless=not pytestconfig.getoption("headed", default=False))
    yield session
    session.close()
