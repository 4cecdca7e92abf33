"""Remote browsers: a local `playwright run-server` (--connect) and a Chromium reached over CDP (--cdp)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.cli import cli
from assistant.playbook.resources import playbooks_dir

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # a server starting up, not a backoff
    raise AssertionError(f"nothing listens on {port}")


def stop_group(proc: subprocess.Popen) -> None:
    """End a helper and everything it started: `python -m playwright run-server` runs node as
    a child, which a terminate() of the Python wrapper alone leaves behind."""
    def signal_group(number: int) -> bool:
        try:
            os.killpg(proc.pid, number)
            return True
        except ProcessLookupError:  # nobody of the group is left
            return False

    signal_group(signal.SIGINT)  # node's run-server ends at once on SIGINT, only slowly on SIGTERM
    proc.wait(timeout=30)
    for _ in range(100):  # node may outlive the wrapper while it shuts down its browsers
        if not signal_group(0):
            return
        time.sleep(0.1)  # polling for the group to end, not waiting out a delay
    signal_group(signal.SIGKILL)


@pytest.fixture
def run_server():
    port = free_port()
    # --unsafe lets the client name the browser executable (this machine has no Playwright build).
    proc = subprocess.Popen([sys.executable, "-m", "playwright", "run-server", "--port", str(port), "--host", "127.0.0.1", "--unsafe"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_listening(port, proc)
        yield f"ws://127.0.0.1:{port}/"
    finally:
        stop_group(proc)


@pytest.fixture
def cdp_chromium(tmp_path):
    port = free_port()
    profile = Path(tempfile.mkdtemp(prefix="cdp-"))
    proc = subprocess.Popen([find_system_browser().path, "--headless", "--no-sandbox", *LAUNCH_ARGS, f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)
        subprocess.run(["rm", "-rf", str(profile)])


def demo(sim, *args):
    return CliRunner().invoke(cli, ["run", str(playbooks_dir() / "demo.yaml"), "--url", sim.url, "--time-scale", "0.001", *args])


def test_a_playbook_runs_on_a_playwright_browser_server(sim, run_server):
    result = demo(sim, "--connect", run_server, "--browser-path", find_system_browser().path,
                  "--expose-network", "<loopback>", "--connect-header", "X-Farm-Token=any")
    assert result.exit_code == 0, result.stderr
    assert f"remote {run_server}" in result.stderr


def test_a_playbook_runs_on_an_existing_chromium_over_cdp(sim, cdp_chromium):
    result = demo(sim, "--cdp", cdp_chromium)
    assert result.exit_code == 0, result.stderr
    assert f"remote {cdp_chromium}" in result.stderr


def test_an_unreachable_remote_browser_is_an_environment_error(sim):
    result = demo(sim, "--connect", f"ws://127.0.0.1:{free_port()}/")
    assert result.exit_code == 3 and "Could not attach to the remote browser" in result.stderr


def test_connect_and_cdp_together_is_a_usage_error(sim):
    result = demo(sim, "--connect", "ws://127.0.0.1:1/", "--cdp", "http://127.0.0.1:2")
    assert result.exit_code == 2 and "not both" in result.stderr


@pytest.fixture
def farm():
    """A loopback endpoint that answers as a Playwright server of another version (HTTP 428 with
    Playwright's own text), and a CDP address that is not there (404); it records the headers."""
    import asyncio
    import threading

    from aiohttp import web

    seen: list[dict] = []
    mismatch = ("╔═══════════════════════════╗\n║ Playwright version mismatch: ║\n║   - server version: v1.40 ║\n"
                "║   - client version: v1.65 ║\n╚═══════════════════════════╝")

    async def handle(request):
        seen.append({"path": request.path, **request.headers})
        if request.path.startswith("/json"):
            return web.Response(status=404, text="no such page")
        return web.Response(status=428, text=mismatch)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    loop, port = asyncio.new_event_loop(), free_port()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port, seen
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_a_server_of_another_playwright_version_is_named_with_the_pip_line_and_headers_reach_the_farm(sim, farm):
    from importlib.metadata import version

    port, seen = farm
    ours = ".".join(version("playwright").split(".")[:2])
    result = demo(sim, "--connect", f"ws://127.0.0.1:{port}/", "--connect-header", "X-Farm-Token=s3cr3t-token")
    assert result.exit_code == 3, result.stderr
    assert f"runs Playwright 1.40 and this tool runs Playwright {ours}" in result.stderr
    assert "pip install playwright==1.40.*" in result.stderr and "s3cr3t-token" not in result.stderr
    assert any(s.get("X-Farm-Token") == "s3cr3t-token" for s in seen)
    result = demo(sim, "--cdp", f"http://127.0.0.1:{port}", "--cdp-header", "X-Farm-Token=cdp-token")
    assert result.exit_code == 3 and "Could not attach to the remote browser" in result.stderr
    assert any(s["path"].startswith("/json") and s.get("X-Farm-Token") == "cdp-token" for s in seen)
    result = demo(sim, "--cdp", f"http://127.0.0.1:{port}", "--connect-header", "X-Farm-Token=x")
    assert result.exit_code == 2 and "--connect-header goes with --connect" in result.stderr


def test_connect_options_from_a_conftest_reach_playbook_items_and_the_chat_fixture(pytester, sim):
    port = free_port()  # nothing listens: the error proves both tried that endpoint
    pytester.makeconftest(f"""
import pytest

@pytest.fixture(scope="session")
def connect_options():
    return {{"ws_endpoint": "ws://127.0.0.1:{port}/", "timeout": 5000}}
""")
    pytester.makefile(".playbook.yaml", smoke="site: simulator\nsteps:\n  - open: /\n")
    pytester.makepyfile(test_chat="def test_opens(chat):\n    assert chat.page\n")
    result = pytester.runpytest_subprocess("--assistant-url", sim.url, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=1)
    assert result.stdout.str().count(f"Could not attach to the remote browser at ws://127.0.0.1:{port}/") >= 2  # and the summary line
    assert "Traceback" not in result.stdout.str()
