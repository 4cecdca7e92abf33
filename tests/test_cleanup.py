"""Nothing is left behind: no Chromium process, no temporary profile, after a pass, a
failure, a bad playbook, and Ctrl-C in the middle of a backoff.

Each run is a real `python -m assistant` process with its own TMPDIR, so every
temporary profile it makes lands in a folder the test can inspect.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import SMOKE, write_playbook

pytestmark = pytest.mark.browser



def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def leftovers(tmpdir: Path) -> list[str]:
    deadline = time.monotonic() + 5  # the driver removes profiles as the browser exits
    while True:
        left = [p.name for p in tmpdir.iterdir()] + processes_mentioning(str(tmpdir))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)  # waiting for other processes to exit, not for a backoff


def start(tmp_path: Path, sim_url: str, *args: str, time_scale: str = "0.001") -> tuple[subprocess.Popen, Path]:
    # Short on purpose: Chromium puts a Unix socket under TMPDIR, and socket paths are
    # limited to 108 bytes, which pytest's deep tmp_path can pass.
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    path = write_playbook(tmp_path, SMOKE)
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "assistant", "run", str(path), "--url", sim_url, "--time-scale", time_scale, *args]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    return proc, tmpdir


@pytest.mark.parametrize(
    ("scenario", "code"),
    [pytest.param("healthy", 0, id="passed"), pytest.param("always-busy", 1, id="failed")],
)
def test_nothing_left_after_a_run(tmp_path, sim, scenario, code):
    sim.configure(scenario=scenario)
    proc, tmpdir = start(tmp_path, sim.url)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


def test_ctrl_c_during_a_backoff_exits_130_and_leaves_nothing(tmp_path, sim):
    sim.configure(scenario="always-busy")
    report = tmp_path / "report.json"
    proc, tmpdir = start(tmp_path, sim.url, "--json", str(report), time_scale="1")
    seen = []
    for line in proc.stderr:  # the real 5 s wait has begun once this line shows
        seen.append(line)
        if "waiting 5 s" in line:
            break
    assert any("waiting 5 s" in line for line in seen), seen
    assert processes_mentioning(str(tmpdir)), "the browser should be running mid-backoff"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["outcome"] == "interrupted"
    assert data["steps"] == [] or data["steps"][0]["outcome"] == "passed"


def test_sigterm_to_the_process_alone_mid_call_still_closes_the_browser_and_driver(tmp_path, sim):
    """`kill PID`, a CI timeout, systemd: only this process hears the stop, as the browser has
    just started and the first page is on its way. The browser and Playwright's
    driver must be closed by this process; they used to outlive it, and the driver put a
    folder back in the removed scratch folder."""
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    path = write_playbook(tmp_path, """
        site: simulator
        steps:
          - open: /
          - click: {selector: "#never-there", timeout: 60s}
    """)
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", str(path), "--url", sim.url], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    for line in proc.stderr:  # the browser is up once the run's header shows; the first page is on its way
        if line.startswith("assistant "):
            break
    assert processes_mentioning(str(tmpdir)), "the browser should be running"
    proc.send_signal(signal.SIGTERM)  # this process only, not its group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
