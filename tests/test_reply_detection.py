"""Busy detection in real Chromium against the simulator: every form, language and scenario."""

from __future__ import annotations

import pytest

from assistant import events as ev
from assistant.simulator import texts

pytestmark = pytest.mark.browser

ONE_REPLY = """
    site: simulator
    steps:
      - open: /
      - send: "{prompt}"
      - expect_reply: {{contains: "{contains}", timeout: {timeout}, retry: {{max_attempts: 1}}}}
"""

WHERE = {"inline": "reply bubble", "row": "error row", "toast": "toast"}
BUSY_TEXT = {"inline": texts.BUSY_INLINE, "row": texts.BUSY_ROW, "toast": texts.BUSY_ROW}


def one_reply(prompt="Reply with the single word: pong", contains="pong", timeout="10s"):
    return ONE_REPLY.format(prompt=prompt, contains=contains, timeout=timeout)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("form", ["inline", "row", "toast"])
def test_each_busy_form_in_each_language_is_detected(sim, run_text, form, lang):
    sim.configure(scenario="always-busy", busy_form=form, lang=lang)
    ran = run_text(one_reply())
    step = ran.step("expect_reply")
    assert ran.result.outcome == "failed"
    [attempt] = step.attempts
    assert attempt.outcome == "busy"
    assert attempt.signal["where"] == WHERE[form]
    assert BUSY_TEXT[form][lang] in attempt.signal["text"]


@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("Echo: The server is busy. Please try again later.", id="whole-reply-is-the-busy-text"),
        pytest.param("Echo: DeepSeek shows 'Server busy, please try again later.' when it is overloaded.", id="reply-quotes-the-row-text"),
        pytest.param("Echo: 服务器繁忙，请稍后再试。这是常见的提示。", id="reply-quotes-the-chinese-text"),
    ],
)
def test_a_reply_that_talks_about_server_busy_is_an_answer(run_text, prompt):
    ran = run_text(one_reply(prompt=prompt, contains=""))
    [attempt] = ran.step("expect_reply").attempts
    assert attempt.outcome == "answered", attempt.signal
    assert ran.result.outcome == "passed"


@pytest.mark.parametrize(
    ("scenario", "outcome", "source", "status"),
    [
        pytest.param("http-503", "busy", "http", 503, id="http-503"),
        pytest.param("rate-limit", "rate_limited", "http", 429, id="rate-limit-429"),
        pytest.param("stream-stall", "error", "stream", None, id="stream-stall"),
        pytest.param("stream-truncated", "error", "stream", None, id="stream-truncated"),
    ],
)
def test_scenario_outcomes(sim, run_text, scenario, outcome, source, status):
    sim.configure(scenario=scenario)
    ran = run_text(one_reply())
    [attempt] = ran.step("expect_reply").attempts
    assert attempt.outcome == outcome
    assert attempt.signal["source"] == source
    assert attempt.signal.get("status") == status


def test_stream_stall_says_how_many_heartbeats(sim, run_text):
    sim.configure(scenario="stream-stall", heartbeats=4)
    [attempt] = run_text(one_reply()).step("expect_reply").attempts
    assert "4 heartbeats" in attempt.signal["summary"]


def test_a_reply_that_never_comes_times_out(sim, run_text):
    sim.configure(scenario="always-busy", heartbeats=1000, heartbeat_interval=0.05)
    ran = run_text(one_reply(timeout="1s"))
    [attempt] = ran.step("expect_reply").attempts
    assert attempt.outcome == "timeout"
    assert "a stream was open" in attempt.signal["summary"]


def test_busy_twice_recovers_on_the_third_attempt_with_nominal_waits(sim, run_text):
    sim.configure(scenario="busy-twice", busy_form="row")
    ran = run_text(
        """
        site: simulator
        steps:
          - open: /
          - send: "Reply with the single word: pong"
          - expect_reply: {contains: pong, retry: {schedule: [5s, 10s, 30s]}}
        """
    )
    step = ran.step("expect_reply")
    assert [a.outcome for a in step.attempts] == ["busy", "busy", "answered"]
    assert [a.waited_s for a in step.attempts] == [0, 5, 10]
    assert ran.result.outcome == "passed"
    assert sim.completions == 3
    waits = [e for e in ran.events if isinstance(e, ev.WaitStarted)]
    assert [(w.seconds, w.next_attempt, w.of) for w in waits] == [(5, 2, 4), (10, 3, 4)]
    ticks = [e.remaining for e in ran.events if isinstance(e, ev.WaitTick)]
    assert ticks[:6] == [5, 4, 3, 2, 1, 0]


def test_always_busy_gives_up_after_four_attempts(sim, run_text):
    sim.configure(scenario="always-busy")
    ran = run_text(one_reply().replace("retry: {max_attempts: 1}", "retry: {}"))
    step = ran.step("expect_reply")
    assert [a.waited_s for a in step.attempts] == [0, 5, 10, 30]
    assert {a.outcome for a in step.attempts} == {"busy"}
    assert step.outcome == "failed" and "still busy after 4 attempts" in step.detail


def test_retry_after_overrides_the_schedule(sim, run_text):
    sim.configure(scenario="rate-limit", retry_after="7")
    step = run_text(one_reply().replace("retry: {max_attempts: 1}", "retry: {}")).step("expect_reply")
    assert [a.waited_s for a in step.attempts] == [0, 7, 7, 7]
    assert step.attempts[0].signal["retry_after"] == 7


def test_budget_stops_before_a_wait_that_would_pass_it(sim, run_text):
    sim.configure(scenario="always-busy")
    step = run_text(one_reply().replace("retry: {max_attempts: 1}", "retry: {budget: 20s}")).step("expect_reply")
    assert [a.waited_s for a in step.attempts] == [0, 5, 10]
    assert "budget" in step.detail


def test_a_retry_block_repeats_its_steps(sim, run_text):
    sim.configure(scenario="busy-twice", busy_form="toast")
    ran = run_text(
        """
        site: simulator
        steps:
          - open: /
          - retry:
              schedule: [5s]
              max_attempts: 3
              steps:
                - new_chat
                - send: "Reply with the single word: pong"
                - expect_reply: {contains: pong}
        """
    )
    block = ran.step("retry")
    assert [a.outcome for a in block.attempts] == ["busy", "busy", "ok"]
    assert [len(a.steps) for a in block.attempts] == [3, 3, 3]
    assert ran.result.outcome == "passed"


def test_a_wrong_answer_fails_without_retrying(run_text):
    ran = run_text(one_reply(contains="ping").replace("retry: {max_attempts: 1}", "retry: {}"))
    step = ran.step("expect_reply")
    assert len(step.attempts) == 1 and step.attempts[0].outcome == "answered"
    assert "does not contain 'ping'" in step.detail


def test_expect_visible_finds_a_feature_and_reports_a_missing_one(run_text):
    ran = run_text(
        """
        site: simulator
        steps:
          - open: /
          - expect_visible: image_upload
          - expect_visible: {target: "#no-such-control", timeout: 300ms}
          - screenshot: never-taken
        """
    )
    steps = ran.result.steps
    assert [s.outcome for s in steps] == ["passed", "passed", "failed", "skipped"]
    assert "not visible" in steps[2].detail
    assert any(a.endswith("failure-step-3.png") for a in ran.result.artifacts)
