"""Browser state as an experiment, in real Chromium against the simulator: extensions
(compare, bisection), profile copies, a saved sign-in, and --in-place with backup and restore."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.browser import backup as backups
from assistant.browser import profiles
from assistant.browser.extensions import fixture_extensions
from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.cli import cli
from tests.conftest import write_playbook
from tests.test_cleanup import leftovers

pytestmark = pytest.mark.browser

HARMLESS = ["dark-style", "word-counter", "broad-permissions", "tab-logger", "localized-name"]
BREAKING = ["block-stream", "disable-send", "strip-cookie"]


def eight(tmp_path: Path, culprits: list[str]) -> list[Path]:
    """Eight distinct extension folders: the culprits plus harmless ones copied under new paths
    (an unpacked extension's id comes from its path, so each copy is a different extension)."""
    fixtures = fixture_extensions()
    folders = [fixtures[c] for c in culprits]
    n = 0
    while len(folders) < 8:
        name = HARMLESS[n % len(HARMLESS)]
        copy = tmp_path / "ext" / f"{name}-{n}"
        shutil.copytree(fixtures[name], copy)
        folders.append(copy)
        n += 1
    return sorted(folders, key=lambda p: p.name)


def bisect_playbook(tmp_path: Path, folders: list[Path]) -> Path:
    listed = ", ".join(f'"{f}"' for f in folders)
    return write_playbook(tmp_path, f"""
        site: simulator
        steps:
          - bisect_extensions: {{extensions: [{listed}], timeout: 4s}}
        """)


@pytest.mark.parametrize(
    ("culprits", "expected"),
    [
        pytest.param(["block-stream"], ["Block Stream (fixture)"], id="one-culprit"),
        pytest.param(["strip-cookie"], ["Strip Cookie (fixture)"], id="one-culprit-stripping-credentials"),
        pytest.param(["disable-send", "block-stream"], ["Block Stream (fixture)", "Disable Send (fixture)"], id="two-culprits"),
        pytest.param([], [], id="none"),
    ],
)
def test_bisection_among_eight_names_the_culprits(tmp_path, sim, run_text, culprits, expected):
    folders = eight(tmp_path, culprits)
    ran = run_text(bisect_playbook(tmp_path, folders).read_text())
    [attempt] = ran.step("bisect_extensions").attempts
    named = sorted(c["name"] for c in attempt.signal["extra"]["culprits"])
    assert named == expected
    launches = attempt.signal["extra"]["launches"]
    if len(culprits) == 1:
        assert launches <= 5
    if not culprits:
        assert launches == 1 and ran.result.outcome == "passed"
    else:
        assert ran.result.outcome == "failed" and all(n in attempt.detail for n in expected)


def test_compare_tells_clean_from_extensions(tmp_path, run_text):
    fixtures = fixture_extensions()
    ran = run_text(f"""
        site: simulator
        steps:
          - compare: {{extensions: ["{fixtures['dark-style']}", "{fixtures['word-counter']}"], timeout: 5s}}
          - compare: {{extensions: ["{fixtures['dark-style']}", "{fixtures['block-stream']}"], timeout: 5s}}
        """)
    first, second = ran.result.steps
    assert first.outcome == "passed" and "make no difference" in first.detail
    assert second.outcome == "failed" and "the extensions break the chat" in second.detail
    assert second.attempts[0].outcome == "extension"


def test_extensions_from_the_browser_spec_are_loaded(tmp_path, run_text):
    fixtures = fixture_extensions()
    ran = run_text(f"""
        site: simulator
        browser: {{extensions: ["{fixtures['block-stream']}"]}}
        steps:
          - open: /
          - send: "Reply with the single word: pong"
          - expect_reply: {{contains: pong, timeout: 5s}}
        """)
    assert ran.step("expect_reply").attempts[0].outcome == "error"


async def _profile_with_cookie(folder: Path, url: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(str(folder), executable_path=find_system_browser().path, args=list(LAUNCH_ARGS))
        # A cookie with an expiry: session cookies are never written to the profile on disk.
        await context.add_cookies([{"name": "mine", "value": "kept", "url": url, "expires": time.time() + 3600}])
        page = await context.new_page()
        await page.goto(url)
        await context.close()


@pytest.fixture
def own_profile(tmp_path, sim):
    """A real Chromium profile folder of 'the person', with a cookie for the chat."""
    folder = Path(tempfile.mkdtemp(prefix="own-"))
    asyncio.run(_profile_with_cookie(folder, sim.url))
    yield folder
    for left in (folder, *folder.parent.glob(f"{folder.name}.before-restore-*")):  # restore keeps the replaced state aside
        shutil.rmtree(left, ignore_errors=True)


CLEAR_COOKIES = """
    site: simulator
    browser: {{profile: {{path: "{folder}"}}}}
    steps:
      - open: /
      - clear: [cookies]
      - send: "Reply with the single word: pong"
      - expect_reply: {{contains: pong}}
"""


def test_a_profile_copy_is_used_and_the_original_left_alone(tmp_path, own_profile, run_text):
    before = backups.tree_digest(own_profile)
    ran = run_text(CLEAR_COOKIES.format(folder=own_profile))
    assert ran.result.outcome == "passed"
    assert "mine" in ran.step("clear").detail  # the copy had the person's cookie
    assert backups.tree_digest(own_profile) == before


def test_in_place_backs_up_first_and_restore_is_byte_identical(tmp_path, own_profile, sim, monkeypatch):
    monkeypatch.setenv("ASSISTANT_BACKUPS", str(tmp_path / "backups"))
    before = backups.tree_digest(own_profile)
    path = write_playbook(tmp_path, CLEAR_COOKIES.format(folder=own_profile))
    runner = CliRunner()
    refused = runner.invoke(cli, ["run", str(path), "--url", sim.url, "--in-place"], input="n\n")
    assert refused.exit_code == 2 and backups.tree_digest(own_profile) == before
    ran = runner.invoke(cli, ["run", str(path), "--url", sim.url, "--in-place", "--yes"])
    assert ran.exit_code == 0, ran.stderr
    assert backups.tree_digest(own_profile) != before  # the real profile was used
    [backup] = [b["path"] for b in backups.list_backups()]
    assert f"assistant restore {backup}" in ran.stderr
    restored = runner.invoke(cli, ["restore", backup, "--yes"])
    assert restored.exit_code == 0, restored.stderr
    assert backups.tree_digest(own_profile) == before


def test_in_place_refuses_while_a_browser_holds_the_profile(tmp_path, own_profile, sim, monkeypatch):
    monkeypatch.setenv("ASSISTANT_BACKUPS", str(tmp_path / "backups"))
    path = write_playbook(tmp_path, CLEAR_COOKIES.format(folder=own_profile))
    holder = subprocess.Popen([find_system_browser().path, "--headless", "--no-sandbox", *LAUNCH_ARGS,
                               f"--user-data-dir={own_profile}", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "TMPDIR": str(tmp_path)})  # its scratch files go with the test
    try:
        for _ in range(100):  # until Chromium has taken its lock
            if profiles.lock_holder(own_profile):
                break
            asyncio.run(asyncio.sleep(0.05))
        result = CliRunner().invoke(cli, ["run", str(path), "--url", sim.url, "--in-place", "--yes"])
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    assert result.exit_code == 3
    assert "using it" in result.stderr and backups.list_backups() == []


def test_a_saved_sign_in_is_reused(tmp_path, sim):
    state = tmp_path / "state.json"
    saved = CliRunner().invoke(cli, ["login", "simulator", "--url", sim.url, "--headless", "--save", str(state)], input="\n")
    assert saved.exit_code == 0, saved.stderr
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert "sim-token" not in saved.stdout + saved.stderr
    origins = json.loads(state.read_text())["origins"]
    assert any(item["name"] == "userToken" for o in origins for item in o["localStorage"])


def test_ctrl_c_in_the_middle_of_a_bisection_leaves_nothing(tmp_path, sim):
    folders = eight(tmp_path, ["block-stream"])
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    args = [a for f in folders for a in ("--extension", str(f))]
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "bisect", "simulator", "--url", sim.url, "--timeout", "4", *args],
                            env={**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in proc.stderr:
        if "launch 2" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


REMEDY_CHECK = """
    site: simulator
    steps:
      - open: /
      - send: "Reply with the single word: pong"
      - expect_reply: {{contains: pong, timeout: 5s, retry: {{max_attempts: 1}}, optional: true}}
{remedy}
      - send: "Reply with the single word: pong"
      - expect_reply: {{contains: pong, timeout: 5s, retry: {{max_attempts: 1}}}}
"""

REMEDIES = {
    "hard-reload": "      - reload: {hard: true}",
    "soft-reload": "      - reload",
    "clear-cache": "      - clear: [cache]\n      - reload",
    "clear-cookies": "      - clear: [cookies]\n      - reload",
    "new-chat": "      - new_chat",
}


@pytest.mark.parametrize(
    ("scenario", "remedy", "fixed"),
    [
        pytest.param("stale-cache", "hard-reload", True, id="stale-cache-hard-reload-fixes"),
        pytest.param("stale-cache", "clear-cache", True, id="stale-cache-cache-clear-fixes"),
        pytest.param("stale-cache", "soft-reload", False, id="stale-cache-soft-reload-does-not"),
        pytest.param("stale-cache", "clear-cookies", False, id="stale-cache-cookie-clear-does-not"),
        pytest.param("bad-cookie", "clear-cookies", True, id="bad-cookie-cookie-clear-fixes"),
        pytest.param("bad-cookie", "hard-reload", False, id="bad-cookie-hard-reload-does-not"),
        pytest.param("bad-cookie", "clear-cache", False, id="bad-cookie-cache-clear-does-not"),
        pytest.param("long-conversation", "new-chat", True, id="long-conversation-new-chat-fixes"),
        pytest.param("long-conversation", "soft-reload", False, id="long-conversation-reload-does-not"),
    ],
)
def test_each_fault_fails_before_and_only_its_own_remedy_fixes_it(sim, run_text, scenario, remedy, fixed):
    sim.configure(scenario=scenario, long_after=1)  # long-conversation: busy after one answer
    if scenario == "long-conversation":  # one answered turn first, so the conversation is "long"
        text = REMEDY_CHECK.replace("      - open: /\n", "      - open: /\n      - new_chat\n      - send: hi\n      - expect_reply\n", 1)
    else:
        text = REMEDY_CHECK
    ran = run_text(text.format(remedy=REMEDIES[remedy]))
    before, after = [s for s in ran.result.steps if s.name == "expect_reply"][-2:]
    assert before.outcome == "tolerated"  # the fault shows before any remedy
    assert before.attempts[0].outcome in ("busy", "error")
    assert (after.outcome == "passed") is fixed, after.detail
    assert ran.result.outcome == ("passed" if fixed else "failed")


def test_a_cookie_clear_says_the_sign_in_in_local_storage_was_kept(run_text):
    ran = run_text("""
        site: simulator
        steps:
          - open: /
          - clear: [cookies]
          - clear: [local_storage]
        """)
    cookies, local = [s.detail for s in ran.result.steps if s.name == "clear"]
    assert "2 cookies (ds_session, sim_visitor)" in cookies  # the session and the browser-session id
    assert "Kept: localStorage (1 key, including userToken: the sign-in" in cookies
    assert "1 localStorage key (userToken)" in local and "Kept" not in local


def test_the_extensions_command_lists_a_profiles_extensions(tmp_path):
    profile = tmp_path / "Default"
    ids = {"localized-name": "a" * 32, "dark-style": "b" * 32}  # Chromium ids: 32 letters a-p
    for name, ext_id in ids.items():
        shutil.copytree(fixture_extensions()[name], profile / "Extensions" / ext_id / "1.0.0_0")
    settings = {ids["localized-name"]: {"state": 1, "location": 1}, ids["dark-style"]: {"state": 0, "disable_reasons": [1], "location": 1}}
    (profile / "Preferences").write_text(json.dumps({"extensions": {"settings": settings}}))
    result = CliRunner().invoke(cli, ["extensions", str(profile)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 extension(s)")
    assert any("Localized Name (fixture)" in line and "enabled" in line for line in lines)
    assert any("Dark Style (fixture)" in line and "disabled" in line for line in lines)
