"""The simulator's faults count per browser session, start over on POST /__reset, and
each request served is one log line (issue 12, item 2)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.simulator import Simulator
from tests.test_simulator_state_scenarios import BUSY, ERROR, FAST, send

PROMPT = "Reply with the single word: pong"


def post(url: str, path: str, body: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def complete(url: str) -> str:
    """The last SSE event of one web send without a browser session ('hint' is busy)."""
    _, text = post(url, "/api/v0/chat/completion", {"chat_session_id": "c1", "prompt": "hi"})
    return [line[7:] for line in text.splitlines() if line.startswith("event: ")][-2]


@pytest.mark.browser
def test_a_new_browser_profile_meets_the_fault_again():
    """busy-twice and stale-cache: a second profile (a new context) is met like the first."""
    lines: list[str] = []

    async def profile(browser, url: str, sends: int) -> list[str]:
        context = await browser.new_context()
        context.set_default_timeout(10_000)
        page = await context.new_page()
        await page.goto(url)
        got = [await send(page) for _ in range(sends)]
        await context.close()
        return got

    async def main(sim) -> dict:
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=find_system_browser().path, args=list(LAUNCH_ARGS))
            seen = {}
            sim.configure(scenario="busy-twice")
            seen["busy-twice"] = [await profile(browser, sim.url + "/", 3), await profile(browser, sim.url + "/", 1)]
            sim.configure(scenario="stale-cache")
            seen["stale-cache"] = [await profile(browser, sim.url + "/", 1), await profile(browser, sim.url + "/", 1)]
            await browser.close()
            return seen

    with Simulator(port=0, **FAST) as sim:
        sim._state.log = lines.append
        seen = asyncio.run(main(sim))
    assert seen["busy-twice"] == [[BUSY, BUSY, "pong"], [BUSY]]
    assert seen["stale-cache"] == [[ERROR], [ERROR]]
    sends = [line for line in lines if line.startswith("POST /api/v0/chat/completion ->")]
    assert sends[:4] == [
        "POST /api/v0/chat/completion -> busy (hint), 1 of 2 busy left  [browser 1]",
        "POST /api/v0/chat/completion -> busy (hint), 0 of 2 busy left  [browser 1]",
        "POST /api/v0/chat/completion -> answer, 0 of 2 busy left  [browser 1]",
        "POST /api/v0/chat/completion -> busy (hint), 1 of 2 busy left  [browser 2]",
    ]
    assert "GET / -> page (a new browser session)  [browser 2]" in lines


def test_reset_starts_every_count_over(sim):
    sim.configure(scenario="busy-twice")
    assert [complete(sim.url) for _ in range(3)] == ["hint", "hint", "finish"]
    status, body = post(sim.url, "/__reset")
    assert status == 200 and json.loads(body)["counters"]["completions"] == 0
    assert json.loads(body)["settings"]["scenario"] == "busy-twice"  # the settings stay
    assert complete(sim.url) == "hint"


def test_simulate_logs_each_request_and_names_the_api_key(tmp_path):
    """`assistant simulate` says how faults count and the key to use, then one line a request."""
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "simulate", "--port", "0", "--scenario", "long-conversation"],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        head = [proc.stderr.readline() for _ in range(5)]
        url = head[0].split(" on ", 1)[1].split(" ", 1)[0]
        assert "SIMULATOR_API_KEY=sim-any-key" in head[2] and "/__reset" in head[1]
        assert "--turns 3" in head[3]
        post(url, "/api/v0/chat/completion", {"chat_session_id": "c1", "prompt": "hi"})
        assert proc.stderr.readline().strip() == ("POST /api/v0/chat/completion -> answer, "
                                                  "turn 1 of its chat; busy after 2 answers until a new chat")
        req = urllib.request.Request(url + "/v1/chat/completions", method="POST", data=json.dumps(
            {"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}]}).encode(),
            headers={"Authorization": "Bearer sim-any-key", "Content-Type": "application/json"})
        assert urllib.request.urlopen(req, timeout=5).status == 200  # the key it names works
        assert proc.stderr.readline().strip() == "POST /v1/chat/completions -> answer"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0
