"""Real chats that nobody here wrote: apps on Gradio, Streamlit and Chainlit, unmodified
frameworks from PyPI, each showing busy the framework's own ways (fixtures/chats/).

Each framework runs in its own cached virtualenv (their dependencies clash) and each app
once per session; a test rewrites the app's behaviour file and runs a playbook with
`site: generic` (and with the `probe-site` draft) in real Chromium.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest

from assistant.events import Emitter
from assistant.playbook import load_playbook
from assistant.runner import Runner
from assistant.timing.clock import Clock
from tests.conftest import TEST_TIME_SCALE, write_playbook

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.realchat, pytest.mark.browser]


def _chats_module():
    spec = importlib.util.spec_from_file_location("fixture_chats", ROOT / "fixtures" / "chats" / "chats.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fixture_chats", module)
    spec.loader.exec_module(module)
    return module


chats = _chats_module()
FRAMEWORKS = list(chats.NAMES)
BUSY = {"en": "Server busy, please try again later.", "zh": "服务器繁忙，请稍后再试。"}

PLAYBOOK = """
    site: {site}
    steps:
      - open: /
      - send: "{prompt}"
      - expect_reply: {{contains: pong, timeout: {timeout}, retry: {{schedule: [5s, 10s, 30s]}}}}
"""


@pytest.fixture(autouse=True, scope="module")
def loopback_only():
    """Chainlit's page links web fonts and a CDN stylesheet: resolve no host but loopback,
    so these tests send nothing off the machine."""
    from assistant.browser import session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(session, "LAUNCH_ARGS", (*session.LAUNCH_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
        yield


@pytest.fixture(scope="session", params=FRAMEWORKS)
def app(request):
    """One running app per framework for the whole session."""
    started = chats.start(request.param, env={"CHAT_MODE": "answer"}, timeout=180)
    yield started
    started.stop()


def run(tmp_path, app, *, prompt="Reply with the single word: pong", timeout="20s", site="generic"):
    path = write_playbook(tmp_path, PLAYBOOK.format(site=site, prompt=prompt, timeout=timeout))
    playbook = load_playbook(path, url=app.url)
    events: list = []
    runner = Runner(playbook, emit=Emitter(events.append), clock=Clock(TEST_TIME_SCALE), artifacts_dir=tmp_path / "artifacts")
    result = asyncio.run(runner.run())
    return next(s for s in result.steps if s.name == "expect_reply"), result


def describe(step) -> str:
    return "; ".join(f"{a.number}: {a.outcome} {a.signal.get('summary')} [{a.signal.get('recovery', '')}]" for a in step.attempts) or step.detail


def test_an_answer_is_read_without_labels_or_the_prompt(tmp_path, app):
    app.reset(mode="answer")
    step, _ = run(tmp_path, app)
    assert [a.outcome for a in step.attempts] == ["answered"], describe(step)
    reply = step.attempts[0].signal["text"]
    assert reply.startswith("pong") and "Reply with the single word" not in reply.split("message:")[0], reply


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("form", ["error", "message"])
def test_busy_then_the_answer(tmp_path, app, form, lang):
    app.reset(mode="busy", busy_n=1, busy_form=form, lang=lang)
    step, _ = run(tmp_path, app)
    outcomes = [a.outcome for a in step.attempts]
    assert outcomes == ["busy", "answered"], describe(step)
    assert BUSY[lang] in step.attempts[0].signal.get("text", ""), describe(step)
    assert step.attempts[1].signal.get("recovery"), describe(step)
    assert app.sent == 2, f"the app received {app.sent} messages; {describe(step)}"


def test_busy_twice_in_a_row_then_the_answer(tmp_path, app):
    app.reset(mode="busy", busy_n=2, busy_form="error", lang="en")
    step, _ = run(tmp_path, app)
    assert [a.outcome for a in step.attempts] == ["busy", "busy", "answered"], describe(step)
    assert app.sent == 3


def test_a_reply_that_talks_about_busy_servers_is_an_answer(tmp_path, app):
    app.reset(mode="busy_talk", lang="en")
    step, _ = run(tmp_path, app)
    assert [a.outcome for a in step.attempts] == ["answered"], describe(step)


def test_a_rate_limit_is_named(tmp_path, app):
    app.reset(mode="rate_limit", busy_n=9, busy_form="error", lang="en")
    step, _ = run(tmp_path, app)
    assert step.attempts[0].outcome == "rate_limited", describe(step)


def test_a_chat_that_never_answers_times_out_with_the_reason(tmp_path, app):
    app.reset(mode="never")
    step, _ = run(tmp_path, app, timeout="4s")
    first = step.attempts[0]
    assert first.outcome == "timeout", describe(step)
    assert "no reply within 4 s" in first.signal["summary"]


def test_probe_site_drafts_a_profile_that_runs(tmp_path, app):
    """probe-site waits for the page to render, names composer, send and transport, and its
    draft passes `assistant run` on the same app, busy and answering."""
    from assistant.discover.probe_site import probe_site
    from assistant.discover.site_draft import render

    app.reset(mode="answer")
    probe = asyncio.run(probe_site(app.url, timeout=30))
    text = render(probe)
    assert probe.outcome == "answered", text
    framework = {"gradio": "Gradio", "streamlit": "Streamlit", "chainlit": "Chainlit"}[app.name]
    assert probe.framework == framework, text
    assert probe.stream or probe.socket, text  # the transport: an event stream or a WebSocket
    draft = tmp_path / "draft.yaml"
    draft.write_text(text, encoding="utf-8")
    for mode in ("answer", "busy"):
        app.reset(mode=mode, busy_n=1, busy_form="error", lang="en")
        step, _ = run(tmp_path, app, site=str(draft))
        expected = ["answered"] if mode == "answer" else ["busy", "answered"]
        assert [a.outcome for a in step.attempts] == expected, f"{mode}: {describe(step)}\n{text}"
