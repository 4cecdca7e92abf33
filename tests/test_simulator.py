"""The simulator's wire formats, counters and errors, over real HTTP (no browser).

One simulator serves the whole module; each test reconfigures it, which also resets
the counters, so tests stay independent and the suite runs in about a second.
"""

from __future__ import annotations

import asyncio
import http.cookies
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from assistant.errors import EnvironmentProblem
from assistant.simulator import (
    BUSY_FORMS,
    LANGS,
    MARKUPS,
    SCENARIOS,
    STREAM_PATHS,
    Simulator,
    serve,
    texts,
)
from assistant.simulator.settings import Settings
from assistant.simulator.wire import answer_for

FAST = {"heartbeats": 2, "heartbeat_interval": 0.005, "chunk_delay": 0.0}
AUTH = {"Authorization": "Bearer sk-test"}


@pytest.fixture(scope="module")
def server():
    with Simulator(**FAST) as sim:
        yield sim


@pytest.fixture
def sim(server):
    """The module's simulator, back to default settings (fast) with zeroed counters."""
    return server.configure(**{**Settings().as_dict(), **FAST})


# -- HTTP helpers ---------------------------------------------------------------------


def request(sim, path, body=None, headers=None, method=None):
    """(status, headers, body text) for one request; HTTP errors are answers too."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        sim.url + path,
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method or ("POST" if data is not None else "GET"),
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def complete(sim, prompt="hello", chat="chat-1"):
    body = {"chat_session_id": chat, "prompt": prompt, "parent_message_id": None}
    return request(sim, "/api/v0/chat/completion", body)


def frames(text):
    """SSE text -> list of (event, data) with data JSON-decoded; heartbeats as ("heartbeat", None)."""
    out = []
    for block in text.split("\n\n"):
        if not block:
            continue
        if block == ": " or block.startswith(":"):
            out.append(("heartbeat", None))
            continue
        event, data = "message", None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            elif field == "data":
                data = value if value == "[DONE]" else json.loads(value)
        out.append((event, data))
    return out


def reply_text(parsed):
    return "".join(d["v"] for e, d in parsed if e == "message")


# -- web completion endpoint ----------------------------------------------------------


def test_healthy_turn_streams_ready_chunks_finish_close(sim):
    status, headers, text = complete(sim, "Echo: hello, streaming world")
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    parsed = frames(text)
    assert parsed[0] == ("ready", {"request_message_id": 1, "response_message_id": 2})
    chunks = [d["v"] for e, d in parsed if e == "message"]
    assert len(chunks) > 3 and all(0 < len(c) <= 4 for c in chunks)
    assert "".join(chunks) == "hello, streaming world"
    assert parsed[-2:] == [
        ("finish", {}),
        ("close", {"click_behavior": "none", "auto_resume": False}),
    ]


BUSY_CASES = [
    pytest.param(
        form,
        lang,
        (texts.BUSY_INLINE if form == "inline" else texts.BUSY_ROW)[lang],
        id=f"{form}-{lang}",
    )
    for form in BUSY_FORMS
    for lang in LANGS
]


@pytest.mark.parametrize("form, lang, text", BUSY_CASES)
def test_busy_turn_is_heartbeats_then_error_hint(sim, form, lang, text):
    sim.configure(scenario="always-busy", busy_form=form, lang=lang, heartbeats=3)
    status, _, body = complete(sim)
    assert status == 200
    assert body.startswith(": \n\n: \n\n: \n\nevent: hint\n")
    assert frames(body) == [("heartbeat", None)] * 3 + [
        (
            "hint",
            {
                "type": "error",
                "content": text,
                "clear_response": True,
                "finish_reason": "generation_timeout",
            },
        ),
        ("close", {"click_behavior": "retry", "auto_resume": False}),
    ]


@pytest.mark.parametrize(
    "scenario, expected",
    [
        pytest.param("stream-stall", [("heartbeat", None)] * 2, id="stall-heartbeats-only"),
        pytest.param("healthy", None, id="healthy-finishes"),
    ],
)
def test_stream_stall_closes_without_data_or_hint(sim, scenario, expected):
    sim.configure(scenario=scenario)
    _, _, body = complete(sim)
    if expected is None:
        assert frames(body)[-2][0] == "finish"
    else:
        assert frames(body) == expected


def test_stream_truncated_sends_part_of_the_answer_and_no_finish(sim):
    sim.configure(scenario="stream-truncated")
    parsed = frames(complete(sim, "Echo: " + "x" * 40)[2])
    assert parsed[0][0] == "ready"
    assert 0 < len(reply_text(parsed)) < 40
    assert all(e in ("ready", "message") for e, _ in parsed)


def test_busy_twice_fails_exactly_twice(sim):
    sim.configure(scenario="busy-twice")
    outcomes = [frames(complete(sim, "single word: pong")[2])[-2][0] for _ in range(4)]
    assert outcomes == ["hint", "hint", "finish", "finish"]
    assert sim.completions == 4


@pytest.mark.parametrize("long_after", [2, 3])
def test_long_conversation_is_fixed_by_a_new_chat(sim, long_after):
    sim.configure(scenario="long-conversation", long_after=long_after)
    first_chat = [frames(complete(sim, chat="a")[2])[-2][0] for _ in range(long_after + 2)]
    assert first_chat == ["finish"] * long_after + ["hint", "hint"]
    assert frames(complete(sim, chat="b")[2])[-2][0] == "finish"


# -- browser-state scenarios over HTTP (tests/test_simulator_state_scenarios.py drives Chromium)


def bundle_build(sim, headers=None):
    """(build id, Cache-Control) of one request for the page's script bundle."""
    status, got, body = request(sim, "/static/bundle.js", headers=headers)
    assert status == 200 and got["Content-Type"].startswith("text/javascript")
    head = body.split("\n", 1)[0]
    assert head.startswith("window.simBuild = ")
    build = json.loads(head.removeprefix("window.simBuild = ").rstrip(";"))
    return build["id"], got["Cache-Control"]


