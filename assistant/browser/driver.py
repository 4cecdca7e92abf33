"""Starting Playwright's driver: in a BrowserSession, or early, while a command gets ready.

Each session's driver and browsers keep their temporary files in a scratch folder of its
own (`new_scratch`, the driver's TMPDIR), removed with the session.

Starting Playwright starts its Node.js driver: about 0.35 s in which this process only
waits. For `assistant run` and `demo`, the console script starts it first (`start_early`),
and click, the command and the playbook load meanwhile; `run` runs the run on the loop the driver started
on, and the run's BrowserSession takes the started driver (`take_early`) instead of
starting one. A command that ends without a run (a playbook that does not load, a stop
signal, a refused --in-place) stops the driver again and removes its folder
(`discard_early`).

Only the driver starts early, never a browser: nothing here can change what a run does,
only when its first wait begins. Any other command or caller (the pytest plugin, click's
CliRunner, watch, diagnose) has no early driver, and `run` is then asyncio.run.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Loop steps to let Playwright's start reach its driver's spawn, which reads the environment
# (TMPDIR among it): the spawn comes on the second step; the rest is margin.
# tests/test_driver_start.py checks the driver got the scratch folder as its TMPDIR.
SPAWN_STEPS = 8


@dataclass
class _Early:
    runner: asyncio.Runner
    manager: Any  # playwright's PlaywrightContextManager
    task: asyncio.Task  # manager.start(): the started Playwright
    scratch: str | None  # the session's scratch folder, the driver's TMPDIR
    own_process: bool = False  # started by the console script: the process ends with the run
    adopted: bool = False  # a BrowserSession owns manager, task and scratch


_early: _Early | None = None


def start_early(own_process: bool = False) -> None:
    """Start Playwright's driver on a fresh event loop that `run` will use. Does nothing
    when one is started already or Playwright cannot be imported (the run then says why).
    `own_process`: the console script's, whose process ends with the run (see `run`)."""
    global _early
    if _early is not None:
        return
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return
    runner, task, scratch = asyncio.Runner(), None, None
    try:
        scratch = new_scratch()
        loop = runner.get_loop()
        quiet_when_the_driver_goes(loop)
        manager = async_playwright()
        with temp_dir_env(scratch):  # the driver's own temporary files land there, as in BrowserSession.start
            task = loop.create_task(manager.start())
            for _ in range(SPAWN_STEPS):
                loop.run_until_complete(asyncio.sleep(0))
        _early = _Early(runner, manager, task, scratch, own_process)
    except BaseException:  # a stop signal in the middle: nothing stays behind
        _close(_Early(runner, None, task, scratch))
        raise


def take_early() -> tuple[Any, asyncio.Task, str] | None:
    """For a BrowserSession starting on the early loop: (manager, start task, scratch folder),
    once; None otherwise (the session starts Playwright itself)."""
    early = _early
    if early is None or early.adopted:
        return None
    try:
        if asyncio.get_running_loop() is not early.runner.get_loop():
            return None
    except RuntimeError:
        return None
    early.adopted = True
    return early.manager, early.task, early.scratch


def run(coro):
    """asyncio.run(coro), on the early driver's loop when `start_early` started one (with the
    context of this moment, so context variables set since `start_early` hold)."""
    early = _early
    if early is None:
        with asyncio.Runner() as runner:
            return _run_to_the_end(runner, coro)
    if early.own_process:
        # What is loaded by now (the modules, the playbook) lives until the process ends: out of
        # the collector's sight, no collection walks it again, the one at exit included (~40 ms).
        # Not in a process that goes on (a test runner's): what it froze would never be freed.
        gc.freeze()
    try:
        return _run_to_the_end(early.runner, coro, contextvars.copy_context())
    finally:
        discard_early()


def _run_to_the_end(runner: asyncio.Runner, coro, context=None):
    """runner.run(coro); but when a stop signal's KeyboardInterrupt comes while the loop waits
    (outside the run's task), the run's task is cancelled and finishes first: its own cleanup
    closes the browser and stops the driver while Playwright still answers. Left to the
    runner's close, Playwright's own tasks would be cancelled with it, its calls would fail at
    once, and the driver would outlive this process (and put a folder back in the scratch one)."""
    try:
        return runner.run(coro, context=context)
    except KeyboardInterrupt:
        loop = runner.get_loop()
        for task in asyncio.all_tasks(loop):
            if task.get_coro() is coro and not task.done():
                task.cancel()
                try:
                    loop.run_until_complete(task)
                except BaseException:  # cancelled as asked, or a second stop: the first one stands
                    pass
        raise


def discard_early() -> None:
    """Stop the early driver unless a session took it, and close its loop; safe to call
    twice and when nothing was begun."""
    global _early
    early, _early = _early, None
    if early is not None:
        _close(early)


def _close(early: _Early) -> None:
    try:
        if not early.adopted and early.task is not None:
            early.runner.run(_stop(early.task))
    except BaseException as exc:  # a stop signal while it stops: the driver ends with this process
        log.debug("stopping the early Playwright driver: %s", exc)
    finally:
        early.runner.close()
        if not early.adopted and early.scratch:
            shutil.rmtree(early.scratch, ignore_errors=True)


async def _stop(task: asyncio.Task) -> None:
    """Let the driver finish starting, then stop it (it has no browser yet)."""
    try:
        playwright = await task
    except Exception as exc:  # it did not start: nothing to stop
        log.debug("the early Playwright driver did not start: %s", exc)
        return
    await playwright.stop()


def new_scratch() -> str:
    """A session's scratch folder, under a temporary folder short enough for Chromium's socket."""
    return tempfile.mkdtemp(prefix="assistant-", dir=short_temp_root())


def quiet_when_the_driver_goes(loop: asyncio.AbstractEventLoop) -> None:
    """Ctrl-C reaches Playwright's driver process too (one process group), and its end leaves a
    future nobody awaits any more: asyncio would print "Future exception was never retrieved ...
    Connection closed while reading from the driver" after a clean stop. Only that one is
    hushed; every other unhandled error goes to the handler there was."""
    previous = loop.get_exception_handler()
    if getattr(previous, "quiet_driver", False):
        return

    def handler(loop, context) -> None:
        if str(context.get("exception")) == "Connection closed while reading from the driver":
            log.debug("the Playwright driver went away: %s", context.get("message"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.quiet_driver = True
    loop.set_exception_handler(handler)


SHORT_TEMP = 30  # characters: Chromium's singleton socket path (TMPDIR + ~65) must stay under 108 bytes


def short_temp_root() -> str | None:
    """Where the session's scratch folder goes: TMPDIR when it is short, else /tmp (macOS's
    TMPDIR is ~49 characters, too long for the socket). None: the default, when /tmp is unusable."""
    default = tempfile.gettempdir()
    if len(default) <= SHORT_TEMP:
        return None
    return "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK | os.X_OK) else None


@contextlib.contextmanager
def temp_dir_env(folder: str):
    """Point TMPDIR/TEMP/TMP at `folder` while a child process starts (it inherits them)."""
    names = ("TMPDIR", "TEMP", "TMP")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, folder))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
