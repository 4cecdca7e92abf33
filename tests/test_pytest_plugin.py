"""The pytest plugin, tested the way a team would use it: a fresh folder holding playbooks,
hand-written `chat` tests and a conftest, a real pytest in a subprocess (pytest-playwright
enabled, as in any project that installs the tool), the simulator running."""

from __future__ import annotations

import re
import shlex
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

SMOKE = """
site: simulator
steps:
  - open: /
  - send: "Reply with the single word: pong"
  - expect_reply: {contains: pong, retry: {schedule: [5s, 10s, 30s]}}
"""

PAGE = """
site: simulator
steps:
  - open: /
  - expect_visible: image_upload
"""

CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 640, "height": 480}, "locale": "zh-CN"}
"""

CHAT_TESTS = """
SEEN = []

def test_the_chat_answers(chat):
    SEEN.append((chat.browser, chat.context))
    chat.send("Reply with the single word: pong")
    assert chat.expect_reply(contains="pong", retry={"schedule": ["5s", "10s"]}) == "pong"

def test_one_browser_per_worker_a_fresh_context_per_test_the_conftest_viewport(chat):
    SEEN.append((chat.browser, chat.context))
    assert chat.page.viewport_size == {"width": 640, "height": 480}
    assert len({id(b) for b, _ in SEEN}) == 1 and len({id(c) for _, c in SEEN}) == len(SEEN) == 3
"""


def workflow_command() -> list[str]:
    """The pytest command of the README's GitHub Actions workflow, as written there."""
    [line] = [ln for ln in README.splitlines() if re.match(r"\s+- run: pytest ", ln)]
    return shlex.split(line.split("- run: ", 1)[1])


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.fixture
def run(pytester, monkeypatch):
    """Run a `pytest ...` command line in the test's folder, in a subprocess (this interpreter's pytest)."""
    monkeypatch.setenv("ASSISTANT_TIME_SCALE", "0.001")

    def run(*args, env=None):
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        assert args[0] == "pytest"
        return pytester.run(sys.executable, "-m", "pytest", *args[1:], timeout=300)

    return run


