"""Remote browsers: a local `playwright run-server` (--connect) and a Chromium reached over CDP (--cdp)."""

from __future__ import annotations

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


@pytest.fixture
def run_server():
    port = free_port()
    # --unsafe lets the client name the browser executable (this machine has no Playwright build).
    proc = subprocess.Popen([sys.executable, "-m", "playwright", "run-server", "--port", str(port), "--host", "127.0.0.1", "--unsafe"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        yield f"ws://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def cdp_chromium(tmp_path):
    port = free_port()
    profile = Path(tempfile.mkdtemp(prefix="cdp-"))
    proc = subprocess.Popen([find_system_browser().path, "--headless", "--no-sandbox", *LAUNCH_ARGS, f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(profile)])


def demo(sim, *args):
    return CliRunner().invoke(cli, ["run", str(playbooks_dir() / "demo.yaml"), "--url", sim.url, "--time-scale", "0.001", *args])


def test_a_playbook_runs_on_a_playwright_browser_server(sim, run_server):
    result = demo(sim, "--connect", run_server, "--browser-path", find_system_browser().path)
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
