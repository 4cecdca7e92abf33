"""What the tool costs over a bare Playwright script doing the same work.

Both sides run the same smoke run against one in-process simulated chat (healthy):
launch Chromium, open /, send "Reply with the single word: pong", wait for the reply to
contain "pong" and to finish, check the image-upload control is visible, close.

  (a) tool:   bench/smoke.yaml loaded with `load_playbook` and run by `Runner` (Clock at
              time scale 1, an Emitter with no listeners), browser launch included.
  (b) script: hand-written Playwright async code, same browser, same launch flags.

Rounds alternate (a) and (b) after one warm-up of each, so drift in the machine hits
both alike. The result is the ratio median(a) / median(b): absolute times depend on the
machine, its load and the Chromium build, the ratio says what the tool itself adds.
Goal: the tool costs at most 10 % more (ratio <= 1.10). Exit 0 whether or not the goal
is met (this is a measurement, not a test); exit 1 if a run fails.

    .venv/bin/python bench/overhead.py [--rounds N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from playwright.async_api import async_playwright

from assistant import events as ev
from assistant.browser.find import find_system_browser
from assistant.playbook import load_playbook
from assistant.runner import Runner
from assistant.simulator import Simulator
from assistant.timing.clock import Clock

SMOKE = Path(__file__).with_name("smoke.yaml")
GOAL = 1.10
PROMPT = "Reply with the single word: pong"
LAUNCH_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPLY = "div.message--assistant .ds-markdown--block"
DONE = '.chat-messages[data-generating="false"]'
UPLOAD = "label.upload-button"


def browser_path() -> str | None:
    """The browser the tool would use: Playwright's own if installed, else the system's."""
    with_pw = asyncio.run(_playwright_own())
    if with_pw:
        return None
    found = find_system_browser()
    return found.path if found else None


async def _playwright_own() -> bool:
    async with async_playwright() as pw:
        own = pw.chromium.executable_path
        return bool(own) and Path(own).exists()


def run_tool(url: str, path: str | None) -> float:
    """(a) The whole tool run, browser launch to close. Raises when the run does not pass."""
    started = time.perf_counter()
    playbook = load_playbook(SMOKE, url=url)
    runner = Runner(playbook, emit=ev.Emitter(), clock=Clock(1.0), browser_path=path)
    result = asyncio.run(runner.run())
    elapsed = time.perf_counter() - started
    if result.outcome != "passed":
        raise RuntimeError(f"tool run {result.outcome}: {result.summary}")
    return elapsed


async def _script(url: str, path: str | None) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(headless=True, executable_path=path, args=LAUNCH_ARGS)
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(url + "/")
        await page.fill("textarea#chat-input", PROMPT)
        await page.press("textarea#chat-input", "Enter")
        await page.locator(REPLY).filter(has_text="pong").first.wait_for(timeout=30_000)
        await page.locator(DONE).wait_for(state="attached", timeout=30_000)
        if not await page.locator(UPLOAD).first.is_visible():
            raise RuntimeError("script run: the upload button is not visible")
        await context.close()
        await browser.close()


def run_script(url: str, path: str | None) -> float:
    """(b) The bare Playwright script, same launch-to-close scope as (a)."""
    started = time.perf_counter()
    asyncio.run(_script(url, path))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    path = browser_path()
    tool, script = [], []
    try:
        with Simulator(scenario="healthy") as sim:
            print(f"simulator {sim.url}; browser {path or 'Playwright Chromium'}; {args.rounds} rounds + 1 warm-up")
            run_tool(sim.url, path), run_script(sim.url, path)  # warm-up: caches, imports
            for n in range(1, args.rounds + 1):
                tool.append(run_tool(sim.url, path))
                script.append(run_script(sim.url, path))
                print(f"round {n}: tool {tool[-1]:.3f} s   script {script[-1]:.3f} s   ratio {tool[-1] / script[-1]:.2f}")
    except Exception as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1

    med_tool, med_script = statistics.median(tool), statistics.median(script)
    ratio = med_tool / med_script
    met = ratio <= GOAL
    print(f"median: tool {med_tool:.3f} s   script {med_script:.3f} s")
    print(f"ratio median(tool)/median(script) = {ratio:.2f}  goal <= {GOAL:.2f}: {'met' if met else 'NOT met'}")
    if args.json:
        numbers = {
            "rounds": args.rounds, "browser": path, "tool_s": tool, "script_s": script,
            "median_tool_s": med_tool, "median_script_s": med_script,
            "ratio": ratio, "goal": GOAL, "goal_met": met,
        }
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
