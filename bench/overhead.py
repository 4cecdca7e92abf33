"""What the tool costs over a bare Playwright script doing the same work.

Both sides run the same smoke run against one in-process simulated chat (healthy):
launch Chromium, open /, send "Reply with the single word: pong", wait for the reply to
contain "pong" and to finish, check the image-upload control is visible, close.

  (a) tool:   bench/smoke.yaml loaded with `load_playbook` and run by `Runner` (Clock at
              time scale 1, an Emitter with no listeners), browser launch included.
  (b) script: hand-written Playwright async code, same browser, same launch flags. It
              sends as the tool's send step does for a profile that names a send control
              (the simulator's does): it clicks that control. Until 2026-12-02 it pressed
              Enter instead, a cheaper action than the tool's (about 6 % of a whole process).

Rounds alternate (a) and (b) after one warm-up of each, so drift in the machine hits
both alike. The result is the ratio median(a) / median(b): absolute times depend on the
machine, its load and the Chromium build, the ratio says what the tool itself adds.
Goal: the tool costs at most 10 % more (ratio <= 1.10).

Then the whole-process comparison, what a person waits for: (c) `assistant run
bench/smoke.yaml --url URL` as a subprocess against (d) this file run as
`overhead.py --bare URL`, a subprocess that imports only Playwright and does (b).
Both include interpreter start, imports and set-up; pairs alternate after one warm-up
pair, the ratio is median(c) / median(d) over --pairs pairs (default 8). Both run with
Python's bytecode cache on, as an installed package has it (the cache goes to a temporary
PYTHONPYCACHEPREFIX folder, so PYTHONDONTWRITEBYTECODE in a shell does not count).
Goal: at most 5 % more (ratio <= 1.05).

Exit 0 whether or not the goals are met (this is a measurement, not a test); exit 1 if a
run fails.

    .venv/bin/python bench/overhead.py [--rounds N] [--pairs N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

SMOKE = Path(__file__).with_name("smoke.yaml")
GOAL = 1.10
GOAL_PROCESS = 1.05
PROMPT = "Reply with the single word: pong"
LAUNCH_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPLY = "div.message--assistant .ds-markdown--block"
DONE = '.chat-messages[data-generating="false"]'
UPLOAD = "label.upload-button"
SEND = 'div[role=button][aria-label="Send"]'


def browser_path() -> str | None:
    """The browser the tool would use: Playwright's own if installed, else the system's."""
    from assistant.browser.find import find_system_browser

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
    from assistant import events as ev
    from assistant.playbook import load_playbook
    from assistant.runner import Runner
    from assistant.timing.clock import Clock

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
        await page.click(SEND)  # the tool's send step clicks the send control a profile names
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


def _tool_command(url: str) -> list[str]:
    """(c) The console script a person types, or `python -m assistant` when it is not installed."""
    script = Path(sys.executable).with_name("assistant")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "assistant"]
    return [*head, "run", str(SMOKE), "--url", url]


def _bare_command(url: str, path: str | None) -> list[str]:
    """(d) This file as a bare Playwright script: imports Playwright only, runs (b) once."""
    return [sys.executable, __file__, "--bare", url, *(["--browser", path] if path else [])]


def process_env(cache: str) -> dict[str, str]:
    """The subprocesses' environment: bytecode cached in `cache`, nothing else changed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


CPU: dict[str, list[float]] = {}  # what -> CPU seconds of each run (its whole process tree)


