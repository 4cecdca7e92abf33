"""Issue 10 with a real Chromium and real processes: the browser or its tab dies mid-run,
a `matches:` regex backtracks on the remote reply, a site profile does not fit the page,
a trace meets a full disk, two `--in-place` runs meet on one profile.

Each fault is made for real: the renderer or browser process is killed by its pid (found
through /proc, under the run's own TMPDIR), the disk is a folder in the trace's way.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.browser import BrowserSession
from assistant.browser.backup import (
    MANIFEST,
    RESTORING,
    TREE,
    backup_profile,
    release_profile,
    restore_profile,
    tree_digest,
)
from assistant.browser.find import find_system_browser
from assistant.cli import cli
from assistant.errors import EnvironmentProblem
from tests.conftest import TEST_TIME_SCALE, write_playbook
from tests.test_cleanup import leftovers
from tests.test_profiles import dead_pid, user_data

pytestmark = pytest.mark.browser

STALL = """
    site: simulator
    steps:
      - open: /
      - send: "Reply with the single word: pong"
      - expect_reply: {contains: pong, timeout: 60s, retry: {when: [error, timeout], schedule: [5s]}}
"""


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def chromium_processes(tmpdir: Path) -> dict[int, str]:
    """pid -> command line of every Chromium process of the run (they all name its TMPDIR)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and str(tmpdir) in cmdline and "chrom" in cmdline.split(" ")[0].lower():
            found[int(proc.name)] = cmdline
    return found


def is_tab_renderer(cmdline: str) -> bool:
    return " --type=renderer" in cmdline and "--extension-process" not in cmdline and "--top-chrome-webui" not in cmdline


def run_until(tmp_path: Path, url: str, text: str, line_wanted: str) -> tuple[subprocess.Popen, Path, list[str]]:
    """`assistant run` in its own TMPDIR, read up to the first stderr line holding `line_wanted`."""
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))  # short: Chromium's socket path (see test_cleanup)
    path = write_playbook(tmp_path, text)
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "assistant", "run", str(path), "--url", url, "--time-scale", str(TEST_TIME_SCALE),
           "--json", str(tmp_path / "r.json")]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line_wanted in line:
            break
    return proc, tmpdir, seen


@pytest.fixture
def stalled(sim):
    """A reply that streams heartbeats for about 100 s: only a fault ends the step early."""
    return sim.configure(scenario="stream-stall", heartbeats=2000, heartbeat_interval=0.05)


# -- item 9: the browser dies ---------------------------------------------------------------

@pytest.mark.timeout(60)
def test_a_killed_tab_renderer_ends_the_attempt_at_once_as_a_crash(tmp_path, stalled):
    proc, tmpdir, seen = run_until(tmp_path, stalled.url, STALL, "3 expect_reply")
    try:
        renderers = [pid for pid, cmd in chromium_processes(tmpdir).items() if is_tab_renderer(cmd)]
        assert renderers, "".join(seen)
        for pid in renderers:
            os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, "".join(seen) + err
    assert "Traceback" not in err and "the page crashed" in err
    step = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["steps"][2]
    # One attempt, decided by the crash (not a timeout, not a stream error), and not retried
    # although the policy retries errors: a crashed page cannot be asked again.
    assert [a["outcome"] for a in step["attempts"]] == ["error"]
    assert step["attempts"][0]["signal"]["source"] == "page"
    assert step["attempts"][0]["signal"]["summary"].startswith("the page crashed")
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