@pytest.mark.parametrize(
    "scenario, builds",
    [
        pytest.param("stale-cache", ["2025.01-old", "2025.02", "2025.02"], id="stale-cache"),
        pytest.param("healthy", ["2025.02"] * 3, id="healthy"),
        pytest.param("bad-cookie", ["2025.02"] * 3, id="bad-cookie"),
    ],
)
def test_bundle_is_cacheable_and_only_stale_cache_serves_the_old_build_once(sim, scenario, builds):
    sim.configure(scenario=scenario)
    got = [bundle_build(sim) for _ in builds]
    assert [build for build, _ in got] == builds
    assert {cache for _, cache in got} == {"public, max-age=86400"}  # and no no-store
    assert sim.state()["counters"]["bundles"] == 3


def test_the_old_builds_endpoint_is_gone(sim):
    body = {"chat_session_id": "a", "prompt": "hi", "parent_message_id": None}
    status, headers, body = request(sim, "/api/v0/chat/completion_v1", body)
    assert status == 410 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["code"] == 410
    assert sim.completions == 0  # not the current endpoint


BROWSER = "v-00000000000000b1"  # one browser session (its sim_visitor cookie or cached page's ETag)


def session_set_by(sim, cookie=None, visitor=BROWSER, cleared=False):
    """The ds_session value a page load sets (None: it sets none), sending `cookie` if given,
    as browser session `visitor` (`cleared`: its cookies are gone, its cache names it)."""
    cookies = [f"ds_session={cookie}"] if cookie else []
    headers = {"If-None-Match": f'"{visitor}"'} if cleared else {}
    if visitor and not cleared:
        cookies.append(f"sim_visitor={visitor}")
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    jar = http.cookies.SimpleCookie()
    for line in request(sim, "/", headers=headers)[1].get_all("Set-Cookie") or []:
        jar.load(line)
    return jar["ds_session"].value if "ds_session" in jar else None


def test_bad_cookie_corrupts_the_first_page_loads_session(sim):
    sim.configure(scenario="bad-cookie")
    good = "sim-" + "0" * 32
    corrupt = session_set_by(sim, good)  # the first load overwrites even a good session
    assert corrupt.startswith("corrupt%00")
    assert session_set_by(sim, corrupt) is None  # a reload keeps the corrupt one
    fresh = session_set_by(sim, cleared=True)  # after cookies are cleared: a new, valid one
    assert fresh.startswith("sim-") and fresh != good
    assert session_set_by(sim, fresh) is None
    # Another browser profile is another session: it meets the fault again.
    assert session_set_by(sim, visitor="v-00000000000000b2").startswith("corrupt%00")


@pytest.mark.parametrize("scenario", ["healthy", "stale-cache", "long-conversation"])
def test_other_scenarios_only_hand_out_valid_sessions(sim, scenario):
    sim.configure(scenario=scenario)
    assert session_set_by(sim).startswith("sim-")
    assert session_set_by(sim, "sim-" + "0" * 32) is None


@pytest.mark.parametrize(
    "scenario, cookie, event",
    [
        pytest.param("bad-cookie", "corrupt%00%ff%fe", "hint", id="corrupt-is-busy"),
        pytest.param("bad-cookie", "sim-" + "0" * 32, "finish", id="valid-answers"),
        pytest.param("bad-cookie", None, "finish", id="none-answers"),
        pytest.param("healthy", "corrupt%00%ff%fe", "finish", id="only-in-bad-cookie"),
    ],
)
def test_bad_cookie_makes_sends_with_a_corrupt_session_busy(sim, scenario, cookie, event):
    sim.configure(scenario=scenario)
    headers = {"Cookie": f"ds_session={cookie}"} if cookie else None
    body = {"chat_session_id": "a", "prompt": "hi", "parent_message_id": None}
    assert frames(request(sim, "/api/v0/chat/completion", body, headers)[2])[-2][0] == event


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "form, busy",
    [
        pytest.param("inline", texts.BUSY_INLINE, id="inline"),
        pytest.param("row", texts.BUSY_ROW, id="row"),
    ],
)
def test_http_503_body_carries_the_busy_text(sim, form, busy, lang):
    sim.configure(scenario="http-503", busy_form=form, lang=lang)
    status, headers, body = complete(sim)
    assert status == 503
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"code": 503, "msg": busy[lang], "data": None}


