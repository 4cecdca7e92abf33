"""DeepSeek as it is in 2026 (issue 15): the simulator's 2026 transcript markup, and the
shipped `deepseek` profile reading it, in real Chromium.

The markup is the one shared/GROUND_TRUTH.md records from a third-party capture [3P]:
turns in `div.ds-virtual-list-visible-items`, the person's turn `div.ds-message`, a
finished answer a plain `div.ds-markdown` with an action bar ("复制") that only comes
once it is complete, and a busy turn with no answer: "重试" inside the person's turn and
the refusal in a sibling row with hashed classes only (no role, no "error").

The first part checks what the simulator renders, driving the page directly. The second
runs playbooks with `site: deepseek` against it, with the stream at the profile's path
(the stream can decide) or moved (`stream_path`: only the page can tell), and the two
rules the capture's reader keeps: a hidden busy row does not count, and neither does an
older turn's busy row or the busy text quoted in the person's own message.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest

from assistant.browser.find import find_system_browser
from assistant.browser.session import LAUNCH_ARGS
from assistant.simulator import texts
from assistant.simulator.settings import HIDDEN_ROW_STYLES, STREAM_PATHS

pytestmark = pytest.mark.browser

PROFILE_PATH = STREAM_PATHS[0]  # the `deepseek` profile's stream path
MOVED = {"v1": STREAM_PATHS[1], "stream": STREAM_PATHS[2]}  # paths the profile does not name
PONG = "Reply with the single word: pong"


# -- the simulator's 2026 page, driven directly ----------------------------------------------


async def in_chromium(url: str, script):
    """Open `url` in a fresh headless Chromium and run `script(page)`."""
    from playwright.async_api import async_playwright

    info = find_system_browser()
    assert info is not None, "no Chromium found: these tests drive a real browser"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=info.path, args=list(LAUNCH_ARGS), headless=True)
        try:
            page = await browser.new_page()
            page.set_default_timeout(10_000)
            await page.goto(url)
            return await script(page)
        finally:
            await browser.close()


COMPOSER = {lang: f'textarea[placeholder="{texts.PLACEHOLDER[lang]}"]' for lang in texts.PLACEHOLDER}

# The transcript as data: one entry per child of the list, with what the rules look at.
TRANSCRIPT = """() => [...document.querySelector('.ds-virtual-list-visible-items').children].map(el => ({
  cls: el.className, role: el.getAttribute('role'), text: el.innerText, content: el.textContent,
  style: el.getAttribute('style'),
  markdown: [...el.querySelectorAll(':scope > div.ds-markdown')].map(m => ({cls: m.className, text: m.textContent})),
  bar: [...el.querySelectorAll(':scope > div > button.ds-button--icon')].map(b => ({
    label: b.getAttribute('aria-label'), text: b.textContent, height: b.parentElement.getBoundingClientRect().height})),
  retry: [...el.querySelectorAll(':scope > div[role=button].ds-button--warning')].map(b => b.textContent),
  classes: [el, ...el.querySelectorAll('*')].flatMap(e => [...e.classList]),
}))"""


async def send(page, prompt: str, lang: str = "en") -> None:
    await page.fill(COMPOSER[lang], prompt)
    await page.press(COMPOSER[lang], "Enter")


def test_an_answer_is_a_plain_ds_markdown_whose_action_bar_comes_when_it_is_complete(sim):
    sim.configure(markup="2026", chunk_delay=0.15)
    prompt = "Echo: " + "streaming slowly, " * 3

    async def script(page):
        assert await page.locator(".chat-messages, #chat-input").count() == 0  # no 2025 markup
        await send(page, prompt)
        await page.wait_for_function("() => document.querySelector('div.ds-markdown')?.textContent.length > 0")
        streaming = await page.evaluate(TRANSCRIPT)
        await page.wait_for_selector("div.ds-markdown ~ div button.ds-button--icon")
        return streaming, await page.evaluate(TRANSCRIPT)

    streaming, done = asyncio.run(in_chromium(sim.url + "/", script))
    user, answer = streaming
    assert user["cls"].split()[0] == "ds-message" and user["text"] == prompt.strip()
    assert answer["markdown"][0]["cls"] == "ds-markdown" and answer["bar"] == []  # still streaming
    user, answer = done
    assert answer["markdown"] == [{"cls": "ds-markdown", "text": prompt.removeprefix("Echo: ").strip()}]
    [bar] = answer["bar"]
    assert bar["label"] == texts.COPY_LABEL_2026 == bar["text"] and 28 <= bar["height"] <= 36


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_busy_turn_is_retry_in_the_persons_turn_and_a_hashed_row(sim, lang):
    sim.configure(markup="2026", scenario="busy-twice", lang=lang, busy_form="inline")  # busy_form unused in 2026

    async def script(page):
        await send(page, PONG, lang)
        await page.wait_for_selector("div.ds-message div[role=button].ds-button--warning")
        busy = await page.evaluate(TRANSCRIPT)
        await page.click("div[role=button].ds-button--warning")  # re-asks: busy once more
        await page.wait_for_selector("div.ds-message div[role=button].ds-button--warning")
        await page.click("div[role=button].ds-button--warning")  # the third request answers
        await page.wait_for_selector("div.ds-markdown ~ div button.ds-button--icon")
        return busy, await page.evaluate(TRANSCRIPT)

    busy, answered = asyncio.run(in_chromium(sim.url + "/", script))
    user, row = busy
    assert user["cls"].split()[0] == "ds-message" and user["retry"] == [texts.RETRY_LABEL_2026]
    assert row["text"] == texts.BUSY_ROW[lang] and row["role"] is None and row["markdown"] == []
    assert all(c.startswith("_") for c in row["classes"]), row["classes"]  # hashed only
    assert not any("error" in c.lower() for c in row["classes"] + user["classes"])
    # Each 重试 was a new completion request for the same message; the last one answered
    # and took the row's place.
    assert sim.completions == 3
    user, answer = answered
    assert user["retry"] == [] and answer["markdown"][0]["text"] == "pong"


def test_the_page_streams_from_the_stream_path_setting(sim):
    sim.configure(markup="2026", stream_path=MOVED["v1"])

    async def script(page):
        posted = []
        page.on("request", lambda r: r.method == "POST" and posted.append(urlsplit(r.url).path))
        await send(page, PONG)
        await page.wait_for_selector("div.ds-markdown ~ div button.ds-button--icon")
        return posted

    posted = asyncio.run(in_chromium(sim.url + "/", script))
    assert posted[-1] == MOVED["v1"] and sim.completions == 1


@pytest.mark.parametrize("style", list(HIDDEN_ROW_STYLES))
def test_hidden_busy_row_puts_a_hidden_busy_row_in_an_answered_turn(sim, style):
    sim.configure(markup="2026", hidden_busy_row=style)

    async def script(page):
        await send(page, PONG)
        await page.wait_for_selector("div.ds-markdown ~ div button.ds-button--icon")
        return await page.evaluate(TRANSCRIPT)

    user, hidden, answer = asyncio.run(in_chromium(sim.url + "/", script))
    assert hidden["style"] == HIDDEN_ROW_STYLES[style] and hidden["role"] is None
    assert hidden["content"] == texts.BUSY_ROW["en"]
    assert all(c.startswith("_") for c in hidden["classes"])  # the busy row's own form
    assert user["cls"].split()[0] == "ds-message" and answer["markdown"][0]["text"] == "pong"


# -- the `deepseek` profile through the tool -------------------------------------------------


ONE_REPLY = """
    site: deepseek
    steps:
      - open: /
      - send: {prompt}
      - expect_reply: {{contains: {contains}, timeout: 8s, retry: {{max_attempts: 1}}}}
