"""Busy detection with no site profile: the vocabulary, the "only an error" rule, guessed
streams, the in-page heuristics on hand-made pages, and `site: generic` in real Chromium
against the simulator (both skins when the plain one exists)."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from assistant.browser.session import BrowserSession
from assistant.chat import generic
from assistant.chat.detect import classify_stream, parse_sse
from assistant.chat.pagewatch import MARK_JS
from assistant.chat.watch import ReplyWatch, Turn, watch_selectors
from assistant.playbook.model import SiteProfile
from assistant.simulator import texts
from assistant.simulator.settings import Settings

HAS_PLAIN = "skin" in {f.name for f in dataclasses.fields(Settings)}
needs_plain = pytest.mark.skipif(not HAS_PLAIN, reason="the simulator has no plain skin yet")


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        pytest.param("The server is busy. Please try again later.", "busy", id="ds-2025-en"),
        pytest.param("服务器繁忙，请稍后再试。", "busy", id="ds-2025-zh"),
        pytest.param("Sorry, DeepSeek’s search service is busy. Please disable search or try again in a few minutes.", "busy", id="ds-search"),
        pytest.param("We're experiencing high demand. Please try again in a moment.", "busy", id="high-demand"),
        pytest.param("当前请求量过大，请稍后重试。", "busy", id="zh-request-volume"),
        pytest.param("The engine is currently overloaded, please try again later.", "busy", id="openai-503"),
        pytest.param("We're at capacity right now.", "busy", id="at-capacity"),
        pytest.param("有消息正在生成，请稍后再试", "busy", id="zh-later-only"),
        pytest.param("Too Many Requests", "rate_limited", id="429-reason"),
        pytest.param("消息发送过于频繁，请稍后重试", "rate_limited", id="zh-too-often"),
        pytest.param("You've reached the message limit. Please wait a minute before sending more.", "rate_limited", id="message-limit"),
        pytest.param("Rate limit reached for requests", "rate_limited", id="rate-limit"),
        pytest.param("Something went wrong. Please try again.", "error", id="went-wrong"),
        pytest.param("生成回复时出错。", "error", id="zh-error"),
        pytest.param("Our website is currently under maintenance.", "error", id="maintenance"),
        pytest.param("We are experiencing unusually high traffic. Please try again soon.", "busy", id="unusual-traffic-try-soon"),
        pytest.param("Too many people are using the assistant right now.", "busy", id="too-many-people"),
        pytest.param("当前使用人数较多，请稍后再试", "busy", id="zh-many-users"),
        pytest.param("算力不足，正在排队中", "busy", id="zh-no-compute-queued"),
        pytest.param("You've hit your usage limit. Slow down.", "rate_limited", id="usage-limit"),
        pytest.param("请求过多，请一分钟后再试", "rate_limited", id="zh-too-many-requests"),
        pytest.param("pong", None, id="an-answer"),
        pytest.param("Capacity planning means sizing servers for peak demand.", None, id="capacity-as-a-topic"),
        pytest.param("Rate limiting is a technique to control traffic.", None, id="rate-limiting-topic"),
    ],
)
def test_the_vocabulary_names_the_outcome(text, outcome):
    found = generic.classify(text)
    assert (found[0] if found else None) == outcome


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("The server is busy. Please try again later.", True, id="busy-text"),
        pytest.param("服务器繁忙，请稍后再试。", True, id="busy-text-zh"),
        pytest.param("Something went wrong. If this issue persists please contact us through our help center at help.openai.com.", True, id="chatgpt-error"),
        pytest.param("Overloaded", True, id="one-word"),
        pytest.param("DeepSeek shows 'Server busy' when it is overloaded; here is why...", False, id="quotes-and-explains"),
        pytest.param("DeepSeek shows 'Server busy, please try again later.' when it is overloaded.", False, id="quotes-the-whole-text"),
        pytest.param("服务器繁忙，请稍后再试。这是常见的提示。", False, id="zh-then-comment"),
        pytest.param("Too many requests means HTTP 429.", False, id="defines-it"),
        pytest.param("The server is busy. Please try again later. " * 6, False, id="too-long"),
        pytest.param("pong", False, id="no-wording"),
    ],
)
def test_only_a_short_error_only_text_is_an_error_bubble(text, error):
    assert (generic.error_only(text) is not None) == error


def sse(*frames: str) -> bytes:
    return "".join(f"{f}\n\n" for f in frames).encode()


@pytest.mark.parametrize(
    ("body", "decided"),
    [
        pytest.param(sse(": ping", 'data: {"error":{"message":"We\'re experiencing high demand.","type":"overloaded_error"}}'), "busy", id="openai-error-overloaded"),
        pytest.param(sse('event: error', 'data: {"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}'), "rate_limited", id="anthropic-rate-limit"),
        pytest.param(sse('data: {"error":{"message":"Invalid API key","type":"invalid_request_error"}}'), "error", id="other-error"),
        pytest.param(sse('data: {"choices":[{"delta":{},"finish_reason":"insufficient_system_resource"}]}'), "busy", id="no-resources-mid-answer"),
        pytest.param(sse('data: {"choices":[{"delta":{"content":"pong"}}]}', "data: [DONE]"), None, id="done-is-a-normal-end"),
        pytest.param(sse('event: hint\ndata: {"type":"error","content":"Server busy, please try again later.","finish_reason":"rate_limit_reached"}'), "rate_limited", id="deepseek-hint-unchanged"),
    ],
)
def test_error_payloads_in_a_stream(body, decided):
    result = classify_stream(parse_sse(body))
    assert (result[0] if result else None) == decided


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [("POST", "/api/v0/chat/completion", True), ("POST", "/backend/conversation", True), ("POST", "/api/chat", True),
     ("POST", "/api/v0/chat_session/create", False), ("GET", "/backend/conversation", False), ("POST", "/collect", False)],
)
def test_which_requests_look_like_the_reply(method, path, expected):
    assert generic.is_reply_request(method, path) is expected


# -- the in-page heuristics on hand-made pages ----------------------------------------------

PROMPT = "Why does my chat say server busy?"
BLANK = SiteProfile(name="none", url="http://localhost/")


async def _watch(page_html: str, after_send: str, then: str | None, timeout: float = 5.0):
    """Mark the page as a send does, add what the send brought, and let the watcher decide."""
    async with BrowserSession() as session:
        page = await (await session.new_context()).new_page()
        await page.set_content(page_html)
        await page.evaluate(MARK_JS, watch_selectors(BLANK, PROMPT))
        await page.evaluate("(html) => document.querySelector('#log').insertAdjacentHTML('beforeend', html)", after_send)
        if then:
            await page.evaluate(f"setTimeout(() => {{ {then} }}, 200)")
        watch = ReplyWatch(page, BLANK, Turn((), PROMPT), None)
        return await watch.run(timeout)


def page_with(extra: str = "") -> str:
    return f'<main><div id="log" aria-live="polite"></div>{extra}<form><textarea></textarea></form></main>'


MINE = f"<div class='msg me'>{PROMPT}</div>"
DISCUSSION = "DeepSeek shows 'Server busy, please try again later.' when too many people ask at once; here is why it happens and what helps."


@pytest.mark.browser
@pytest.mark.parametrize(
    ("html", "after_send", "then", "outcome", "where"),
    [
        pytest.param(page_with(), MINE + f"<div class='msg'><p>{DISCUSSION}</p></div>", None, "answered", "reply bubble", id="live-log-holding-a-discussion"),
        pytest.param(page_with(), MINE + "<div><div><p>pong</p></div></div>", None, "answered", "reply bubble", id="newest-block-without-any-class"),
        pytest.param(page_with(), MINE + "<div class='markdown'>服务器繁忙，请稍后再试。</div>", None, "busy", "reply bubble", id="bubble-holding-only-the-error"),
        pytest.param(page_with(), MINE + "<div class='chat-error'>Something went wrong. Please try again.</div>", None, "error", "error row", id="error-styled-row"),
        pytest.param(page_with("<div role=alert id=a></div>"), MINE, "document.getElementById('a').textContent = 'Too many requests'", "rate_limited", "alert", id="empty-alert-region-filled"),
        pytest.param(page_with(), MINE + "<div data-author=bot><div class=prose>The answer is pong.</div><div class=response-actions>Copy</div></div>", None, "answered", "reply bubble", id="reply-with-a-toolbar"),
        pytest.param(page_with(), MINE + f"<article data-role=assistant aria-live=polite>{DISCUSSION}</article>", None, "answered", "reply bubble", id="live-reply-discussing-busy"),
    ],
)
def test_the_heuristics_on_a_hand_made_page(html, after_send, then, outcome, where):
    result = asyncio.run(_watch(html, after_send, then))
    assert (result.outcome, result.signal.where) == (outcome, where), result.signal
    if outcome == "answered":
        assert PROMPT not in (result.reply or "") and "Copy" not in result.reply


# -- site: generic against the simulator ------------------------------------------------------

ONE_REPLY = """
    site: generic
    steps:
      - open: /
      - send: "{prompt}"
      - expect_reply: {{contains: "{contains}", timeout: 10s, retry: {{max_attempts: 1}}}}
