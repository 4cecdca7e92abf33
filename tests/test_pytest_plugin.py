"""The pytest plugin, tested the way a team would use it: a fresh folder holding only
playbook files, a real pytest in a subprocess, the simulator running."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.browser

SMOKE = """
site: simulator
steps:
  - open: /
  - send: "Reply with the single word: pong"
  - expect_reply: {contains: pong, retry: {schedule: [5s, 10s, 30s]}}
"""


def run(pytester, sim, *args):
    return pytester.runpytest_subprocess("--assistant-url", sim.url, "--assistant-time-scale", "0.001", "-p", "no:cacheprovider", *args)


def test_a_folder_with_only_a_playbook_collects_and_passes_it_on_healthy(pytester, sim):
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    result = run(pytester, sim, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*smoke.playbook.yaml::smoke.playbook PASSED*"])


def test_always_busy_fails_with_the_playbook_lines_and_every_attempt(pytester, sim):
    sim.configure(scenario="always-busy")
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    result = run(pytester, sim, "--junitxml=junit.xml", "--tracing", "retain-on-failure")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*>    5 |   - expect_reply: {contains: pong*",
        "*attempt 1: busy (waited 0 s)*",
        "*attempt 4: busy (waited 30 s)*",
    ])
    props = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    attempts = next(v for k, v in props.items() if "expect_reply" in k)
    assert attempts.count("busy after") == 4 and "busy after 30 s" in attempts
    assert list(pytester.path.glob("test-results/*/trace.zip")), "retain-on-failure keeps a trace of the failure"


def test_a_broken_playbook_is_a_collection_error_with_the_position(pytester, sim):
    pytester.makefile(".playbook.yaml", broken="site: simulator\nsteps:\n  - sned: hi\n")
    result = run(pytester, sim)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken.playbook.yaml:3:5: unknown step 'sned'*", "*Did you mean 'send'?*"])


def test_the_plugin_works_under_xdist(pytester, sim):
    pytester.makefile(".playbook.yaml", first=SMOKE, second=SMOKE)
    result = run(pytester, sim, "-n", "2")
    result.assert_outcomes(passed=2)


HAND_WRITTEN = """
def test_the_chat_answers(chat):
    chat.send("Reply with the single word: pong")
    assert chat.expect_reply(contains="pong") == "pong"


def test_the_chat_is_not_busy(chat):
    chat.send("Reply with the single word: pong")
    chat.expect_not_busy(timeout=10)
"""


@pytest.mark.parametrize(("scenario", "outcomes"), [
    pytest.param("healthy", {"passed": 2}, id="healthy"),
    pytest.param("always-busy", {"failed": 2}, id="always-busy"),
])
def test_the_chat_fixture_drives_the_site_from_hand_written_tests(pytester, sim, scenario, outcomes):
    sim.configure(scenario=scenario)
    pytester.makepyfile(test_chat=HAND_WRITTEN)
    result = run(pytester, sim, "--assistant-site", "simulator")
    result.assert_outcomes(**outcomes)
    if scenario == "always-busy":
        result.stdout.fnmatch_lines(["*AssertionError: the reply was busy*", "*AssertionError: the chat is busy*"])


def test_screenshot_on_takes_one_at_the_end(pytester, sim):
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    run(pytester, sim, "--screenshot", "on").assert_outcomes(passed=1)
    assert list(pytester.path.glob("test-results/*/final.png"))


def test_video_on_records_or_says_how_to_get_the_encoder(pytester, sim):
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    result = run(pytester, sim, "--video", "on")
    if list(pytester.path.glob("test-results/*/videos/*.webm")):
        result.assert_outcomes(passed=1)  # Playwright's ffmpeg is installed: the recording is kept
    else:  # no ffmpeg (it is a download): one clear paragraph, no traceback
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*Recording video needs Playwright's ffmpeg*playwright install ffmpeg*"])
        assert "Traceback" not in result.stdout.str()


def test_an_unavailable_browser_channel_fails_with_a_clear_message(pytester, sim):
    pytester.makefile(".playbook.yaml", smoke=SMOKE)
    result = run(pytester, sim, "--browser-channel", "msedge")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*browser could not be started (*channel msedge*"])