"""


def one_reply(prompt: str = PONG, contains: str = "pong") -> str:
    return ONE_REPLY.format(prompt=json.dumps(prompt, ensure_ascii=False), contains=json.dumps(contains))


def attempts_of(ran, name: str = "expect_reply") -> list:
    return [a for s in ran.result.steps if s.name == name for a in s.attempts]


@pytest.mark.parametrize(
    ("lang", "stream_path"),
    [
        pytest.param("en", MOVED["v1"], id="en-api-v1"),
        pytest.param("zh", MOVED["stream"], id="zh-chat-stream"),
    ],
)
def test_busy_is_judged_from_the_page_alone(sim, run_text, lang, stream_path):
    sim.configure(markup="2026", scenario="always-busy", lang=lang, stream_path=stream_path)
    ran = run_text(one_reply())
    [attempt] = attempts_of(ran)
    assert sim.completions == 1  # the page did ask, at the moved path
    assert attempt.outcome == "busy", attempt.signal
    assert attempt.signal["source"] == "dom"
    assert texts.BUSY_ROW[lang] in attempt.signal["text"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_busy_is_judged_from_the_stream_alone(sim, run_text, lang):
    sim.configure(markup="2026", scenario="always-busy", lang=lang)
    [attempt] = attempts_of(run_text(one_reply()))
    assert attempt.outcome == "busy", attempt.signal
    assert texts.BUSY_ROW[lang] in attempt.signal["text"]


@pytest.mark.parametrize(
    "stream_path",
    [pytest.param(PROFILE_PATH, id="stream-at-profile-path"), pytest.param(MOVED["v1"], id="page-alone")],
)
def test_the_answer_is_found_without_the_copy_label(sim, run_text, stream_path):
    sim.configure(markup="2026", stream_path=stream_path)
    ran = run_text(one_reply())
    [attempt] = attempts_of(ran)
    assert attempt.outcome == "answered", attempt.signal
    assert attempt.signal["text"] == "pong"  # not "pong复制"
    assert ran.result.outcome == "passed"


RULE_PATHS = [pytest.param(PROFILE_PATH, id="stream-at-profile-path"), pytest.param(MOVED["v1"], id="page-alone")]


@pytest.mark.parametrize("stream_path", RULE_PATHS)
@pytest.mark.parametrize("style", list(HIDDEN_ROW_STYLES))
def test_a_hidden_busy_row_does_not_count(sim, run_text, style, stream_path):
    sim.configure(markup="2026", hidden_busy_row=style, stream_path=stream_path)
    ran = run_text(one_reply())
    [attempt] = attempts_of(ran)
    assert attempt.outcome == "answered", attempt.signal
    assert attempt.signal["text"] == "pong"


def test_a_hidden_busy_row_does_not_count_in_the_2025_markup(sim, run_text):
    # The 2025 form of the row (div.message-error[role=alert]), hidden, in an answered turn.
    sim.configure(markup="2025", hidden_busy_row="display-none")
    [attempt] = attempts_of(run_text(one_reply()))
    assert attempt.outcome == "answered", attempt.signal


@pytest.mark.parametrize("stream_path", RULE_PATHS)
def test_an_older_turns_busy_row_does_not_reject_the_answer(sim, run_text, stream_path):
    # busy-twice: the first message is busy twice (the second time after 重试), the next
    # message answers; the first turn's busy row stays on the page above it.
    sim.configure(markup="2026", scenario="busy-twice", stream_path=stream_path)
    ran = run_text(
        """
        site: deepseek
        steps:
          - open: /
          - send: "Reply with the single word: one"
          - expect_reply: {contains: one, timeout: 8s, retry: {max_attempts: 2}, optional: true}
          - send: "Reply with the single word: two"
          - expect_reply: {contains: two, timeout: 8s, retry: {max_attempts: 1}}
        """
    )
    outcomes = [[a.outcome for a in s.attempts] for s in ran.result.steps if s.name == "expect_reply"]
    assert outcomes == [["busy", "busy"], ["answered"]], [a.signal for a in attempts_of(ran)]
    assert attempts_of(ran)[-1].signal["text"] == "two"
    assert sim.completions == 3  # 重试 asked again, then the second message


@pytest.mark.parametrize("stream_path", RULE_PATHS)
@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param(f"What does '{texts.BUSY_ROW['en']}' mean? {PONG}", id="en"),
        pytest.param(f"“{texts.BUSY_ROW['zh']}”是什么意思？{PONG}", id="zh"),
    ],
)
def test_the_busy_text_quoted_in_the_persons_message_does_not_count(sim, run_text, prompt, stream_path):
    sim.configure(markup="2026", stream_path=stream_path)
    [attempt] = attempts_of(run_text(one_reply(prompt)))
    assert attempt.outcome == "answered", attempt.signal
    assert attempt.signal["text"] == "pong"


@pytest.mark.parametrize(
    ("scenario", "busy_form", "outcome", "where"),
    [
        pytest.param("healthy", "inline", "answered", "reply bubble", id="answered"),
        pytest.param("always-busy", "inline", "busy", "reply bubble", id="busy-inline"),
        pytest.param("always-busy", "row", "busy", "error row", id="busy-row"),
    ],
)
def test_the_2025_markup_still_works(sim, run_text, scenario, busy_form, outcome, where):
    sim.configure(markup="2025", scenario=scenario, busy_form=busy_form)
    [attempt] = attempts_of(run_text(one_reply()))
    assert attempt.outcome == outcome, attempt.signal
    assert attempt.signal["where"] == where
    if outcome == "answered":
        assert attempt.signal["text"] == "pong"
    else:
        assert texts.busy_text(busy_form, "en") in attempt.signal["text"]
