"""One browser per run; a fresh context whenever an attempt needs a clean one.

The browser and Playwright are closed on every exit path. Playwright keeps each
launched browser's temporary profile in a folder it removes when the browser closes;
`close()` runs from `finally` and from cancellation (Ctrl-C), so nothing is left behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from assistant.browser.find import (
    BrowserInfo,
    explicit_browser,
    find_system_browser,
    how_to_get_a_browser,
)
from assistant.errors import EnvironmentProblem

log = logging.getLogger(__name__)

# Without these Chromium keeps calling home (updates, sync, field trials), which on a
# closed network means a stream of refused connections and slower starts.
LAUNCH_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
)


class BrowserSession:
    """A started Playwright and one launched Chromium."""

    def __init__(self, *, headless: bool = True, browser_path: str | None = None):
        self.headless = headless
        self.browser_path = browser_path
        self.info: BrowserInfo | None = None
        self._pw_manager: Any = None
        self.playwright: Any = None
        self.browser: Any = None
        # Chromium keeps its own scratch files (its singleton socket folder) under TMPDIR
        # and leaves them when it is killed by Ctrl-C: give it a folder we remove ourselves.
        self._scratch: str | None = None

    async def __aenter__(self) -> BrowserSession:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def start(self) -> None:
        """Start Playwright, find a browser and launch it."""
        from playwright.async_api import async_playwright

        explicit = explicit_browser(self.browser_path)  # fail fast, before starting anything
        self._scratch = tempfile.mkdtemp(prefix="assistant-")
        self._pw_manager = async_playwright()
        self.playwright = await self._pw_manager.start()
        try:
            self.browser, self.info = await self._launch(explicit)
        except BaseException:
            await self.close()
            raise

    async def _launch(self, explicit: BrowserInfo | None):
        chromium = self.playwright.chromium
        candidates = [explicit] if explicit else []
        if not explicit:
            own = chromium.executable_path
            if own and Path(own).exists():
                candidates.append(BrowserInfo(None, "playwright"))
            system = find_system_browser()
            if system:
                candidates.append(system)
        if not candidates:
            raise EnvironmentProblem("No Chromium or Chrome was found on this machine. " + how_to_get_a_browser())
        last_error = None
        for info in candidates:
            try:
                browser = await chromium.launch(
                    headless=self.headless,
                    executable_path=info.path,
                    args=list(LAUNCH_ARGS),
                    env={**os.environ, "TMPDIR": self._scratch},
                )
            except Exception as exc:  # try the next candidate, report the last failure
                last_error = exc
                log.debug("launch of %s failed: %s", info.describe(), exc)
                continue
            return browser, BrowserInfo(info.path, info.source, f"{browser.browser_type.name} {browser.version}")
        first_line = str(last_error).strip().splitlines()[0] if last_error else "unknown error"
        raise EnvironmentProblem(
            f"The browser could not be started ({candidates[-1].describe()}): {first_line}. "
            "Run `assistant doctor` to check it; " + how_to_get_a_browser()
        )

    async def new_context(self, **kwargs: Any):
        """A fresh, clean context (its own cookies, cache and storage)."""
        return await self.browser.new_context(**kwargs)

    async def close(self) -> None:
        """Close the browser and stop Playwright; safe to call twice and during Ctrl-C."""
        browser, self.browser = self.browser, None
        manager, self._pw_manager = self._pw_manager, None
        if browser is not None:
            try:
                await browser.close()
            except Exception as exc:  # the driver may already be gone after SIGINT
                log.debug("closing the browser: %s", exc)
        if manager is not None:
            try:
                await manager.__aexit__(None, None, None)
            except Exception as exc:
                log.debug("stopping Playwright: %s", exc)
        self.playwright = None
        scratch, self._scratch = self._scratch, None
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