@pytest.mark.parametrize(
    "retry_after, header",
    [
        pytest.param("7", "7", id="default"),
        pytest.param(30, "30", id="int-setting"),
        pytest.param(None, None, id="no-header"),
    ],
)
def test_rate_limit_is_429_with_retry_after(sim, retry_after, header):
    sim.configure(scenario="rate-limit", lang="zh", retry_after=retry_after)
    status, headers, body = complete(sim)
    assert status == 429
    assert headers.get("Retry-After") == header
    assert json.loads(body) == {"code": 429, "msg": texts.RATE_LIMIT["zh"], "data": None}


@pytest.mark.parametrize(
    "prompt, answer",
    [
        pytest.param("Echo: a  b ", "a  b ", id="echo-verbatim"),
        pytest.param("Reply with the single word: pong", "pong", id="single-word"),
        pytest.param("Reply with the single word: pong.", "pong", id="single-word-punct"),
        pytest.param("请只回复 single word: 你好。", "你好", id="single-word-fullwidth"),
        pytest.param("hi there", texts.DEFAULT_ANSWER_PREFIX + "hi there", id="default"),
    ],
)
def test_answer_text(prompt, answer):
    assert answer_for(prompt) == answer


def test_create_session_returns_a_uuid_in_the_biz_envelope(sim):
    status, _, body = request(sim, "/api/v0/chat_session/create", {})
    data = json.loads(body)
    assert status == 200
    assert {k: data[k] for k in ("code", "msg")} == {"code": 0, "msg": ""}
    assert data["data"]["biz_code"] == 0
    uuid.UUID(data["data"]["biz_data"]["id"], version=4)


# -- OpenAI-compatible API ------------------------------------------------------------

CHAT = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "single word: pong"}]}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
        pytest.param({"Authorization": "sk-test"}, id="not-bearer"),
    ],
)
def test_api_without_a_key_is_401(sim, headers):
    status, _, body = request(sim, "/v1/chat/completions", CHAT, headers)
    assert status == 401
    assert json.loads(body) == {
        "error": {
            "message": "Authentication Fails (no such user)",
            "type": "authentication_error",
            "param": None,
            "code": "invalid_request_error",
        }
    }


def test_api_models(sim):
    status, _, body = request(sim, "/v1/models", headers=AUTH)
    data = json.loads(body)
    assert status == 200 and data["object"] == "list"
    assert [m["id"] for m in data["data"]] == ["deepseek-chat", "deepseek-reasoner"]


