"""One browser per run; a fresh context whenever an attempt needs a clean one.

The browser and Playwright are closed on every exit path. Playwright keeps each
launched browser's temporary profile in a folder it removes when the browser closes;
`close()` runs from `finally` and from cancellation (Ctrl-C), so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from assistant.browser import driver
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

# Playwright options from outside the playbook, for every session started in this context:
# {"launch": {...}, "context": {...}, "connect": {...}}. The pytest plugin puts pytest-playwright's
# browser_type_launch_args, browser_context_args and connect_options here; the CLI its
# --connect-header, --cdp-header and --expose-network. A playbook's own settings win.
PLAYWRIGHT_OPTIONS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("assistant_playwright_options", default=None)


def outside_options(kind: str) -> dict:
    """The "launch", "context" or "connect" options set from outside (a copy; empty when none)."""
    return dict((PLAYWRIGHT_OPTIONS.get() or {}).get(kind) or {})


class BrowserSession:
    """A started Playwright and one launched Chromium."""

    def __init__(self, *, headless: bool = True, browser_path: str | None = None, remote: str | None = None,
                 channel: str | None = None):
        self.headless = headless
        self.browser_path = browser_path
        self.channel = channel  # a branded browser Playwright finds itself: chrome, msedge, ...
        # A browser elsewhere: "ws://..." (a Playwright browser server, `playwright run-server`)
        # or "cdp:http://..." (an existing Chromium started with --remote-debugging-port).
        self.remote = remote
        self.info: BrowserInfo | None = None
        self.launch_options, self.context_options = outside_options("launch"), outside_options("context")
        self.connect_options = outside_options("connect")
        self.context_options.pop("record_video_dir", None)  # videos go where the run's artifacts go
        if self.connect_options.get("ws_endpoint") and not remote:  # pytest-playwright's connect_options
            self.remote = self.connect_options["ws_endpoint"]
        if "executable_path" in self.launch_options and not browser_path:
            self.browser_path = self.launch_options["executable_path"]
        self._pw_manager: Any = None
        self.playwright: Any = None
        self.browser: Any = None
        # Chromium keeps its own scratch files (its singleton socket folder) under TMPDIR
        # and leaves them when it is killed by Ctrl-C: give it a folder we remove ourselves.
        self._scratch: str | None = None
        self._staged: dict[Path, Path] = {}  # extension folder -> its copy in the scratch folder

    async def __aenter__(self) -> BrowserSession:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def start(self) -> None:
        """Start Playwright, find a browser and launch it."""
        from playwright.async_api import async_playwright

        started = driver.take_early()  # `assistant run` started the driver while the playbook loaded
        if started is not None:
            self._pw_manager, starting, self._scratch = started
        try:  # from here every way out (a stop signal while the driver starts too) removes the scratch folder
            if started is not None:
                self.playwright = await starting
                explicit = None if self.remote else explicit_browser(self.browser_path)
            else:
                explicit = None if self.remote else explicit_browser(self.browser_path)  # fail fast, before starting anything
                self._scratch = driver.new_scratch()
                self._pw_manager = async_playwright()
                driver.quiet_when_the_driver_goes(asyncio.get_running_loop())
                with driver.temp_dir_env(self._scratch):  # the driver's own temporary files land there too
                    self.playwright = await self._pw_manager.start()
            self.browser, self.info = await (self._connect() if self.remote else self._launch(explicit))
        except BaseException:
            await self.close()
            raise

    async def _connect(self):
        """Attach to a browser elsewhere; a refused or wrong endpoint is an environment problem."""
        endpoint = self.remote
        try:
            options = {k: v for k, v in self.connect_options.items() if k != "ws_endpoint"}
            headers = dict(options.pop("headers", None) or {})
            options.setdefault("timeout", 30_000)
            if endpoint.startswith("cdp:"):
                options.pop("expose_network", None)
                browser = await self.playwright.chromium.connect_over_cdp(endpoint[4:], headers=headers or None, **options)
            else:
                # With --browser-path, name the browser the server should launch (a farm decides itself otherwise).
                launch = {"executablePath": self.browser_path, "args": list(LAUNCH_ARGS), "headless": self.headless}
                if self.browser_path:
                    headers.setdefault("x-playwright-launch-options", json.dumps(launch))
                browser = await self.playwright.chromium.connect(endpoint, headers=headers or None, **options)
        except Exception as exc:
            mismatch = version_mismatch(str(exc), endpoint)
            if mismatch:
                raise EnvironmentProblem(mismatch) from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            how = "--cdp (a Chromium started with --remote-debugging-port)" if endpoint.startswith("cdp:") else "--connect (a `playwright run-server` endpoint, ws://host:port/)"
            raise EnvironmentProblem(f"Could not attach to the remote browser at {endpoint.removeprefix('cdp:')}: {first}. Check that it is running and reachable, and that the address fits {how}.") from None
        return browser, BrowserInfo(None, f"remote {endpoint.removeprefix('cdp:')}", f"{browser.browser_type.name} {browser.version}")

    async def _launch(self, explicit: BrowserInfo | None):
        no_display = no_display_for(self.headless)
        if no_display:
            raise EnvironmentProblem(no_display)
        chromium = self.playwright.chromium
        candidates = [explicit] if explicit else []
        if self.channel:
            candidates = [BrowserInfo(None, f"channel {self.channel}")]
        elif not explicit:
            own = chromium.executable_path
            if own and Path(own).exists():
                candidates.append(BrowserInfo(None, "playwright"))
            system = find_system_browser()
            if system:
                candidates.append(system)
        if not candidates:
            raise EnvironmentProblem("No Chromium or Chrome was found on this machine. " + how_to_get_a_browser())
        last_error = None
        extra = {k: v for k, v in self.launch_options.items() if k not in ("headless", "channel", "executable_path", "args")}
        for info in candidates:
            try:
                browser = await chromium.launch(
                    headless=self.headless,
                    channel=self.channel,
                    executable_path=info.path,
                    args=[*LAUNCH_ARGS, *self.launch_options.get("args", ())],
                    env={**os.environ, "TMPDIR": self._scratch},
                    **extra,
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
        """A fresh, clean context (its own cookies, cache and storage); outside options under `kwargs`."""
        return await self.browser.new_context(**{**self.context_options, **kwargs})

    async def setup_context(self, *, profile: Path | None = None, extensions=(), in_place: bool = False,
                            warn=None, **kwargs: Any):
        """A context for a browser setup: clean in the shared browser, or a browser of its own
        on a copy of `profile` (the profile itself when `in_place`) with unpacked `extensions`."""
        from assistant.browser.extensions import load_unpacked

        if profile is None and not extensions:
            return await self.new_context(**kwargs)
        folders = [load_unpacked(e).path for e in extensions]  # a bad folder is a clear error, not a crash
        user_data, extra = None, []
        if profile is not None:
            from assistant.browser import profiles

            if in_place:
                user_data, name = profiles.user_data_dir_of(profile)
                profiles.ensure_free(user_data)  # a browser may have opened it since the backup
            else:
                copy = profiles.copy_profile(profile, self.scratch_dir("copy-"))
                if copy.copied_while_locked and warn:
                    warn(f"{profile} is in use by a running browser: the copy may miss its last changes")
                user_data, name = copy.path, copy.profile_name
            extra = [f"--profile-directory={name}"]
        try:
            return await self.persistent_context(user_data, extensions=folders, extra_args=extra,
                                                 real_profile=user_data is not None, **kwargs)
        except Exception:
            if in_place and profile is not None:  # opened while this one started: say so, not Playwright's words
                profiles.ensure_free(user_data)
            raise

    def scratch_dir(self, prefix: str) -> Path:
        """A temporary folder removed with the session (for profile copies)."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self._scratch))

    async def persistent_context(
        self, user_data_dir: Path | None = None, *, extensions=(), extra_args=(), real_profile: bool = False, **kwargs: Any
    ):
        """A browser of its own on a profile folder (a temporary empty one by default),
        with unpacked `extensions` loaded: what extensions and profile copies need.
        `real_profile`: the folder is (a copy of) a person's profile, whose cookies are
        encrypted with the system keyring, so Playwright's mock keychain must stay off."""
        from assistant.browser.extensions import launch_args
        from assistant.browser.profiles import KEYRING_DEFAULT_ARGS

        folder = user_data_dir or self.scratch_dir("profile-")
        extensions = [self._stage(Path(e)) for e in extensions]
        return await self.playwright.chromium.launch_persistent_context(
            str(folder),
            headless=self.headless,
            executable_path=self.info.path,
            args=[*LAUNCH_ARGS, *extra_args, *launch_args(list(extensions))],
            # Playwright turns extensions off by default; a profile's own and the loaded ones need them.
            ignore_default_args=["--disable-extensions", *(KEYRING_DEFAULT_ARGS if real_profile else ())],
            env={**os.environ, "TMPDIR": self._scratch},
            **{**self.context_options, **kwargs},
        )

    def _stage(self, extension: Path) -> Path:
        """A copy of an unpacked extension to load: Chromium writes into the folder it loads
        (`_metadata/`), and the folder may be the person's. One copy per session, so the
        extension keeps one id across the session's launches."""
        if extension not in self._staged:
            target = self.scratch_dir("ext-") / extension.name
            shutil.copytree(extension, target, symlinks=True, ignore=shutil.ignore_patterns("_metadata"))
            self._staged[extension] = target
        return self._staged[extension]

    async def close(self) -> None:
        """Close the browser and stop Playwright; safe to call twice and during Ctrl-C."""
        browser, self.browser = self.browser, None
        manager, self._pw_manager = self._pw_manager, None
        try:
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
        finally:  # a second stop signal cancels the awaits above: the scratch folder goes all the same
            self.playwright = None
            scratch, self._scratch = self._scratch, None
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)


