"""`assistant probe-site`: a draft profile from one use of a chat, good enough to run with."""

from __future__ import annotations

import dataclasses
import json
import socket

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.discover.site_draft import site_name, stream_path
from assistant.playbook import load_site
from assistant.simulator.settings import Settings

HAS_PLAIN = "skin" in {f.name for f in dataclasses.fields(Settings)}
needs_plain = pytest.mark.skipif(not HAS_PLAIN, reason="the simulator has no plain skin yet")

SMOKE = """
    site: draft.yaml
    steps:
      - open: /
      - send: "Reply with the single word: pong"
      - expect_reply: {contains: pong, timeout: 10s, retry: {max_attempts: 1}}
"""

# What the probe must find on each skin: the controls its DOM contract names.
EXPECTED = {
    "deepseek": {
        "composer": "textarea#chat-input",
        "send": 'div[aria-label="Send"]',
        "reply": "div.message--assistant div.ds-markdown",
        "new_chat": "div.new-chat-button",
        "stream": "/api/v0/chat/completion",
        "image_upload": 'label[aria-label="Upload image"]',
    },
    "plain": {
        "composer": 'textarea[name="prompt"]',
        "send": 'button[aria-label="Submit"]',
        "reply": 'article[data-author="bot"] div.prose',
        "new_chat": "a.start-over",
        "stream": "/backend/conversation",
        "image_upload": 'button[aria-label="Attach image"]',
    },
}
SKINS = [pytest.param("deepseek", id="deepseek-skin"), pytest.param("plain", id="plain-skin", marks=needs_plain)]


def probe(*args: str):
    return CliRunner().invoke(cli, ["probe-site", *args])


@pytest.fixture(scope="module")
def drafts(tmp_path_factory):
    """Probe each skin once per module (the session's simulator keeps its URL); a copy per test."""
    folder, made = tmp_path_factory.mktemp("drafts"), {}

    def draft_for(sim, skin: str, into) -> None:
        if skin not in made:
            made[skin] = folder / f"{skin}.yaml"
            assert probe(sim.url, "--save", str(made[skin]), "--timeout", "20").exit_code == 0
        (into / "draft.yaml").write_bytes(made[skin].read_bytes())

    return draft_for


@pytest.mark.browser
@pytest.mark.parametrize("skin", SKINS)
def test_the_draft_loads_and_a_run_with_it_passes(sim, run_text, tmp_path, skin):
    if HAS_PLAIN:
        sim.configure(skin=skin)
    draft, report, state = tmp_path / "draft.yaml", tmp_path / "probe.json", tmp_path / "state.json"
    state.write_text(json.dumps({"cookies": [], "origins": []}), encoding="utf-8")  # as `assistant login` saves one
    result = probe(sim.url + "/", "--save", str(draft), "--json", str(report), "--timeout", "20", "--storage-state", str(state))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# DRAFT site profile") and "busy_texts" in result.output
    profile = load_site(draft)
    want = EXPECTED[skin]
    assert {k: profile.selectors[k][0] for k in ("composer", "send", "reply", "new_chat")} == {k: want[k] for k in ("composer", "send", "reply", "new_chat")}
    assert profile.stream.paths == (want["stream"],) and profile.busy_texts == {}
    assert profile.features["image_upload"] == (want["image_upload"],)
    found = json.loads(report.read_text(encoding="utf-8"))
    assert found["stream"]["method"] == "POST" and found["stream"]["content_type"] == "text/event-stream"
    assert found["reply"]["text"] == "pong" and found["draft"] == draft.read_text(encoding="utf-8")

    ran = run_text(SMOKE)
    assert ran.result.outcome == "passed", [(s.name, s.detail) for s in ran.result.steps]


@pytest.mark.browser
@pytest.mark.parametrize("skin", SKINS)
@pytest.mark.parametrize("form", ["inline", "row", "toast"])
def test_a_run_with_the_draft_sees_busy_by_its_wording(sim, run_text, tmp_path, drafts, skin, form):
    if HAS_PLAIN:
        sim.configure(skin=skin)
    drafts(sim, skin, tmp_path)
    sim.configure(scenario="always-busy", busy_form=form, lang="zh")
    [attempt] = run_text(SMOKE).step("expect_reply").attempts
    assert attempt.outcome == "busy", attempt.signal
    assert "wording" in attempt.signal["summary"]  # no busy_texts in a draft: the vocabulary decided


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_an_unreachable_url_says_so():
    result = probe(f"http://127.0.0.1:{_closed_port()}/", "--timeout", "10")
    assert result.exit_code == 1
    assert "Could not open" in result.output and "ERR_CONNECTION_REFUSED" in result.output
    assert "reachable from this machine" in result.output


@pytest.mark.browser
def test_a_page_without_a_composer_says_what_was_looked_for(sim):
    result = probe(sim.url + "/api/v2/status.json", "--timeout", "10")
    assert result.exit_code == 1
    assert "No composer found" in result.output and "textarea, contenteditable" in result.output


def test_a_url_without_a_scheme_is_refused():
    result = probe("chat.deepseek.com")
    assert result.exit_code == 2 and "http:// or https://" in result.output


@pytest.mark.parametrize(
    ("url", "name"),
    [("https://chat.deepseek.com/", "deepseek"), ("https://www.example.co/chat", "example"), ("http://127.0.0.1:8765", "127.0.0.1"), ("http://localhost:3000", "localhost")],
)
def test_the_draft_is_named_after_the_host(url, name):
    assert site_name(url) == name


@pytest.mark.parametrize(
    ("path", "kept"),
    [("/api/v0/chat/completion", "/api/v0/chat/completion"), ("/backend/conversation/6f9619ff-8b86-4d01-b42d-00cf4fc964ff/stream", "/backend/conversation/"), ("/c/12345/messages", "/c/")],
)
def test_stream_paths_stop_before_an_id(path, kept):
    assert stream_path(path) == kept
