"""The --html report as a person sees it, in Chromium (issue 12, item 1): a recovery, a
diagnosis and a failure, each screenshot, and in each page every attempt's mark is there
(a box with a size and a colour of its own), every badge readable, nothing overflows."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.cli import cli
from assistant.report.html import STYLES
from tests.conftest import SMOKE, TEST_TIME_SCALE, write_playbook

pytestmark = pytest.mark.browser

DIAGNOSE = """
    site: simulator
    steps:
      - diagnose: {timeout: 5s}
"""
SKIPPED = """
    site: simulator
    vars: {prompt: "Reply with the single word: pong"}
    steps:
      - open: /
      - send: "${prompt}"
      - expect_reply: {contains: pong, retry: {schedule: [5s, 10s, 30s]}}
      - expect_visible: image_upload
"""

# In the page: every attempt box, every badge, and the widths that matter.
LOOK = """() => {
  const colour = (el) => getComputedStyle(el).backgroundColor;
  const box = (el) => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height}; };
  const track = document.querySelector('.timeline');
  return {
    marks: [...document.querySelectorAll('.timeline .attempt')].map(el => ({
      cls: el.className, bg: colour(el), ...box(el), track: colour(el.parentElement)})),
    badges: [...document.querySelectorAll('.badge')].map(el => ({
      text: el.textContent, bg: colour(el), fg: getComputedStyle(el).color, ...box(el)})),
    axes: [...document.querySelectorAll('.axis span:last-child')].map(el => el.textContent),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    pre: document.querySelectorAll('pre').length,
    skip: [...document.querySelectorAll('.skip-reason')].map(el => el.textContent),
    probes: [...document.querySelectorAll('h2')].some(h => h.textContent === 'Probes'),
  };
}"""


def report(tmp_path, sim, name: str, playbook: str, scenario: str) -> tuple[dict, dict]:
    sim.configure(scenario=scenario)
    folder = tmp_path / name
    path = write_playbook(tmp_path, playbook, f"{name}.yaml")
    CliRunner().invoke(cli, ["run", str(path), "--url", sim.url, "--time-scale", str(TEST_TIME_SCALE),
                             "--html", str(folder), "--json", str(tmp_path / f"{name}.json")], catch_exceptions=False)
    return json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8")), folder


async def look(pages: dict, shots) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=find_system_browser().path, args=list(LAUNCH_ARGS))
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        seen = {}
        for name, folder in pages.items():
            await page.goto((folder / "index.html").as_uri())
            await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            seen[name] = await page.evaluate(LOOK)
        await browser.close()
    return seen


def visible(mark: dict) -> bool:
    return mark["w"] >= 4 and mark["h"] >= 4 and mark["bg"] not in (mark["track"], "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")


def test_recovery_diagnosis_and_failure_show_every_attempt(tmp_path, sim):
    recovery, recovery_dir = report(tmp_path, sim, "recovery", SMOKE, "busy-twice")
    diagnosis, diagnosis_dir = report(tmp_path, sim, "diagnosis", DIAGNOSE, "busy-twice")
    failure, failure_dir = report(tmp_path, sim, "failure", SKIPPED, "always-busy")
    assert (recovery["outcome"], failure["outcome"]) == ("passed", "failed")
    assert diagnosis["verdict"]["category"] == "transient_overload"
    assert diagnosis["probes"], "the diagnosis's probes are the run's probes"

    seen = asyncio.run(look({"recovery": recovery_dir, "diagnosis": diagnosis_dir, "failure": failure_dir}, tmp_path))
    for name, data in (("recovery", recovery), ("diagnosis", diagnosis), ("failure", failure)):
        page = seen[name]
        attempts = [a for s in data["steps"] if len(s["attempts"]) > 1 or s["name"] == "diagnose" for a in s["attempts"]]
        marks = [m for m in page["marks"]]
        assert len(marks) >= len(attempts) > 0, name
        assert all(visible(m) for m in marks), (name, [m for m in marks if not visible(m)])
        assert all(b["bg"] != b["fg"] and b["w"] > 0 for b in page["badges"]), name  # no white on white
        assert page["overflow"] <= 0 and page["pre"] == 0, name  # notes are text, not raw JSON
    # The recovery's last mark is the answered attempt, coloured apart from the busy ones.
    recovered = [m for m in seen["recovery"]["marks"] if "answered" in m["cls"]]
    busy = [m for m in seen["recovery"]["marks"] if "busy" in m["cls"]]
    assert len(recovered) == 1 and len(busy) == 2 and recovered[0]["bg"] != busy[0]["bg"]
    assert seen["diagnosis"]["probes"]
    assert any("transient_overload" in m["cls"] for m in seen["diagnosis"]["marks"])
    # No bar for an instant step (no "0s ... 0.0s"); the skipped step says why.
    assert all(axis != "0.0s" for page in seen.values() for axis in page["axes"])
    assert seen["failure"]["skip"] == ["not run: step 3 failed"]


def test_every_outcome_and_category_has_a_colour():
    from assistant.chat.detect import OUTCOMES
    from assistant.diagnosis.model import CATEGORIES

    styled = {name for names in STYLES.values() for name in names}
    steps_and_probes = {"passed", "failed", "skipped", "tolerated", "interrupted", "ok", "degraded", "down", "unknown", "queued"}
    assert set(OUTCOMES) | set(CATEGORIES) | steps_and_probes <= styled


def test_an_instant_step_gets_no_bar():
    from assistant.records import AttemptRecord, RunResult, StepRecord
    from assistant.report.html import render

    quick = AttemptRecord(1, "answered", {"summary": "image_upload is visible"}, "2026-01-01T00:00:00", 0.0, 0.004, True)
    slow = AttemptRecord(1, "answered", {"summary": "the reply finished"}, "2026-01-01T00:00:00", 0.0, 1.5, True)
    result = RunResult("p", None, "simulator", "http://127.0.0.1:1", outcome="passed", summary="all 2 steps passed",
                       steps=[StepRecord("1", "expect_visible", "expect_visible 'image_upload'", 3, "passed", attempts=[quick]),
                              StepRecord("2", "expect_reply", "expect_reply", 4, "passed", attempts=[slow])])
    page = render(result)
    assert page.count('<div class="timeline">') == 1 and "<span>1.5s</span>" in page