@pytest.mark.parametrize(
    "scenario", ["healthy", "stream-stall", "long-conversation", "stale-cache", "bad-cookie"]
)
def test_api_completion_answers(sim, scenario):
    sim.configure(scenario=scenario)
    status, _, body = request(sim, "/v1/chat/completions", CHAT, AUTH)
    data = json.loads(body)
    assert status == 200
    assert data["object"] == "chat.completion" and data["model"] == "deepseek-chat"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "pong"}
    assert data["choices"][0]["finish_reason"] == "stop"
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_api_stream_ends_with_done(sim):
    status, headers, body = request(sim, "/v1/chat/completions", {**CHAT, "stream": True}, AUTH)
    parsed = frames(body)
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    assert parsed[-1] == ("message", "[DONE]")
    chunks = [d for _, d in parsed[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "pong"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_api_stream_stall_sends_keep_alives_and_no_done(sim):
    sim.configure(scenario="stream-stall")
    _, _, body = request(sim, "/v1/chat/completions", {**CHAT, "stream": True}, AUTH)
    assert body == ": keep-alive\n\n" * 2


OVERLOADED = {
    "error": {
        "message": "Server Overloaded",
        "type": "server_error",
        "param": None,
        "code": "server_overloaded",
    }
}
RATE_LIMITED = {
    "error": {
        "message": "Rate Limit Reached",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


@pytest.mark.parametrize(
    "scenario, status, error, retry_after",
    [
        pytest.param("always-busy", 503, OVERLOADED, None, id="always-busy"),
        pytest.param("http-503", 503, OVERLOADED, None, id="http-503"),
        pytest.param("busy-twice", 503, OVERLOADED, None, id="busy-twice-first"),
        pytest.param("rate-limit", 429, RATE_LIMITED, "7", id="rate-limit"),
    ],
)
def test_api_errors_are_openai_shaped(sim, scenario, status, error, retry_after):
    sim.configure(scenario=scenario)
    got, headers, body = request(sim, "/v1/chat/completions", CHAT, AUTH)
    assert (got, json.loads(body)) == (status, error)
    assert headers.get("Retry-After") == retry_after


def test_api_busy_counter_is_separate_from_the_web_counter(sim):
    sim.configure(scenario="busy-twice")
    codes = [request(sim, "/v1/chat/completions", CHAT, AUTH)[0] for _ in range(3)]
    assert codes == [503, 503, 200]
    assert (sim.api_completions, sim.completions) == (3, 0)
    # The web still has its own two busy turns to give.
    assert frames(complete(sim)[2])[-2][0] == "hint"


def test_api_rejects_malformed_requests(sim):
    status, _, body = request(sim, "/v1/chat/completions", {"model": "deepseek-chat"}, AUTH)
    assert status == 400 and json.loads(body)["error"]["message"] == "Invalid Format"


def _error_body(message, type_, code):
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@pytest.mark.parametrize(
    "code, body",
    [
        pytest.param(
            400,
            _error_body("Invalid Format", "invalid_request_error", "invalid_request_error"),
            id="400",
        ),
        pytest.param(
            401,
            _error_body(
                "Authentication Fails (no such user)",
                "authentication_error",
                "invalid_request_error",
            ),
            id="401",
        ),
        pytest.param(
            402,
            _error_body("Insufficient Balance", "unknown_error", "invalid_request_error"),
            id="402",
        ),
        pytest.param(
            422,
            _error_body("Invalid Parameters", "invalid_request_error", "invalid_request_error"),
            id="422",
        ),
        pytest.param(429, RATE_LIMITED, id="429"),
        pytest.param(500, _error_body("Server Error", "server_error", "server_error"), id="500"),
        pytest.param(503, OVERLOADED, id="503"),
        pytest.param(
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            id="529-anthropic",
        ),
    ],
)
def test_api_status_setting_stages_each_error(sim, code, body):
    sim.configure(api_status=code, scenario="healthy")
    got, headers, text = request(sim, "/v1/chat/completions", CHAT, AUTH)
    data = json.loads(text)
    data.pop("request_id", None)  # Anthropic's, different each time
    assert (got, data) == (code, body)
    assert headers.get("Retry-After") == ("7" if code == 429 else None)
    # A staged 401 is a bad key: /models refuses it too; other errors leave /models alone.
    assert request(sim, "/v1/models", headers=AUTH)[0] == (401 if code == 401 else 200)


def test_api_status_429_without_retry_after(sim):
    sim.configure(api_status=429, retry_after="")
    assert "Retry-After" not in request(sim, "/v1/chat/completions", CHAT, AUTH)[1]


def test_api_queued_plain_request_gets_empty_lines_then_the_answer(sim):
    sim.configure(api_queued=0.05)
    status, _, body = request(sim, "/v1/chat/completions", CHAT, AUTH)
    head, _, rest = body.partition("{")
    assert status == 200 and head and set(head) == {"\n"}
    assert json.loads("{" + rest)["choices"][0]["message"]["content"] == "pong"


def test_api_queued_stream_gets_keep_alives_then_the_answer(sim):
    sim.configure(api_queued=0.05)
    _, _, body = request(sim, "/v1/chat/completions", {**CHAT, "stream": True}, AUTH)
    parsed = frames(body)
    beats = [e for e, _ in parsed].index("message")
    assert beats >= 1 and body.startswith(": keep-alive\n\n" * beats)
    assert parsed[-1] == ("message", "[DONE]")


@pytest.mark.parametrize(
    "extra, settings, content, finish",
    [
        pytest.param({"max_tokens": 1}, {}, "Echo", "length", id="max-tokens"),
        pytest.param(
            {},
            {"api_finish_reason": "insufficient_system_resource"},
            "Echo: he",
            "insufficient_system_resource",
            id="out-of-resources",
        ),
    ],
)
def test_api_answer_cut_short(sim, extra, settings, content, finish):
    sim.configure(**settings)
    prompt = {
        "model": "deepseek-chat",
        "messages": [{"role": "user", "content": "Echo: Echo: hello there"}],
    }
    data = json.loads(request(sim, "/v1/chat/completions", {**prompt, **extra}, AUTH)[2])
    assert data["choices"][0]["message"]["content"] == content
    assert data["choices"][0]["finish_reason"] == finish


# -- status page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, description, component_status, incidents",
    [
        pytest.param("none", "All Systems Operational", "operational", 0, id="none"),
        pytest.param("minor", "Partially Degraded Service", "degraded_performance", 1, id="minor"),
        pytest.param("major", "Partial System Outage", "partial_outage", 1, id="major"),
        pytest.param("critical", "Major System Outage", "major_outage", 1, id="critical"),
    ],
)
def test_status_page(sim, level, description, component_status, incidents):
    sim.configure(status=level)
    status = json.loads(request(sim, "/api/v2/status.json")[2])
    summary = json.loads(request(sim, "/api/v2/summary.json")[2])
    for doc in (status, summary):
        assert doc["status"] == {"indicator": level, "description": description}
        assert doc["page"]["name"] == "Simulated Chat Service"
        assert doc["page"]["time_zone"] == "Asia/Shanghai"
        assert doc["page"]["url"] == sim.url
        assert set(doc["page"]) == {"id", "name", "url", "time_zone", "updated_at"}
    assert [(c["name"], c["status"]) for c in summary["components"]] == [
        ("API 服务 (API Service)", component_status),
        ("网页对话服务 (Web Chat Service)", component_status),
    ]
    assert len(summary["incidents"]) == incidents
    assert summary["scheduled_maintenances"] == []


def test_status_page_stages_components_incident_and_maintenance(sim):
    sim.configure(
        component_api="degraded_performance",
        incident="Elevated error rates",
        incident_impact="major",
        incident_status="monitoring",
        maintenance="Database upgrade",
        maintenance_status="scheduled",
    )
    summary = json.loads(request(sim, "/api/v2/summary.json")[2])
    assert summary["status"]["indicator"] == "none"  # staged exactly, nothing derived
    assert [c["status"] for c in summary["components"]] == ["degraded_performance", "operational"]
    [incident] = summary["incidents"]
    assert (incident["name"], incident["impact"], incident["status"]) == (
        "Elevated error rates",
        "major",
        "monitoring",
    )
    assert incident["incident_updates"][0]["body"].startswith("A fix has been implemented")
    [maintenance] = summary["scheduled_maintenances"]
    assert (maintenance["name"], maintenance["status"], maintenance["impact"]) == (
        "Database upgrade",
        "scheduled",
        "maintenance",
    )
    assert maintenance["scheduled_for"] < maintenance["scheduled_until"]


@pytest.mark.parametrize(
    "fault, path, status, kind",
    [
        pytest.param("cloudflare", "/api/v2/status.json", 403, "text/html", id="cloudflare"),
        pytest.param("no-summary", "/api/v2/summary.json", 404, "text/plain", id="no-summary"),
        pytest.param(
            "no-summary", "/api/v2/status.json", 200, "application/json", id="no-summary-status"
        ),
    ],
)
def test_status_faults(sim, fault, path, status, kind):
    sim.configure(status_fault=fault)
    got, headers, body = request(sim, path)
    assert (got, headers["Content-Type"].split(";")[0]) == (status, kind)
    assert ("<title>Just a moment...</title>" in body) == (fault == "cloudflare")


def test_busy_scenarios_keep_the_status_page_green(sim):
    sim.configure(scenario="always-busy")
    assert json.loads(request(sim, "/api/v2/status.json")[2])["status"]["indicator"] == "none"


# -- settings, control endpoints, lifecycle -------------------------------------------


def test_configure_resets_counters(sim):
    sim.configure(scenario="busy-twice")
    complete(sim)
    request(sim, "/v1/chat/completions", CHAT, AUTH)
    assert (sim.completions, sim.api_completions) == (1, 1)
    sim.configure(scenario="busy-twice")
    assert (sim.completions, sim.api_completions) == (0, 0)
    assert frames(complete(sim)[2])[-2][0] == "hint"  # busy-twice starts over


def test_control_endpoints(sim):
    status, _, body = request(sim, "/__sim/config", {"scenario": "always-busy", "lang": "zh"})
    assert status == 200
    state = json.loads(body)
    assert state["settings"]["scenario"] == "always-busy" and state["settings"]["lang"] == "zh"
    complete(sim)
    state = json.loads(request(sim, "/__sim/state")[2])
    assert state["counters"]["completions"] == 1 == sim.completions
    status, _, body = request(sim, "/__sim/config", {"scenario": "nope"})
    assert status == 400 and "healthy" in json.loads(body)["error"]
    assert sim.settings.scenario == "always-busy"  # a bad change changes nothing


@pytest.mark.parametrize(
    "kwargs, listed",
    [
        pytest.param({"scenario": "sometimes-busy"}, list(SCENARIOS), id="scenario"),
        pytest.param({"busy_form": "banner"}, list(BUSY_FORMS), id="busy-form"),
        pytest.param({"lang": "fr"}, list(LANGS), id="lang"),
        pytest.param({"status": "amber"}, ["none", "minor", "major", "critical"], id="status"),
        pytest.param(
            {"component_web": "down"}, ["operational", "under_maintenance"], id="component"
        ),
        pytest.param(
            {"maintenance_status": "completed"}, ["scheduled", "in_progress"], id="maintenance"
        ),
        pytest.param({"api_status": 404}, ["401", "503", "529"], id="api-status"),
        pytest.param({"api_queued": -1}, ["api_queued"], id="api-queued"),
        pytest.param({"long_after": -1}, ["long_after"], id="long-after"),
        pytest.param({"skin": "chatgpt"}, ["deepseek", "plain"], id="skin"),
        pytest.param({"hide_features": ["voice"]}, ["image_upload"], id="hide-features"),
        pytest.param({"hide_features": 3}, ["hide_features"], id="hide-features-not-a-list"),
        pytest.param({"api_healthy": "yes"}, ["api_healthy"], id="api-healthy"),
        pytest.param({"markup": "2027"}, list(MARKUPS), id="markup"),
        pytest.param({"stream_path": "/api/v2/chat"}, list(STREAM_PATHS), id="stream-path"),
        pytest.param({"hidden_busy_row": "blur"}, ["display-none", "opacity-0"], id="hidden-busy-row"),
        pytest.param({"colour": "red"}, ["scenario", "busy_form", "lang"], id="unknown-setting"),
    ],
)
def test_bad_settings_are_value_errors_listing_the_valid_ones(kwargs, listed):
    with pytest.raises(ValueError) as info:
        Simulator(**kwargs)
    assert all(name in str(info.value) for name in listed)


def test_configure_rejects_bad_settings(sim):
    with pytest.raises(ValueError, match="always-busy"):
        sim.configure(scenario="busy-forever")


def test_port_taken_is_an_environment_problem():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(EnvironmentProblem) as info:
            Simulator(port=port).start()
    assert str(port) in info.value.message and "--port" in info.value.message
    assert "\n" not in info.value.message


def test_non_loopback_host_is_refused():
    with pytest.raises(ValueError, match="loopback"):
        Simulator(host="0.0.0.0")


def test_stop_is_idempotent_and_url_needs_start():
    sim = Simulator()
    with pytest.raises(RuntimeError):
        sim.url  # noqa: B018
    sim.start()
    assert sim.start() is sim  # a second start is a no-op
    sim.stop()
    sim.stop()


def test_serve_runs_in_the_callers_loop_until_cancelled():
    async def main():
        ready = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            serve("127.0.0.1", 0, on_ready=ready.set_result, scenario="http-503")
        )
        url = await asyncio.wait_for(ready, 5)
        status = await asyncio.to_thread(_status_of, url + "/api/v0/chat/completion")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return status

    assert asyncio.run(main()) == 503


def _status_of(url):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=5).status
    except urllib.error.HTTPError as err:
        return err.code


# -- the page -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/", f"/a/chat/s/{uuid.uuid4()}"])
def test_page_carries_the_language(sim, lang, path):
    sim.configure(lang=lang)
    status, headers, html = request(sim, path)
    assert status == 200
    assert headers["Cache-Control"] == "no-cache"  # stored, but asked for again on every load
    assert f'<html lang="{lang}">' in html
    assert f'placeholder="{texts.PLACEHOLDER[lang]}"' in html
    assert texts.NEW_CHAT[lang] in html
    for fragment in (
        'id="chat-input"',
        'aria-label="Send"',
        'class="chat-messages"',
        'accept="image/*"',
    ):
        assert fragment in html


@pytest.mark.parametrize("name", ["chat.js", "chat.css", "bundle.js"])
def test_static_files_are_served(sim, name):
    status, _, body = request(sim, f"/static/{name}")
    assert status == 200 and len(body) > 100


# -- the 2026 markup and a moved stream path (tests/test_deepseek_2026.py drives Chromium) ----


def page_config(html):
    """The settings a page load carries to its script (the sim-config JSON)."""
    start = html.index('<script id="sim-config" type="application/json">') + 48
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.parametrize("lang", LANGS)
def test_the_2026_page_has_the_live_sites_hooks_and_not_the_2025_ones(sim, lang):
    sim.configure(markup="2026", lang=lang, busy_form="toast")
    html = request(sim, "/")[2]
    assert 'class="ds-virtual-list-visible-items"' in html
    assert f'<textarea class="_27c9245" rows="2" placeholder="{texts.PLACEHOLDER[lang]}">' in html
    assert 'role="button" tabindex="0" aria-disabled="true"' in html and texts.NEW_CHAT[lang] in html
    for only_2025 in ("chat-input", "chat-messages", 'aria-label="Send"', "ds-markdown--block"):
        assert only_2025 not in html
    config = page_config(html)
    assert config["markup"] == "2026" and config["busyForm"] == "row"  # 2026 knows only its row
    assert config["texts"]["busy"] == texts.BUSY_ROW[lang]
    assert (config["texts"]["retry"], config["texts"]["copy"]) == ("重试", "复制")


@pytest.mark.parametrize("lang", LANGS)
def test_the_2026_busy_hint_carries_the_2026_text_whatever_the_busy_form(sim, lang):
    sim.configure(markup="2026", scenario="always-busy", busy_form="inline", lang=lang)
    hint = dict(frames(complete(sim)[2]))["hint"]
    assert hint["content"] == texts.BUSY_ROW[lang]
    sim.configure(markup="2026", scenario="http-503", busy_form="inline", lang=lang)
    assert json.loads(complete(sim)[2])["msg"] == texts.BUSY_ROW[lang]


@pytest.mark.parametrize("path", STREAM_PATHS[1:])
def test_the_stream_path_setting_moves_the_stream(sim, path):
    sim.configure(stream_path=path)
    body = {"chat_session_id": "a", "prompt": "single word: pong", "parent_message_id": None}
    status, headers, text = request(sim, path, body)
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    assert reply_text(frames(text)) == "pong"
    status, _, text = complete(sim)  # the usual path is gone meanwhile, and not counted
    assert status == 404 and json.loads(text)["code"] == 404
    assert sim.completions == 1
    # The page loads a bundle built against the new path, at its own URL, so a bundle
    # the browser cached for the old path is not reused.
    src = f"/static/bundle.js?stream={urllib.parse.quote(path, safe='')}"
    assert f'<script src="{src}" defer>' in request(sim, "/")[2]
    head = request(sim, src)[2].split("\n", 1)[0]
    assert json.loads(head.removeprefix("window.simBuild = ").rstrip(";"))["completion"] == path


def test_the_default_stream_path_is_the_real_sites(sim):
    assert sim.settings.stream_path == "/api/v0/chat/completion" == STREAM_PATHS[0]
    assert '<script src="/static/bundle.js" defer>' in request(sim, "/")[2]
    for path in STREAM_PATHS[1:]:
        assert request(sim, path, {"prompt": "hi"})[0] == 404
    assert sim.completions == 0


@pytest.mark.parametrize("markup", MARKUPS)
def test_hidden_busy_row_reaches_the_page(sim, markup):
    sim.configure(markup=markup, hidden_busy_row="visibility-hidden")
    assert page_config(request(sim, "/")[2])["hiddenBusyRow"] == "visibility: hidden"
    sim.configure(markup=markup, hidden_busy_row="")  # "" from a command line: none
    assert sim.settings.hidden_busy_row is None
    assert page_config(request(sim, "/")[2])["hiddenBusyRow"] is None


def test_markup_accepts_a_number(sim):
    assert sim.configure(markup=2026).settings.markup == "2026"


# -- the plain skin (tests/test_second_skin.py drives it through the tool in Chromium) ----


def converse(sim, prompt="hello", conversation=None, headers=None):
    """(status, headers, body) of one send to the plain skin's endpoint."""
    body = {
        "action": "next",
        "conversation_id": conversation,
        "messages": [{"role": "user", "content": prompt}],
    }
    return request(sim, "/backend/conversation", body, headers)


def plain_text(parsed):
    return "".join(
        d["choices"][0]["delta"].get("content", "")
        for e, d in parsed
        if isinstance(d, dict) and "choices" in d
    )


def test_plain_answer_is_openai_like_chunks_then_done(sim):
    status, headers, text = converse(sim, "Echo: hello, plain world")
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    uuid.UUID(headers["X-Conversation-Id"], version=4)  # the server names a new conversation
    assert text.startswith('data: {"choices":[{"delta":{"content":"hell"}}]}\n\n')
    parsed = frames(text)
    assert plain_text(parsed) == "hello, plain world"
    assert parsed[-2:] == [
        ("message", {"choices": [{"delta": {}, "finish_reason": "stop"}]}),
        ("message", "[DONE]"),
    ]
    assert {e for e, _ in parsed} == {"message"}  # no named events, unlike the DeepSeek skin


@pytest.mark.parametrize("form", BUSY_FORMS)
@pytest.mark.parametrize("lang", LANGS)
def test_plain_busy_is_pings_then_an_error_frame(sim, form, lang):
    sim.configure(scenario="always-busy", busy_form=form, lang=lang, heartbeats=3)
    status, _, text = converse(sim)
    error = {"error": {"message": texts.PLAIN_BUSY[lang], "type": "overloaded_error"}}
    assert status == 200
    assert (
        text
        == ": ping\n\n" * 3
        + "data: "
        + json.dumps(error, ensure_ascii=False, separators=(",", ":"))
        + "\n\n"
    )


@pytest.mark.parametrize(
    "scenario, expected",
    [
        pytest.param("stream-stall", ": ping\n\n" * 2, id="stall-only-pings"),
        pytest.param("stream-truncated", None, id="truncated-no-done"),
    ],
)
def test_plain_stream_faults(sim, scenario, expected):
    sim.configure(scenario=scenario)
    _, _, text = converse(sim, "Echo: a longer answer that gets cut off")
    if expected is not None:
        assert text == expected
    else:
        sent = plain_text(frames(text))
        assert sent and "a longer answer that gets cut off".startswith(sent)
        assert len(sent) < len("a longer answer that gets cut off") and "[DONE]" not in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "scenario, status, message, kind, retry_after",
    [
        pytest.param("http-503", 503, texts.PLAIN_BUSY, "overloaded_error", None, id="http-503"),
        pytest.param(
            "rate-limit", 429, texts.PLAIN_RATE_LIMIT, "rate_limit_error", "7", id="rate-limit"
        ),
    ],
)
def test_plain_http_errors_carry_json_error_bodies(
    sim, lang, scenario, status, message, kind, retry_after
):
    sim.configure(scenario=scenario, lang=lang)
    got, headers, body = converse(sim)
    assert got == status and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"error": {"message": message[lang], "type": kind}}
    assert headers.get("Retry-After") == retry_after