"""
WHERE = {"inline": "reply bubble", "row": "error row", "toast": "toast"}
SKINS = [pytest.param("deepseek", id="deepseek-skin"), pytest.param("plain", id="plain-skin", marks=needs_plain)]


def one_reply(prompt="Reply with the single word: pong", contains="pong"):
    return ONE_REPLY.format(prompt=prompt, contains=contains)


def busy_text(skin: str, form: str, lang: str) -> str:
    return texts.PLAIN_BUSY[lang] if skin == "plain" else texts.busy_text(form, lang)


def configure(sim, skin: str, **settings):
    return sim.configure(**({"skin": skin} if HAS_PLAIN else {}), **settings)


@pytest.mark.browser
@pytest.mark.parametrize("skin", SKINS)
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("form", ["inline", "row", "toast"])
def test_every_busy_form_without_a_profile(sim, run_text, skin, form, lang):
    configure(sim, skin, scenario="always-busy", busy_form=form, lang=lang)
    [attempt] = run_text(one_reply()).step("expect_reply").attempts
    assert attempt.outcome == "busy", attempt.signal
    assert attempt.signal["where"] == WHERE[form]
    assert busy_text(skin, form, lang) in attempt.signal["text"]


@pytest.mark.browser
@pytest.mark.parametrize("skin", SKINS)
@pytest.mark.parametrize(
    ("scenario", "outcome", "source"),
    [
        pytest.param("healthy", "answered", "dom", id="healthy"),
        pytest.param("http-503", "busy", "http", id="http-503"),
        pytest.param("rate-limit", "rate_limited", "http", id="rate-limit-429"),
        pytest.param("stream-stall", "error", "stream", id="stream-stall"),
        pytest.param("stream-truncated", "error", "stream", id="stream-truncated"),
    ],
)
def test_scenarios_without_a_profile(sim, run_text, skin, scenario, outcome, source):
    configure(sim, skin, scenario=scenario)
    [attempt] = run_text(one_reply()).step("expect_reply").attempts
    assert (attempt.outcome, attempt.signal["source"]) == (outcome, source), attempt.signal


@pytest.mark.browser
@pytest.mark.parametrize("skin", SKINS)
@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("Echo: The server is busy. Please try again later.", id="whole-reply-is-a-busy-text"),
        pytest.param("Echo: We're experiencing high demand. Please try again in a moment.", id="whole-reply-is-the-plain-busy-text"),
        pytest.param(f"Echo: {DISCUSSION}", id="reply-discusses-it"),
        pytest.param("Echo: 服务器繁忙，请稍后再试。这是常见的提示。", id="chinese-then-a-comment"),
    ],
)
def test_a_reply_about_busy_servers_is_an_answer_without_a_profile(sim, run_text, skin, prompt):
    configure(sim, skin)
    [attempt] = run_text(one_reply(prompt=prompt, contains="")).step("expect_reply").attempts
    assert attempt.outcome == "answered", json.dumps(attempt.signal)
    assert attempt.signal["text"] == prompt.removeprefix("Echo: ")


@pytest.mark.browser
@pytest.mark.parametrize("skin", SKINS)
def test_busy_twice_then_an_answer_without_a_profile(sim, run_text, skin):
    configure(sim, skin, scenario="busy-twice", busy_form="row")
    ran = run_text(one_reply().replace("retry: {max_attempts: 1}", "retry: {schedule: [5s, 10s, 30s]}"))
    assert [a.outcome for a in ran.step("expect_reply").attempts] == ["busy", "busy", "answered"]
    assert ran.result.outcome == "passed"
