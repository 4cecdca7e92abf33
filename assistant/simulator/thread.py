"""A server on a background thread with its own event loop, started and stopped from any thread.

The caller keeps its own loop free (for Playwright); a failure to start is raised in
the caller's thread, not lost inside the background one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any


class LoopThread:
    """`start(setup, cleanup)`: `await setup()` on a new loop and thread; `stop()`: `await cleanup(it)`."""

    def __init__(self, name: str):
        self.name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(
        self,
        setup: Callable[[], Awaitable[Any]],
        cleanup: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            try:
                served = await setup()
            except BaseException as exc:
                failure.append(exc)
                return
            finally:
                ready.set()
            try:
                await self._stop.wait()
            finally:
                if cleanup is not None:
                    await cleanup(served)
            # Whatever is still open (a tunnel, a stream) is cancelled as asyncio.run ends.

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass  # the loop already ended on its own
        thread.join()
        self._thread = self._loop = self._stop = None