def test_plain_long_conversation_counts_by_conversation_id(sim):
    sim.configure(scenario="long-conversation", long_after=2)
    first = converse(sim)[1]["X-Conversation-Id"]
    turns = [converse(sim, conversation=first) for _ in range(2)]
    assert [("[DONE]" in body, got["X-Conversation-Id"]) for _, got, body in turns] == [
        (True, first),
        (False, first),
    ]
    assert '"overloaded_error"' in turns[-1][2]
    fresh = converse(sim)  # Start over: no id, a new conversation that answers
    assert "[DONE]" in fresh[2] and fresh[1]["X-Conversation-Id"] != first


def test_plain_web_client_needs_its_token(sim):
    web_client = {"X-Client-Platform": "web"}
    status, _, body = converse(sim, headers=web_client)
    assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"
    assert sim.completions == 0
    assert converse(sim, headers={**web_client, "Authorization": "Bearer sim-plain-x"})[0] == 200


def test_plain_bad_cookie_makes_a_corrupt_session_busy(sim):
    sim.configure(scenario="bad-cookie")
    assert (
        '"overloaded_error"' in converse(sim, headers={"Cookie": "ds_session=corrupt%00%ff%fe"})[2]
    )
    assert "[DONE]" in converse(sim, headers={"Cookie": "ds_session=sim-" + "0" * 32})[2]


