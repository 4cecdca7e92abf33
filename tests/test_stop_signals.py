"""Issue 10 with real processes and a real Chromium: SIGTERM and SIGHUP end a run like
Ctrl-C, a long TMPDIR still starts the browser, a report that cannot be written is exit 3,
and a URL's password, traces and screenshots stay private.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from tests.conftest import SMOKE, TEST_TIME_SCALE, write_playbook
from tests.test_cleanup import leftovers, processes_mentioning

pytestmark = pytest.mark.browser


def demo(tmpdir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "assistant", "demo", *args]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.parametrize(
    ("sig", "code"),
    [pytest.param(signal.SIGTERM, 143, id="sigterm"), pytest.param(signal.SIGHUP, 129, id="sighup")],
)
def test_a_stop_signal_mid_backoff_writes_every_report_and_leaves_nothing(tmp_path, sig, code):
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))  # short: see tests/test_cleanup.py
    reports = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "html"
    proc = demo(tmpdir, "--json", str(reports[0]), "--junit", str(reports[1]), "--html", str(reports[2]))
    seen = []
    for line in proc.stderr:  # the real 5 s wait has begun once this line shows
        seen.append(line)
        if "waiting 5 s" in line:
            break
    assert processes_mentioning(str(tmpdir)), "the browser should be running mid-backoff"
    proc.send_signal(sig)  # only the process, as `timeout`, `kill` and `docker stop` do
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, "".join(seen) + err
    assert f"interrupted by the {sig.name} signal" in err and "Traceback" not in err
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
    data = json.loads(reports[0].read_text(encoding="utf-8"))
    assert data["outcome"] == "interrupted" and data["summary"] == f"interrupted by the {sig.name} signal"
    ET.parse(reports[1])
    assert "interrupted" in (reports[2] / "index.html").read_text(encoding="utf-8")


def test_a_60_character_tmpdir_still_starts_the_browser(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="asst-"))
    tmpdir = base / ("t" * (60 - len(str(base)) - 1))
    tmpdir.mkdir()
    assert len(str(tmpdir)) == 60
    proc = demo(tmpdir, "--scenario", "healthy", "--time-scale", str(TEST_TIME_SCALE), "-q")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
    base.rmdir()


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_reports_that_cannot_be_written_exit_3_and_say_which(tmp_path, sim):
    path = write_playbook(tmp_path, SMOKE)
    (tmp_path / "a-file").write_text("")
    result = invoke("run", path, "--url", sim.url, "--time-scale", TEST_TIME_SCALE,
                    "--json", "/proc/nope/r.json", "--junit", "/dev/full", "--html", tmp_path / "a-file" / "html")
    assert result.exit_code == 3, result.stderr
    err = result.stderr
    assert "PASSED" in err and "Traceback" not in err
    assert "The --json report /proc/nope/r.json was not written: No such file or directory" in err
    assert "The --junit report /dev/full was not written: No space left on device" in err
    assert f"The --html report {tmp_path / 'a-file' / 'html' / 'index.html'} was not written: Not a directory" in err


@pytest.mark.parametrize("flags", [("--artifacts", "{file}/art"), ("--trace", "on", "--artifacts", "{file}/art")], ids=["artifacts", "trace"])
def test_an_artifacts_folder_that_cannot_be_made_exits_3_before_the_browser(tmp_path, sim, flags):
    path = write_playbook(tmp_path, SMOKE)
    (tmp_path / "a-file").write_text("")
    result = invoke("run", path, "--url", sim.url, *(f.format(file=tmp_path / "a-file") for f in flags))
    assert result.exit_code == 3
    assert "the --artifacts folder" in result.stderr and "nothing was run" in result.stderr
    assert "chromium" not in result.stderr


def test_a_url_password_is_in_no_output_and_traces_and_screenshots_are_private(tmp_path, sim):
    sim.configure(scenario="always-busy")
    path = write_playbook(tmp_path, SMOKE)
    url = sim.url.replace("http://", "http://someone:hunter22canary@")
    art = tmp_path / "art"
    result = invoke("run", path, "--url", url, "--time-scale", TEST_TIME_SCALE, "--trace", "on", "--artifacts", art,
                    "--json", tmp_path / "r.json", "--junit", tmp_path / "r.xml", "--html", tmp_path / "html")
    assert result.exit_code == 1, result.stderr
    outputs = [result.stdout, result.stderr] + [p.read_text(encoding="utf-8") for p in
                                                (tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "html" / "index.html")]
    assert all("hunter22canary" not in text for text in outputs)
    assert "someone:***@" in result.stderr and "someone:***@" in outputs[2]
    kept = sorted(p for p in art.iterdir() if p.suffix in (".zip", ".png"))
    assert {p.suffix for p in kept} == {".zip", ".png"}, kept
    for artifact in kept:
        assert stat.S_IMODE(artifact.stat().st_mode) == 0o600, artifact
    zipfile.ZipFile(kept[-1] if kept[-1].suffix == ".zip" else kept[0]).testzip()


def test_the_pytest_plugin_cleans_up_on_sigterm(tmp_path, sim):
    sim.configure(scenario="always-busy")
    (tmp_path / "smoke.playbook.yaml").write_text(SMOKE, encoding="utf-8")
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--assistant-url", sim.url,
           "--assistant-time-scale", "1", str(tmp_path / "smoke.playbook.yaml")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not processes_mentioning(str(tmpdir)) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for the browser to start, not waiting out a backoff
        assert processes_mentioning(str(tmpdir)), "the browser should be running"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in out or "Interrupted" in out or "interrupted" in out, out
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


def test_ctrl_c_mid_wait_is_quiet_and_reports_the_time_really_waited(tmp_path):
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    proc = demo(tmpdir, "--json", str(tmp_path / "r.json"))
    for line in proc.stderr:  # the real 5 s wait has begun once this line shows
        if "waiting 5 s" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: Playwright's driver gets it too
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Future exception was never retrieved" not in err and "Connection closed" not in err, err
    assert "Traceback" not in err
    [note] = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["notes"]
    assert note.startswith("Interrupted in step 4 while waiting 5 s (schedule) before attempt 2 of 4: ")
    assert float(note.rsplit(": ", 1)[1].split(" s ")[0]) < 5  # what passed, not the whole wait
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


# -- a stop in the first moments: while Python imports click and the CLI ---------------------

SCRIPT = Path(sys.executable).with_name("assistant")  # the console script: the pyproject entry point


def handles(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has its own handler for `sig` (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught, 16) >> (sig - 1) & 1)


def stop_early(tmp_path: Path, cmd: list[str], sig: signal.Signals, after_s: float) -> tuple[int, str, bool, Path]:
    """Start `cmd`, send `sig` `after_s` after its first handler is in place; (code, stderr,
    whether the run's first line had shown before the stop, the private TMPDIR)."""
    import threading

    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        while not handles(proc.pid, signal.SIGTERM) and proc.poll() is None:
            pass  # the interpreter is starting: until its first line runs, the kernel's default applies
        time.sleep(after_s)  # the moment of the stop, not a wait for something
        began = any(line.startswith("assistant  ") for line in list(lines))
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    return proc.returncode, "".join(lines) + proc.stdout.read(), began, tmpdir


@pytest.mark.parametrize("after_ms", [0, 50, 100, 200, 400])
def test_sigterm_in_the_first_moments_ends_with_143_one_line_and_the_report_once_known(tmp_path, after_ms):
    report = tmp_path / "r.json"
    code, out, began, tmpdir = stop_early(tmp_path, [str(SCRIPT), "demo", "--time-scale", "0.01", "--json", str(report)],
                                          signal.SIGTERM, after_ms / 1000)
    assert code == 143, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out and "Aborted" not in out, out
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
    stops = [line for line in out.splitlines() if line.startswith("interrupted by the SIGTERM signal")]
    assert len(stops) == 1, out
    if "before the command began: nothing was run" in stops[0]:  # the CLI was still loading or parsing
        assert not report.exists() and out.strip() == stops[0], out
        return
    if began or report.exists():  # once the run has begun its report is certain; before, it may be written
        data = json.loads(report.read_text(encoding="utf-8"))
        assert data["outcome"] == "interrupted" and data["summary"] == "interrupted by the SIGTERM signal"


@pytest.mark.parametrize(
    ("cmd", "sig", "code", "who"),
    [pytest.param(["-m", "assistant"], signal.SIGHUP, 129, "the SIGHUP signal", id="sighup-python-m"),
     pytest.param([], signal.SIGINT, 130, "the person (Ctrl-C)", id="sigint-script")],
)
def test_sighup_and_ctrl_c_while_loading_say_one_line(tmp_path, cmd, sig, code, who):
    argv = [sys.executable, *cmd] if cmd else [str(SCRIPT)]
    code_got, out, _, tmpdir = stop_early(tmp_path, [*argv, "demo", "--time-scale", "0.01"], sig, 0)
    assert code_got == code, out
    early = f"interrupted by {who} before the command began: nothing was run."
    late = f"interrupted by {who}: the browser was closed and temporary profiles removed."  # a slow test machine
    assert out.strip() in (early, late), out
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


def test_a_stop_mid_diagnosis_still_writes_its_report(tmp_path, sim):
    sim.configure(scenario="always-busy")
    report = tmp_path / "verdict.json"
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    cmd = [str(SCRIPT), "diagnose", "simulator", "--url", sim.url, "--timeout", "5", "--json", str(report)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in proc.stderr:  # the back-off's real 5 s wait has begun once this line shows
        if "waiting 5 s" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["outcome"], data["summary"], data["verdict"]) == ("interrupted", "interrupted by the SIGTERM signal", None)
    assert any(e["source"] == "reproduce" and e["outcome"] == "busy" for e in data["evidence"]), data["evidence"]
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