@pytest.mark.timeout(60)
def test_a_killed_browser_is_exit_3_with_a_sentence(tmp_path, stalled):
    proc, tmpdir, seen = run_until(tmp_path, stalled.url, STALL, "3 expect_reply")
    try:
        browsers = [pid for pid, cmd in chromium_processes(tmpdir).items() if " --type=" not in cmd]
        assert len(browsers) == 1, chromium_processes(tmpdir)
        os.kill(browsers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 3, "".join(seen) + err
    assert "Traceback" not in err and "TargetClosedError" not in err
    assert re.search(r"error \(environment\): \S+:5:5: step expect_reply: the browser closed during the step", err), err
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["outcome"] == "error" and "the browser closed" in data["error"]
    for pid in chromium_processes(tmpdir):  # the killed browser's children may outlive it a moment
        os.kill(pid, signal.SIGKILL)
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


# -- item 1: a regex that backtracks on the remote reply ------------------------------------

@pytest.mark.timeout(60)
def test_a_backtracking_matches_regex_fails_the_step_within_its_time_limit(run_text):
    # The load refuses patterns that explode on a short run of "a", "0", " " or "x"; one that
    # explodes only on another character passes it, and the run's time limit stops it.
    ran = run_text(f"""
        site: simulator
        steps:
          - open: /
          - send: "Echo: {'a' * 44}!"
          - expect_reply: {{matches: "^(a+)+$", timeout: 3s, optional: true}}
          - send: "Echo: {'b' * 44}!"
          - expect_reply: {{matches: "^(b|bb)+$", timeout: 3s}}
    """)
    issue_pattern, backtracking = (s for s in ran.result.steps if s.name == "expect_reply")
    assert issue_pattern.outcome == "tolerated"  # `regex` sees through (a+)+: a plain mismatch
    assert issue_pattern.detail.startswith(f"the reply does not match /^(a+)+$/: '{'a' * 44}!'")
    assert backtracking.outcome == "failed"
    assert backtracking.detail.startswith("the regular expression /^(b|bb)+$/ did not finish matching the reply (45 characters)")
    assert "Use a simpler pattern" in backtracking.detail


# -- traces and labels ------------------------------------------------------------------------

def test_a_trace_that_cannot_be_saved_is_exit_3_and_the_reports_are_written(tmp_path, sim):
    path = write_playbook(tmp_path, "site: simulator\nsteps:\n  - open: /\n")
    art = tmp_path / "art"
    (art / "trace.zip").mkdir(parents=True)  # in the trace's way, as a full disk would be
    result = invoke("run", path, "--url", sim.url, "--trace", "on", "--artifacts", art, "--json", tmp_path / "r.json")
    assert result.exit_code == 3, result.stderr
    assert f"The trace {art / 'trace.zip'} was not written:" in result.stderr and "Traceback" not in result.stderr
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["outcome"] == "error" and [s["outcome"] for s in data["steps"]] == ["passed"]


def test_step_labels_show_an_environment_variable_by_name(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("CANARY_PROMPT", "Reply with the single word: pong (ref hunter22canary)")
    path = write_playbook(tmp_path, """
        site: simulator
        steps:
          - open: /
          - send: "${env:CANARY_PROMPT}"
          - expect_reply: {contains: pong, timeout: 5s}
    """)
    result = invoke("run", path, "--url", sim.url, "--time-scale", TEST_TIME_SCALE, "--json", tmp_path / "r.json")
    report = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "send '${env:CANARY_PROMPT}'" in result.stderr, result.stderr
    assert "hunter22canary" not in result.stderr + result.stdout
    assert result.exit_code == 0 and "send '${env:CANARY_PROMPT}'" in report and "hunter22canary" not in report


# -- item 10: a site profile that cannot drive the page ---------------------------------------

@pytest.mark.parametrize("command", [
    pytest.param(("diagnose", "simulator"), id="diagnose"),
    pytest.param(("guide", "--site", "simulator", "--yes"), id="guide"),
])
def test_a_profile_that_does_not_fit_the_page_is_a_verdict_at_once(tmp_path, sim, command):
    sim.configure(skin="plain")  # other markup: the simulator profile's selectors match nothing
    extra = ("--json", tmp_path / "v.json") if command[0] == "diagnose" else ("--save-to", tmp_path)
    result = invoke(*command, "--url", sim.url, "--time-scale", "0.01", *extra)
    err = result.stdout + result.stderr
    assert result.exit_code == 1, err
    assert "Traceback" not in err and "verdict: profile_mismatch" in err
    assert "waiting" not in err and "back-off" not in err  # no back-off: waiting cannot make a profile fit
    saved = tmp_path / "v.json" if command[0] == "diagnose" else next(tmp_path.glob("assistant-diagnosis-*.json"))
    verdict = json.loads(saved.read_text(encoding="utf-8"))["verdict"]
    assert verdict["category"] == "profile_mismatch"
    assert "its composer selector (textarea#chat-input) matches nothing" in verdict["summary"]
    assert verdict["remedies"][0].startswith(f"Run `assistant probe-site {sim.url} --save site.yaml`")


@pytest.mark.timeout(60)
def test_a_tab_that_crashes_during_a_diagnosis_is_not_blamed_on_the_chat(tmp_path, stalled):
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "assistant", "diagnose", "simulator", "--url", stalled.url, "--time-scale", "0.001",
           "--json", str(tmp_path / "v.json")]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stderr:  # the probes start once the chat has loaded: the reply is being awaited
            if "probe " in line:
                break
        for pid, cmdline in chromium_processes(tmpdir).items():
            if is_tab_renderer(cmdline):
                os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err
    verdict = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))["verdict"]
    assert verdict["category"] == "inconclusive" and verdict["summary"].startswith("the page crashed in your setup")
    assert "back-off" not in json.dumps(verdict["evidence"])  # stopped at once, no experiment on a dead page
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