def test_plain_stale_cache_serves_the_old_bundle_once_and_its_endpoint_is_gone(sim):
    sim.configure(scenario="stale-cache")
    heads = []
    for _ in range(2):
        status, headers, body = request(sim, "/assets/app.js")
        assert status == 200 and headers["Cache-Control"] == "public, max-age=86400"
        heads.append(
            json.loads(body.split("\n", 1)[0].removeprefix("window.__APP_BUILD__ = ").rstrip(";"))
        )
    assert [h["conversation"] for h in heads] == [
        "/backend/conversation_v0",
        "/backend/conversation",
    ]
    status, _, body = request(sim, "/backend/conversation_v0", {"messages": []})
    assert status == 410 and "error" in json.loads(body)
    assert sim.completions == 0


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/", f"/c/{uuid.uuid4()}", f"/a/chat/s/{uuid.uuid4()}"])
def test_plain_page_has_its_own_markup_and_texts(sim, lang, path):
    sim.configure(skin="plain", lang=lang)
    status, headers, html = request(sim, path)
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    assert f'<html lang="{lang}">' in html
    for fragment in (
        f'placeholder="{texts.PLAIN_PLACEHOLDER[lang]}"',
        f'class="start-over">{texts.PLAIN_NEW_CHAT[lang]}</a>',
        'textarea name="prompt"',
        'type="submit" class="composer__submit" aria-label="Submit"',
        'aria-label="Attach image"',
        '<section class="thread"',
        "/assets/app.js",
        texts.PLAIN_BUSY[lang],
    ):
        assert fragment in html
    for deepseek_only in ("chat-input", "ds-markdown", "Message DeepSeek", "bundle.js"):
        assert deepseek_only not in html
    assert "set-cookie" in {
        k.lower() for k in headers
    }  # the same session rules as the DeepSeek skin


