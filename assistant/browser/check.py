"""Which browser will be used, its version, and whether it starts (for `assistant doctor`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from assistant.browser.find import (
    browser_version,
    explicit_browser,
    find_system_browser,
    how_to_get_a_browser,
)
from assistant.errors import EnvironmentProblem


def _playwright_chromium() -> str | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if path and Path(path).exists() else None


def check_browser(browser_path: str | None, echo: Callable[[str], None]) -> bool:
    """Print what was looked for and found; launch the browser once. True when it works."""
    try:
        explicit = explicit_browser(browser_path)
    except EnvironmentProblem as exc:
        echo(f"error: {exc}")
        return False
    echo(f"--browser-path / ASSISTANT_BROWSER: {explicit.path if explicit else 'not set'}")
    own = _playwright_chromium()
    echo(f"Playwright's Chromium: {own or 'not installed'}")
    system = find_system_browser()
    echo(f"System Chromium/Chrome: {system.path if system else 'none found'}")
    if not (explicit or own or system):
        echo("No browser found. " + how_to_get_a_browser())
        return False
    chosen = explicit.path if explicit else own or system.path
    echo(f"Will use: {chosen} ({browser_version(chosen) or 'version unknown'})")
    return asyncio.run(_try_launch(browser_path, echo))


async def _try_launch(browser_path: str | None, echo: Callable[[str], None]) -> bool:
    from assistant.browser import BrowserSession

    try:
        async with BrowserSession(headless=True, browser_path=browser_path) as session:
            page = await session.browser.new_page()
            await page.set_content("<p>ok</p>")
            echo(f"Headless launch: OK ({session.info.describe()})")
            return True
    except EnvironmentProblem as exc:  # this is the doctor: it does not send the person to itself
        echo(f"Headless launch: FAILED. {str(exc).replace('Run `assistant doctor` to check it; ', '')}")
        return False
