"""--junit and --html: written from a real run against the simulator, the HTML looked at in Chromium."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from playwright.async_api import async_playwright

from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.cli import cli
from assistant.records import AttemptRecord, RunResult, StepRecord
from assistant.report.html import render
from assistant.report.junit import junit_tree
from tests.conftest import TEST_TIME_SCALE, write_playbook

BUSY = """
    name: Busy chat
    site: simulator
    steps:
      - open: /
      - screenshot: start
      - send: "Reply with the single word: pong"
      - expect_reply: {contains: pong, retry: {schedule: [5s, 10s, 30s]}}
      - expect_visible: image_upload
"""


@pytest.fixture
def busy_run(tmp_path, sim):
    """The always-busy chat run through the CLI with both reports; returns their paths."""
    sim.configure(scenario="always-busy")
    path = write_playbook(tmp_path, BUSY)
    junit, html = tmp_path / "junit.xml", tmp_path / "html"
    args = ["run", path, "--url", sim.url, "--time-scale", TEST_TIME_SCALE, "--artifacts", tmp_path / "art", "--junit", junit, "--html", html, "-q"]
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return junit, html / "index.html"


@pytest.mark.browser
def test_junit_has_a_testcase_per_step_and_every_attempt_in_the_failure(busy_run):
    junit, _ = busy_run
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("name") == "Busy chat"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("name").split()[0] for c in cases] == ["1", "2", "3", "4", "5"]
    assert {c.get("classname") for c in cases} == {"Busy chat"}
    failure = cases[3].find("failure")
    assert failure is not None and "still busy after 4 attempts" in failure.text
    attempts = [line for line in failure.text.splitlines() if line.startswith("attempt ")]
    assert [line.split(":")[1].split()[0] for line in attempts] == ["busy"] * 4
    assert [line.split("waiting ")[1].split("s")[0] for line in attempts] == ["0", "5", "10", "30"]
    assert cases[3].find("system-out").text.count("attempt ") == 4
    assert cases[4].find("skipped") is not None
    assert all(c.find("failure") is None for c in cases[:3])


@pytest.mark.browser
def test_html_report_draws_the_attempts_and_shows_the_screenshot(busy_run, tmp_path):
    _, index = busy_run
    text = index.read_text(encoding="utf-8")
    assert "http://" not in text.split("<body>")[0] and "<script" not in text  # self-contained
    shot = tmp_path / "report.png"
    facts = asyncio.run(_look_at(index, shot))
    assert facts["attempts"] == [4], facts  # one box per attempt, only on the retried step
    assert facts["waits"] == 3  # 5 s, 10 s, 30 s between them
    assert facts["lefts"] == sorted(facts["lefts"])  # left to right in time
    assert facts["images"] and all(w > 0 for w in facts["images"])
    assert "still busy after 4 attempts" in facts["text"]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 1000


async def _look_at(index, shot) -> dict:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_system_browser().path, args=list(LAUNCH_ARGS))
        try:
            page = await browser.new_page()
            await page.goto(index.as_uri())
            facts = await page.evaluate("""() => ({
                attempts: [...document.querySelectorAll('.timeline')].map(t => t.querySelectorAll('.attempt').length).filter(n => n > 1),
                waits: document.querySelectorAll('.timeline .wait').length,
                lefts: [...document.querySelectorAll('.timeline .attempt')].slice(-4).map(b => b.getBoundingClientRect().left),
                images: [...document.images].map(i => i.complete ? i.naturalWidth : 0),
                text: document.body.innerText,
            })""")
            await page.screenshot(path=str(shot), full_page=True)
            return facts
        finally:
            await browser.close()


def _result(outcome: str, error: str | None = None) -> RunResult:
    attempt = AttemptRecord(1, "busy", {"summary": "Server busy <b>"}, "2024-01-01T00:00:00Z", 0.0, 1.0, False)
    step = StepRecord("1", "expect_reply", "expect_reply <pong>", 3, "failed", "busy & still busy", 1.0, [attempt])
    return RunResult("p & q", None, "simulator", "http://x", outcome=outcome, summary="why", steps=[step] if outcome == "failed" else [], error=error)


def test_an_interrupted_run_without_steps_still_says_why_in_junit():
    suite = junit_tree(_result("interrupted", error="Ctrl-C")).getroot().find("testsuite")
    [case] = suite.findall("testcase")
    assert case.find("error").get("type") == "interrupted" and case.find("error").text == "Ctrl-C"
    assert suite.get("errors") == "1"


def test_html_escapes_what_the_page_and_playbook_said():
    text = render(_result("failed"))
    assert "Server busy &lt;b&gt;" in text and "expect_reply &lt;pong&gt;" in text and "p &amp; q" in text
    assert "<b>\"" not in text


@pytest.mark.browser
def test_ci_conventions_json_on_stdout_only_a_job_summary_and_the_plugin_option_names(tmp_path, sim, monkeypatch):
    """`--json -` is the only thing on stdout; the Markdown summary goes to --summary FILE and
    is appended to $GITHUB_STEP_SUMMARY; --tracing and --output are --trace and --artifacts."""
    import json
    import subprocess
    import sys
    import zipfile

    from tests.conftest import write_playbook

    sim.configure(scenario="always-busy")
    path = write_playbook(tmp_path, BUSY)
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("# earlier step\n", encoding="utf-8")
    env = {**__import__("os").environ, "GITHUB_STEP_SUMMARY": str(step_summary), "NO_COLOR": "1"}
    base = [sys.executable, "-m", "assistant", "run", str(path), "--url", sim.url, "--time-scale", str(TEST_TIME_SCALE)]
    done = subprocess.run([*base, "--json", "-", "--tracing", "retain-on-failure", "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)  # nothing else on stdout
    assert data["schema_version"] == "1.0" and data["outcome"] == "failed"
    assert "expect_reply" in done.stderr and "FAILED" in done.stderr.upper()
    with zipfile.ZipFile(tmp_path / "out" / "trace.zip") as trace:
        assert any(n.endswith(".trace") for n in trace.namelist())
    summary = step_summary.read_text(encoding="utf-8")
    assert summary.startswith("# earlier step\n### ❌ Busy chat: failed")  # appended, not replaced
    row = next(line for line in summary.splitlines() if line.startswith("| 4 expect_reply"))
    assert "1: busy after 0 s<br>2: busy after 5 s<br>3: busy after 10 s<br>4: busy after 30 s" in row
    assert "| 5 expect_visible" in summary and "⏭️ skipped" in summary
    own, broken = tmp_path / "summary.md", tmp_path / "broken.yaml"
    broken.write_text("site: simulator\nsteps:\n  - sned: hi\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    again = CliRunner().invoke(cli, ["run", str(broken), "--summary", str(own)])
    assert again.exit_code == 2 and own.read_text(encoding="utf-8").startswith("### ⚠️ broken: error")
    assert "**Error:** " in own.read_text(encoding="utf-8") and "unknown step 'sned'" in own.read_text(encoding="utf-8")
    assert step_summary.read_text(encoding="utf-8") == summary, "--summary FILE takes the place of $GITHUB_STEP_SUMMARY"


@pytest.mark.browser
def test_run_takes_the_plugin_s_browser_channel_name(sim):
    from assistant.playbook.resources import playbooks_dir

    result = CliRunner().invoke(cli, ["run", str(playbooks_dir() / "demo.yaml"), "--url", sim.url, "--browser-channel", "msedge",
                                      "--video", "retain-on-failure", "--screenshot", "off"])
    assert result.exit_code == 3 and "channel msedge" in result.stderr
