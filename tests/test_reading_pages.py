"""Reading a chat page that makes it hard, with `site: generic`: shadow roots, iframes, a text
input, labels around messages, a page that locks after an error, a reply that never ends,
an empty reply, a client that aborts its own finished stream, a dialog over the composer.

The pages are fixtures/pages/*.html, served with a small event stream (`POST /stream`) by
a standard-library HTTP server on loopback.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.events import Emitter
from assistant.playbook import load_playbook
from assistant.runner import Runner
from assistant.timing.clock import Clock
from tests.conftest import TEST_TIME_SCALE, write_playbook

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
pytestmark = pytest.mark.browser


class Handler(SimpleHTTPRequestHandler):
    def do_POST(self):  # an event stream of three words, then it stays open a while
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for word in ("pong, ", "as you ", "asked."):
                self.wfile.write(f"data: {word}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.05)
            time.sleep(2)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page aborted the stream, as it should

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pages():
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(PAGES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(tmp_path, base: str, page: str, *, steps: str | None = None, timeout: str = "5s"):
    steps = steps or f"""
      - open: /{page}
      - send: "Reply with the single word: pong"
      - expect_reply: {{contains: pong, timeout: {timeout}, retry: {{schedule: [5s, 10s]}}}}
    """
    path = write_playbook(tmp_path, "site: generic\nsteps:\n" + "\n".join(line[4:] for line in steps.strip("\n").splitlines()) + "\n")
    playbook = load_playbook(path, url=base)
    runner = Runner(playbook, emit=Emitter(lambda e: None), clock=Clock(TEST_TIME_SCALE), artifacts_dir=tmp_path / "artifacts")
    return asyncio.run(runner.run())


def reply_step(result):
    return next(s for s in result.steps if s.name == "expect_reply")


def outcomes(result) -> list[str]:
    return [a.outcome for a in reply_step(result).attempts]


def signals(result) -> str:
    return " | ".join(f"{a.outcome}: {a.signal.get('summary')} [{a.signal.get('recovery', '')}]" for a in reply_step(result).attempts)


@pytest.mark.parametrize(
    "page",
    [
        pytest.param("chat.html", id="plain"),
        pytest.param("chat.html?input=text", id="text-input"),
        pytest.param("chat.html?shadow=1", id="nested-shadow-roots"),
        pytest.param("chat.html?shadow=1&input=text", id="shadow-text-input"),
        pytest.param("frame.html", id="same-origin-iframe"),
        pytest.param("chat.html?labels=1", id="labels-avatar-time-copy"),
        pytest.param("chat.html?abort=1", id="client-aborts-its-finished-stream"),
    ],
)
def test_the_answer_is_read_and_nothing_else(tmp_path, pages, page):
    result = run(tmp_path, pages, page)
    assert outcomes(result) == ["answered"], signals(result)
    assert reply_step(result).attempts[0].signal["text"] == "pong, as you asked."


@pytest.mark.parametrize(
    ("page", "where"),
    [
        pytest.param("chat.html?busy=1", "reply bubble", id="bubble"),
        pytest.param("chat.html?busy=1&form=toast", "toast", id="toast"),
        pytest.param("chat.html?busy=1&shadow=1", "reply bubble", id="bubble-in-shadow-roots"),
        pytest.param("chat.html?busy=1&shadow=1&form=toast", "toast", id="toast-in-shadow-root"),
        pytest.param("frame.html?busy=1&form=toast", "toast", id="toast-in-iframe"),
        pytest.param("chat.html?busy=1&labels=1", "reply bubble", id="bubble-with-bot-label"),
    ],
)
def test_busy_is_seen_then_the_answer(tmp_path, pages, page, where):
    result = run(tmp_path, pages, page)
    assert outcomes(result) == ["busy", "answered"], signals(result)
    first = reply_step(result).attempts[0].signal
    assert first["where"] == where and first["text"].strip().endswith("Server busy, please try again later."), first


def test_a_page_that_locks_after_an_error_is_reloaded_before_asking_again(tmp_path, pages):
    result = run(tmp_path, pages, "chat.html?busy=1&lock=1&form=toast")
    assert outcomes(result) == ["busy", "answered"], signals(result)
    assert "reloaded the page" in reply_step(result).attempts[1].signal["recovery"]


def test_a_reply_that_never_ends_times_out_and_is_stopped_before_asking_again(tmp_path, pages):
    result = run(tmp_path, pages, "chat.html?never=1", timeout="1s")
    attempts = reply_step(result).attempts
    assert [a.outcome for a in attempts] == ["timeout"] * 3, signals(result)
    assert "still generating" in attempts[0].signal["summary"]
    assert "Stop" not in (attempts[0].signal.get("text") or "")  # the Stop tooltip is not "the answer"
    assert "stopped the reply still generating" in attempts[1].signal["recovery"]


def test_an_empty_reply_that_the_page_finishes_is_an_error_at_once(tmp_path, pages):
    result = run(tmp_path, pages, "chat.html?empty=1", timeout="20s")
    first = reply_step(result).attempts[0]
    assert first.outcome == "error" and "empty" in first.signal["summary"], signals(result)
    assert first.duration_s < 5, first.duration_s  # not the whole 20 s timeout


def test_a_dialog_over_the_composer_is_named_and_a_click_step_closes_it(tmp_path, pages):
    blocked = run(tmp_path, pages, "chat.html?dialog=1", steps="""
      - open: /chat.html?dialog=1
      - send: {text: "Reply with the single word: pong", timeout: 1s}
    """)
    opened, sent = blocked.steps[0], blocked.steps[1]
    assert "a dialog is open over the page" in opened.detail and "'Got it'" in opened.detail, opened.detail
    assert sent.outcome == "failed" and "dialog" in sent.detail, sent.detail
    cleared = run(tmp_path, pages, "", steps="""
      - open: /chat.html?dialog=1
      - click: {role: button, text: Got it}
      - send: "Reply with the single word: pong"
      - expect_reply: {contains: pong, timeout: 5s}
    """)
    assert cleared.outcome == "passed", [(s.name, s.outcome, s.detail) for s in cleared.steps]