def test_the_readme_workflow_keeps_trace_screenshot_and_attempts_for_each_failure_only(pytester, run, sim):
    """The README's workflow command, verbatim, on an always-busy chat: `--base-url` comes from
    PYTEST_BASE_URL, reruns (pytest-rerunfailures) and file grouping from PYTEST_ADDOPTS."""
    sim.configure(scenario="always-busy")
    (pytester.path / "smoke").mkdir()
    (pytester.path / "smoke" / "chat.playbook.yaml").write_text(SMOKE, encoding="utf-8")
    (pytester.path / "smoke" / "page.playbook.yaml").write_text(PAGE, encoding="utf-8")
    (pytester.path / "smoke" / "test_chat.py").write_text(CHAT_TESTS, encoding="utf-8")
    (pytester.path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    command = workflow_command()
    assert command == ["pytest", "smoke", "-n", "2", "--tracing", "retain-on-failure", "--output", "test-results", "--junitxml", "junit.xml"]
    summary = pytester.path / "step-summary.md"
    env = {"PYTEST_BASE_URL": sim.url, "PYTEST_ADDOPTS": "--reruns 1 --dist loadfile -p no:cacheprovider",
           "GITHUB_STEP_SUMMARY": str(summary)}
    result = run(*command, env=env)
    out = result.stdout.str()
    assert result.ret == 1, out
    assert re.search(r"2 failed, 2 passed, .*2 rerun", out), out
    result.stdout.fnmatch_lines(["*>    6 |   - expect_reply: {contains: pong*", "*attempt 4: busy (waited 30 s)*"])
    result.stdout.fnmatch_lines(["*AssertionError: the reply was busy after 3 attempts (waited 5 + 10 s)*", "*attempt 3: busy (waited 10 s)*"])
    assert "pytest_plugin.py" not in out, "the failure shows the test's lines, not the plugin's frames"

    folders = sorted(p.name for p in (pytester.path / "test-results").iterdir())
    assert folders == ["smoke-chat-playbook-yaml-chat-playbook", "smoke-chat-playbook-yaml-chat-playbook-retry1",
                       "smoke-test-chat-py-test-the-chat-answers", "smoke-test-chat-py-test-the-chat-answers-retry1"]
    for folder in (pytester.path / "test-results").iterdir():
        with zipfile.ZipFile(folder / "trace.zip") as trace:
            assert any(name.endswith(".trace") for name in trace.namelist()), folder.name
        [shot] = folder.glob("*.png")
        assert png_size(shot) == (640, 480), f"{folder.name}: the conftest's browser_context_args reach it"

    sections = sorted(line for line in summary.read_text(encoding="utf-8").splitlines() if line.startswith("### "))
    assert sections == ["### ✅ page.playbook: passed"] + ["### ❌ chat.playbook: failed"] * 2, "the job summary has every run"
    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    playbook = {p.get("name"): p.get("value") for p in cases["chat.playbook"].iter("property")}
    attempts = next(v for k, v in playbook.items() if "expect_reply" in k)
    assert attempts.count("busy after") == 4 and "busy after 30 s" in attempts
    chat = [p.get("value") for p in cases["test_the_chat_answers"].iter("property") if p.get("name") == "expect_reply"]
    assert chat and all(v.count("busy after") == 3 for v in chat)
    assert any(p.get("name") == "artifact" and p.get("value").endswith("trace.zip") for p in cases["chat.playbook"].iter("property"))


def test_on_a_healthy_chat_base_url_ini_launch_args_screenshot_on_and_the_default_retry(pytester, run, sim):
    sim.configure(scenario="busy-twice")
    pytester.makeini(f"[pytest]\nbase_url = {sim.url}\n")
    pytester.makeconftest("""
import pytest

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "args": ["--user-agent=launched-by-the-conftest"]}
""")
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    pytester.makepyfile(test_chat="""
def test_the_chat_answers_after_the_schedule(chat):
    assert chat.evaluate("navigator.userAgent") == "launched-by-the-conftest"
    chat.send("Reply with the single word: pong")
    assert chat.expect_reply(contains="pong") == "pong"

def test_without_retry_the_first_busy_fails_and_expect_not_busy_says_busy(chat):
    import pytest

    chat.send("Reply with the single word: pong")
    with pytest.raises(AssertionError, match="^the reply was busy: "):
        chat.expect_reply(contains="pong", retry=False)
    chat.send("Reply with the single word: pong")
    with pytest.raises(AssertionError, match="^the chat is busy: "):
        chat.expect_not_busy(timeout=10)
""")
    result = run("pytest", "--screenshot", "on", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*smoke.playbook.yaml::smoke.playbook PASSED*"])
    shots = sorted(p.relative_to(pytester.path / "test-results").as_posix() for p in pytester.path.glob("test-results/*/*.png"))
    assert shots == ["smoke-playbook-yaml-smoke-playbook/final.png", "test-chat-py-test-the-chat-answers-after-the-schedule/final.png",
                     "test-chat-py-test-without-retry-the-first-busy-fails-and-expect-not-busy-says-busy/final.png"]


def test_a_broken_playbook_is_a_collection_error_with_the_position(pytester, run, sim):
    pytester.makefile(".playbook.yaml", broken="site: simulator\nsteps:\n  - sned: hi\n")
    result = run("pytest", "--assistant-url", sim.url, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken.playbook.yaml:3:5: unknown step 'sned'*", "*Did you mean 'send'?*"])


def test_video_on_records_or_says_how_to_get_the_encoder(pytester, run, sim):
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    pytester.makepyfile(test_chat="def test_opens(chat):\n    assert chat.page.url.startswith('http://127.0.0.1')\n")
    result = run("pytest", "--assistant-url", sim.url, "--video", "on", "-p", "no:cacheprovider")
    if len(list(pytester.path.glob("test-results/*/videos/*.webm"))) == 2:
        result.assert_outcomes(passed=2)  # Playwright's ffmpeg is installed: both recordings are kept
    else:  # no ffmpeg (it is a download): one clear paragraph each, no traceback
        result.assert_outcomes(failed=1, errors=1)
        out = result.stdout.str()
        details = out.split("short test summary info")[0]  # the summary lines repeat it (untruncated when CI is set)
        assert details.count("Recording video needs Playwright's ffmpeg") == 2, out
        assert "Traceback" not in out and "During handling" not in out and "Video rendering requires" not in out, out


def test_an_unavailable_browser_channel_fails_with_a_clear_message(pytester, run, sim):
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    result = run("pytest", "--assistant-url", sim.url, "--browser-channel", "msedge", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*browser could not be started (*channel msedge*"])