def test_plain_stylesheet_is_served(sim):
    status, headers, body = request(sim, "/assets/app.css")
    assert (
        status == 200
        and headers["Content-Type"].startswith("text/css")
        and ".notice--danger" in body
    )


# -- staging knobs: hidden features, a healthy API behind a busy web ------------------------


@pytest.mark.parametrize(
    "skin, control",
    [
        pytest.param("deepseek", 'aria-label="Upload image"', id="deepseek"),
        pytest.param("plain", 'aria-label="Attach image"', id="plain"),
    ],
)
def test_hide_features_leaves_the_upload_control_out(sim, skin, control):
    sim.configure(skin=skin)
    shown = request(sim, "/")[2]
    assert control in shown and 'type="file"' in shown and "<!--feature" not in shown
    sim.configure(skin=skin, hide_features=["image_upload"])
    hidden = request(sim, "/")[2]
    assert control not in hidden and 'type="file"' not in hidden
    assert len(hidden) < len(shown)


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(["image_upload"], id="list"),
        pytest.param("image_upload", id="string"),
        pytest.param(" image_upload, ", id="comma-string"),
    ],
)
def test_hide_features_is_stored_as_a_tuple(given):
    assert Settings.make(hide_features=given).hide_features == ("image_upload",)
    assert (
        Settings().hide_features == ()
        and Settings().skin == "deepseek"
        and Settings().api_healthy is False
    )


def test_hide_features_over_the_control_endpoint(sim):
    status, _, body = request(
        sim, "/__sim/config", {"skin": "plain", "hide_features": ["image_upload"]}
    )
    assert status == 200 and json.loads(body)["settings"]["hide_features"] == ["image_upload"]
    assert sim.settings.hide_features == ("image_upload",)


@pytest.mark.parametrize(
    "scenario", ["always-busy", "http-503", "rate-limit", "stream-stall", "busy-twice"]
)
def test_api_healthy_answers_whatever_the_web_scenario(sim, scenario):
    sim.configure(scenario=scenario, api_healthy=True)
    status, _, body = request(sim, "/v1/chat/completions", CHAT, AUTH)
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "pong"
    streamed = frames(request(sim, "/v1/chat/completions", {**CHAT, "stream": True}, AUTH)[2])
    assert streamed[-1] == ("message", "[DONE]")
    assert (
        complete(sim)[0] != 200 or frames(complete(sim)[2])[-2][0] != "finish"
    )  # the web still fails


def test_api_healthy_leaves_a_staged_api_status_in_force(sim):
    sim.configure(scenario="always-busy", api_healthy=True, api_status=401)
    assert request(sim, "/v1/chat/completions", CHAT, AUTH)[0] == 401