def version_mismatch(error: str, endpoint: str) -> str | None:
    """The paragraph for a Playwright server of another version (it answers HTTP 428), or None."""
    if " 428 " not in error and "version mismatch" not in error:
        return None
    import re
    from importlib.metadata import version

    ours = ".".join(version("playwright").split(".")[:2])
    found = re.search(r"server version: v?(\d+\.\d+)", error)
    where = endpoint.removeprefix("cdp:")
    if found is None:
        return (f"The Playwright server at {where} refused this client (HTTP 428: a Playwright version mismatch); "
                f"this side runs Playwright {ours}. Install here the Playwright version the server runs, "
                "`pip install playwright==X.Y.*` with its X.Y, or run the server from Playwright " + ours + ".")
    theirs = found.group(1)
    return (f"The Playwright server at {where} runs Playwright {theirs} and this tool runs Playwright {ours}: "
            f"a browser server only takes clients of its own version. Run `pip install playwright=={theirs}.*` here "
            f"(then `assistant doctor`), or start the server from Playwright {ours} (`playwright run-server` of playwright=={ours}.*).")


def no_display_for(headless: bool) -> str | None:
    """Why a browser window cannot open here (Linux with no X or Wayland display), else None."""
    import sys

    if headless or not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("A browser window (--headed, or browser: {headless: false}) needs a display, and there is none here "
            "(DISPLAY and WAYLAND_DISPLAY are not set: an SSH session, a container or CI). Run headless (drop "
            "--headed, or set headless: true), or give it a virtual display: `xvfb-run -a assistant ...`.")