# -- item 11: two --in-place runs, a browser opening the profile, half-done backups and restores --

IN_PLACE = """
    site: simulator
    browser: {{profile: {{path: "{ud}"}}}}
    steps:
      - open: /
"""


def test_a_second_in_place_run_on_a_held_profile_is_exit_3_before_any_backup(tmp_path, sim):
    ud, backups = user_data(tmp_path / "ud"), tmp_path / "backups"
    first = backup_profile(ud, backups)  # this process is the first run: it holds the profile now
    try:
        path = write_playbook(tmp_path, IN_PLACE.format(ud=ud))
        env = {**os.environ, "ASSISTANT_BACKUPS": str(backups), "NO_COLOR": "1"}
        done = subprocess.run([sys.executable, "-m", "assistant", "run", str(path), "--url", sim.url, "--in-place", "--yes"],
                              env=env, capture_output=True, text=True, timeout=60)
    finally:
        release_profile(ud)
    assert done.returncode == 3, done.stderr
    assert f"error (environment): Another `assistant` run is using {ud.resolve()} in place right now" in done.stderr
    assert "Traceback" not in done.stderr
    assert [p for p in backups.iterdir()] == [first]  # the second run made no backup


@pytest.mark.timeout(60)
def test_a_profile_a_browser_opened_after_the_backup_is_an_environment_error(tmp_path):
    ud = tmp_path / "ud"
    ud.mkdir()
    (ud / "Local State").write_text("{}")
    browser = find_system_browser()
    if browser is None:
        pytest.skip("no system Chromium to hold the profile")
    person = subprocess.Popen([browser.path, "--headless", "--no-sandbox", "--no-first-run", f"--user-data-dir={ud}", "about:blank"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.lexists(ud / "SingletonLock") and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the person's browser to take its lock, not waiting out a delay

        async def launch():
            async with BrowserSession() as session:
                await session.setup_context(profile=ud, in_place=True)

        with pytest.raises(EnvironmentProblem) as caught:
            asyncio.run(launch())
    finally:
        os.killpg(person.pid, signal.SIGKILL)
        person.wait()
    assert f"{ud} was opened by a browser after the backup" in str(caught.value)
    assert "is using it" in str(caught.value)


def test_a_backup_killed_half_way_is_removed_by_the_next(tmp_path):
    ud, backups = user_data(tmp_path / "ud"), tmp_path / "backups"
    killed = backups / f"20260101T000000Z-.partial-{dead_pid()}-ud"  # as SIGKILL mid-copy leaves it
    (killed / TREE / "Default").mkdir(parents=True)
    (killed / TREE / "Default" / "Cookies").write_bytes(b"half")
    (killed / MANIFEST).write_text("{}")
    folder = backup_profile(ud, backups)
    release_profile(ud)
    assert sorted(backups.iterdir()) == [folder]
    assert ".partial-" not in folder.name and (folder / MANIFEST).is_file()


def test_a_restore_killed_half_way_is_finished_by_the_next(tmp_path):
    ud, backups = user_data(tmp_path / "ud"), tmp_path / "backups"
    folder = backup_profile(ud, backups)
    release_profile(ud)
    expected = tree_digest(ud)
    (ud / "Default" / "Cookies").write_text("changed by the run")
    # What SIGKILL half-way through a restore leaves: the profile as it was moved aside,
    # the marker naming it, a partial copy in its place.
    aside = tmp_path / "ud.before-restore-20260101T000000Z"
    os.rename(ud, aside)
    (ud / "Default").mkdir(parents=True)
    (ud / "Default" / "Preferences").write_text("{")
    (folder / RESTORING).write_text(json.dumps({"target": str(ud.resolve()), "aside": str(aside), "pid": dead_pid()}))
    assert restore_profile(folder) == ud.resolve()
    assert tree_digest(ud) == expected and not (folder / RESTORING).exists()
    assert (aside / "Default" / "Cookies").read_text() == "changed by the run"  # the state before is kept
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ud")) == ["ud", aside.name]