def run_process(command: list[str], what: str, env: dict[str, str]) -> float:
    """A whole process, interpreter start to exit. Raises when it does not exit 0.
    Also notes the CPU time of its process tree (Python, Playwright's driver, Chromium), which
    a loaded machine inflates less than the wall time: CPU[what]."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(what, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{what} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured in-process rounds (default 5; 0 skips them)")
    parser.add_argument("--pairs", type=int, default=8, help="measured whole-process pairs (default 8; 0 skips them)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--bare", metavar="URL", help=argparse.SUPPRESS)  # (d): the bare script, once
    parser.add_argument("--browser", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        asyncio.run(_script(args.bare, args.browser))
        return 0
    if args.rounds < 0 or args.pairs < 0 or args.rounds + args.pairs == 0:
        parser.error("--rounds and --pairs must be at least 0, and one of them at least 1")
    from assistant.simulator import Simulator

    path = browser_path()
    tool, script, tool_process, bare_process = [], [], [], []
    try:
        with Simulator(scenario="healthy") as sim:
            print(f"simulator {sim.url}; browser {path or 'Playwright Chromium'}")
            if args.rounds:
                print(f"in-process: {args.rounds} rounds + 1 warm-up")
                run_tool(sim.url, path), run_script(sim.url, path)  # warm-up: caches, imports
                for n in range(1, args.rounds + 1):
                    tool.append(run_tool(sim.url, path))
                    script.append(run_script(sim.url, path))
                    print(f"round {n}: tool {tool[-1]:.3f} s   script {script[-1]:.3f} s   ratio {tool[-1] / script[-1]:.2f}")
            if args.pairs:
                print(f"whole process: {args.pairs} pairs + 1 warm-up")
                commands = (_tool_command(sim.url), "assistant run"), (_bare_command(sim.url, path), "bare script")
                cache = tempfile.mkdtemp(prefix="overhead-pyc-")
                env = process_env(cache)
                try:
                    run_process(*commands[0], env), run_process(*commands[1], env)  # warm-up: bytecode, file cache
                    CPU.clear()
                    for n in range(1, args.pairs + 1):
                        order = commands if n % 2 else commands[::-1]  # alternate who goes first
                        times = {what: run_process(command, what, env) for command, what in order}
                        tool_process.append(times["assistant run"])
                        bare_process.append(times["bare script"])
                        print(f"pair {n}: assistant run {tool_process[-1]:.3f} s   bare script {bare_process[-1]:.3f} s   "
                              f"ratio {tool_process[-1] / bare_process[-1]:.2f}")
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
    except Exception as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1

    numbers = {"browser": path}
    if tool:
        med_tool, med_script = statistics.median(tool), statistics.median(script)
        ratio = med_tool / med_script
        met = ratio <= GOAL
        print(f"in-process median: tool {med_tool:.3f} s   script {med_script:.3f} s")
        print(f"in-process ratio median(tool)/median(script) = {ratio:.2f}  goal <= {GOAL:.2f}: {'met' if met else 'NOT met'}")
        numbers.update({
            "rounds": args.rounds, "tool_s": tool, "script_s": script,
            "median_tool_s": med_tool, "median_script_s": med_script,
            "ratio": ratio, "goal": GOAL, "goal_met": met,
        })
    if tool_process:
        med_tool, med_bare = statistics.median(tool_process), statistics.median(bare_process)
        ratio = med_tool / med_bare
        met = ratio <= GOAL_PROCESS
        print(f"whole-process median: assistant run {med_tool:.3f} s   bare script {med_bare:.3f} s")
        print(f"whole-process ratio = {ratio:.2f}  goal <= {GOAL_PROCESS:.2f}: {'met' if met else 'NOT met'}")
        cpu_tool, cpu_bare = statistics.median(CPU["assistant run"]), statistics.median(CPU["bare script"])
        print(f"CPU time of the process trees (median): assistant run {cpu_tool:.3f} s   bare script {cpu_bare:.3f} s   "
              f"ratio {cpu_tool / cpu_bare:.2f} (less sensitive to a busy machine than the wall time)")
        numbers.update({
            "pairs": args.pairs, "process_tool_s": tool_process, "process_script_s": bare_process,
            "median_process_tool_s": med_tool, "median_process_script_s": med_bare,
            "process_ratio": ratio, "process_goal": GOAL_PROCESS, "process_goal_met": met,
            "process_cpu_tool_s": CPU["assistant run"], "process_cpu_script_s": CPU["bare script"],
        })
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
