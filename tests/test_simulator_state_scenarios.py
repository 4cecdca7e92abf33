"""The browser-state scenarios in real Chromium: each fails until its own remedy fixes it.

stale-cache, bad-cookie and long-conversation each stage a fault that lives in the
browser, not on the server. For each one the table below records what a remedy does:
its own remedy makes "pong" come back, a plausible wrong one leaves the chat failing.
That is the point of the scenarios: a troubleshooter that tries remedies one at a time
must be able to tell which one worked.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.simulator import Simulator, texts

pytestmark = pytest.mark.browser

PROMPT = "Reply with the single word: pong"
BUSY = texts.BUSY_INLINE["en"]
ERROR = texts.ERROR_GENERIC["en"]
FAST = {"heartbeats": 1, "heartbeat_interval": 0.005, "chunk_delay": 0.0}

# What each scenario's sends show before any remedy (one send per item, on one page).
BEFORE = {
    "stale-cache": [ERROR],  # the old bundle posts to the retired endpoint: 410
    "bad-cookie": [BUSY],  # the corrupt session cookie is refused as busy
    "long-conversation": ["pong", "pong", BUSY],  # two answers, then busy
}


@pytest.fixture(scope="module")
def server():
    with Simulator(port=0, **FAST) as sim:
        yield sim


# -- remedies: each takes the page, leaves it loaded and ready to send -----------------


async def soft_reload(page):
    await page.reload()


async def hard_reload(page):
    # What DevTools' "Empty cache and hard reload" and Ctrl+Shift+R do: bypass the cache.
    cdp = await page.context.new_cdp_session(page)
    async with page.expect_navigation():
        await cdp.send("Page.reload", {"ignoreCache": True})
    await cdp.detach()


async def clear_cache_then_reload(page):
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.clearBrowserCache")
    await cdp.detach()
    await page.reload()


async def clear_cookies_then_reload(page):
    await page.context.clear_cookies()
    await page.reload()


async def new_chat(page):
    before = page.url
    await page.get_by_role("button", name="New chat").click()
    await page.wait_for_url(lambda url: url != before)  # the new conversation has its id


CASES = [
    ("stale-cache", hard_reload, True),
    ("stale-cache", clear_cache_then_reload, True),
    ("stale-cache", soft_reload, False),  # the stale bundle is fresh for a day: served from cache
    ("stale-cache", clear_cookies_then_reload, False),
    ("bad-cookie", clear_cookies_then_reload, True),
    ("bad-cookie", hard_reload, False),  # the cookie survives any reload
    ("bad-cookie", clear_cache_then_reload, False),
    ("long-conversation", new_chat, True),
    ("long-conversation", soft_reload, False),  # /a/chat/s/<id> reopens the same conversation
]


# -- driving the page -------------------------------------------------------------------

# The reply bubble of the newest turn once it is over (inline busy form: busy and error
# texts land in the bubble too), or null while it is still coming.
NEWEST_REPLY = """(before) => {
  const box = document.querySelector(".chat-messages");
  const bubbles = box.querySelectorAll(".message--assistant .ds-markdown--block");
  if (box.dataset.generating !== "false" || bubbles.length <= before) return null;
  return bubbles[bubbles.length - 1].textContent;
}"""


async def send(page) -> str:
    """Send the prompt and return what the reply bubble ends up holding."""
    before = await page.locator(".message--assistant").count()
    await page.fill("textarea#chat-input", PROMPT)
    await page.press("textarea#chat-input", "Enter")
    reply = await page.wait_for_function(NEWEST_REPLY, arg=before)
    return await reply.json_value()


async def in_chromium(url: str, script):
    """Open `url` in a fresh headless Chromium context and run `script(page)`."""
    from playwright.async_api import async_playwright

    info = find_system_browser()
    assert info is not None, "no Chromium found: these tests drive a real browser"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=info.path, args=list(LAUNCH_ARGS), headless=True
        )
        try:
            context = await browser.new_context()
            context.set_default_timeout(10_000)
            page = await context.new_page()
            await page.goto(url)
            return await script(page)
        finally:
            await browser.close()


# -- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scenario, remedy, fixed",
    [pytest.param(*case, id=f"{case[0]}-{case[1].__name__}") for case in CASES],
)
def test_only_its_own_remedy_fixes_the_fault(server, scenario, remedy, fixed):
    server.configure(scenario=scenario)

    async def script(page):
        before = [await send(page) for _ in BEFORE[scenario]]
        await remedy(page)
        return before, await send(page)

    before, after = asyncio.run(in_chromium(server.url + "/", script))
    assert before == BEFORE[scenario]  # the fault shows before any remedy
    assert after == ("pong" if fixed else BEFORE[scenario][-1])


def test_clearing_cookies_keeps_the_sign_in_token(server):
    server.configure(scenario="bad-cookie")

    async def script(page):
        token = await page.evaluate("localStorage.getItem('userToken')")
        cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
        await clear_cookies_then_reload(page)
        return token, cookies, await page.evaluate("localStorage.getItem('userToken')")

    token, cookies, after = asyncio.run(in_chromium(server.url + "/", script))
    assert cookies["ds_session"].startswith("corrupt%00")
    stored = json.loads(token)
    assert stored["value"].startswith("sim-token-") and stored["__version"] == "0"
    assert after == token  # still signed in: the login lives in localStorage
