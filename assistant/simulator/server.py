"""Serving the simulator: the aiohttp app, the loopback socket, and the two ways to run it.

`Simulator` runs in a background thread with its own event loop, for tests and for
`assistant demo` (the caller keeps its own loop free for Playwright). `serve()` runs in
the caller's loop until cancelled, for `assistant simulate`. Both bind the socket up
front, in the caller's thread, so a taken port fails at once with a clear message
instead of inside a thread.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Callable

from aiohttp import web

from assistant.errors import EnvironmentProblem
from assistant.simulator import netprobe, openai_api, skins, statuspage, wire
from assistant.simulator.settings import Settings
from assistant.simulator.state import VISITOR_COOKIE, State, current_visitor, visitor_of
from assistant.simulator.thread import LoopThread
from assistant.simulator.web import SIM_LOG, STATE

# Streams can be mid-heartbeat when we stop: do not wait aiohttp's default 60 s for them.
SHUTDOWN_TIMEOUT = 0.5


def build_app(state: State) -> web.Application:
    app = web.Application(middlewares=[_browser_session])
    app[STATE] = state
    skins.add_routes(app)
    openai_api.add_routes(app)
    statuspage.add_routes(app)
    netprobe.add_routes(app)
    app.router.add_get("/__sim/state", _get_state)
    app.router.add_post("/__sim/config", _post_config)
    app.router.add_post("/__reset", _post_reset)
    app.on_response_prepare.append(_no_store)
    return app


@web.middleware
async def _browser_session(request: web.Request, handler):
    """Serve the request as its browser session's (`current_visitor`), and log one line for it."""
    state = request.app[STATE]
    token = current_visitor.set(visitor_of(request.cookies.get(VISITOR_COOKIE), request.headers.get("If-None-Match")))
    status: object = "error"
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if state.log is not None:
            said = request.get(SIM_LOG)
            who = state.browser_label(current_visitor.get())
            state.log(f"{request.method} {request.path} -> {said or status}{who}")
        current_visitor.reset(token)


async def _no_store(request: web.Request, response: web.StreamResponse) -> None:
    # A stale page would hide a change of settings between runs, so nothing is cacheable
    # unless its handler says so (only the script bundle does: stale-cache needs a cache).
    response.headers.setdefault("Cache-Control", "no-store")


async def _get_state(request: web.Request) -> web.Response:
    return wire.json_response(request.app[STATE].snapshot())


async def _post_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object of settings")
        state.configure(**changes)
    except ValueError as exc:  # includes malformed JSON
        return wire.json_response({"error": str(exc)}, status=400)
    return wire.json_response(state.snapshot())


async def _post_reset(request: web.Request) -> web.Response:
    """Forget every counter and browser session (the settings stay): faults start over."""
    request.app[STATE].reset()
    return wire.json_response(request.app[STATE].snapshot())


def check_loopback(host: str) -> None:
    """ValueError unless `host` is a loopback address.

    The simulator accepts any API key and mimics a real service: keep it off the network.
    """
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"the simulator serves on loopback only (127.0.0.1, ::1, localhost), not {host!r}"
        )


def bind(host: str, port: int) -> socket.socket:
    """A bound, non-blocking loopback socket, or EnvironmentProblem saying what to do."""
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Lets a restarted simulator reuse a port still in TIME_WAIT; a live listener still blocks it.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise EnvironmentProblem(
                f"Port {port} on {host} is already in use, so the simulator cannot listen there. "
                "Another program (perhaps another simulator) holds it: stop that program, or pick "
                "another port with --port (0 picks a free one)."
            ) from None
        raise EnvironmentProblem(
            f"The simulator cannot listen on {host} port {port}: {exc.strerror or exc}. "
            "Pick another port with --port (0 picks a free one)."
        ) from None
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _start_site(state: State, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(build_app(state), shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_ready: Callable[[str], None] | None = None,
    log: Callable[[str], None] | None = None,
    timeline: str | None = None,
    time_scale: float = 1.0,
    **settings,
) -> None:
    """Serve in the running loop until cancelled; `on_ready(url)` is called once listening,
    `log(line)` once per request served; `timeline` (see `outage.TIMELINES`) replays that
    timeline's phases, waiting through a clock of `time_scale`, until cancelled.

    `on_ready` exists because with port 0 only the server knows the port it got.
    """
    state = State(Settings.make(**settings))
    state.log = log
    sock = bind(host, port)
    runner = await _start_site(state, sock)
    try:
        if on_ready:
            on_ready(_url(host, sock.getsockname()[1]))
        if timeline:
            from assistant.simulator.outage import play

            await play(state, timeline, time_scale)  # until cancelled
        await asyncio.Event().wait()  # until cancelled
    finally:
        await runner.cleanup()


class Simulator:
    """The simulated chat on a background thread: `start()`, use `url`, `stop()` (or `with`)."""

    def __init__(
        self, scenario: str = "healthy", *, host: str = "127.0.0.1", port: int = 0, **settings
    ):
        self._state = State(Settings.make(scenario=scenario, **settings))  # ValueError on typos
        check_loopback(host)
        self.host = host
        self.port = port  # the real port once started, when 0 was asked for
        self._runner = LoopThread("simulator")

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._runner.running:
            return self
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]

        async def setup() -> web.AppRunner:
            try:
                return await _start_site(self._state, sock)
            except BaseException:
                sock.close()
                raise

        async def cleanup(runner: web.AppRunner) -> None:
            await runner.cleanup()

        self._runner.start(setup, cleanup)
        return self

    def stop(self) -> None:
        self._runner.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- settings and counters ---------------------------------------------------------

    def configure(self, **changes) -> Simulator:
        """Change settings at runtime (validated) and reset every counter."""
        self._state.configure(**changes)
        return self

    def reset(self) -> Simulator:
        """Forget every counter and browser session, keeping the settings (POST /__reset)."""
        self._state.reset()
        return self

    @property
    def url(self) -> str:
        if not self._runner.running:
            raise RuntimeError("the simulator is not running: call start() first")
        return _url(self.host, self.port)

    @property
    def settings(self) -> Settings:
        return self._state.settings

    @property
    def completions(self) -> int:
        """Web completion requests (POST to the `stream_path` setting, by default
        /api/v0/chat/completion, or the plain skin's /backend/conversation) since start/configure."""
        return self._state.completions

    @property
    def api_completions(self) -> int:
        """API completion requests (POST /v1/chat/completions) since start/configure."""
        return self._state.api_completions

    def state(self) -> dict:
        """Settings and counters, as GET /__sim/state returns them."""
        return self._state.snapshot()
