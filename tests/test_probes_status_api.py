"""The status-page and API probes against the in-process simulator, one staged state per case.

Two simulators serve the module: `sim` plays the provider (reset before each test) and
`other` plays a second host (a status mirror, a fallback API). Probes run with
`asyncio.run` inside each test; only the queued and hanging cases wait, about a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from aiohttp import web

from assistant.playbook import load_site
from assistant.playbook.model import ApiSpec
from assistant.probes import ProbeContext
from assistant.probes.api import probe_api
from assistant.probes.statuspage import probe_status_page
from assistant.simulator import Simulator
from assistant.simulator.settings import API_STATUSES, Settings

KEY_ENV = "SIMULATOR_API_KEY"
ENV = {KEY_ENV: "sk-test-probe-key", "OTHER_API_KEY": "sk-test-other-key"}
FAST = {"heartbeat_interval": 0.05, "chunk_delay": 0.0}


def _fresh(sim: Simulator) -> Simulator:
    return sim.configure(**{**Settings().as_dict(), **FAST})


@pytest.fixture(scope="module")
def servers():
    with Simulator(port=0, **FAST) as sim, Simulator(port=0, **FAST) as other:
        yield sim, other


@pytest.fixture
def sim(servers):
    return _fresh(servers[0])


@pytest.fixture
def other(servers):
    return _fresh(servers[1])


@pytest.fixture
def site(sim):
    site = load_site("simulator")
    return replace(
        site, url=sim.url, status_page=(sim.url,), api=replace(site.api, base=sim.url + "/v1")
    )


def run(probe, site, *, timeout=5.0, env=ENV, **kwargs):
    return asyncio.run(probe(site, ProbeContext(timeout=timeout, env=dict(env)), **kwargs))


@pytest.fixture
def refused_url():
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_url():
    """A loopback URL that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# -- API: one staged answer each ------------------------------------------------------

API_CASES = [
    pytest.param({}, "ok", "answered in", id="200-ok"),
    pytest.param({"api_status": 400}, "error", "HTTP 400 invalid format", id="400-invalid-format"),
    pytest.param(
        {"api_status": 401},
        "error",
        "(Authentication Fails (no such user)); check the key in $SIMULATOR_API_KEY",
        id="401-auth",
    ),
    pytest.param(
        {"api_status": 402}, "error", "HTTP 402 insufficient balance; top up", id="402-balance"
    ),
    pytest.param(
        {"api_status": 422},
        "error",
        "HTTP 422 invalid parameters; check the model name 'deepseek-chat'",
        id="422-params",
    ),
    pytest.param(
        {"api_status": 429},
        "rate_limited",
        "HTTP 429 rate limit reached; the server asks to wait 7 s",
        id="429-rate-limited",
    ),
    pytest.param({"api_status": 500}, "error", "HTTP 500 server error", id="500-server-error"),
    pytest.param(
        {"api_status": 503}, "busy", "is busy: HTTP 503 server overloaded", id="503-overloaded"
    ),
    pytest.param({"api_status": 529}, "busy", "is busy: HTTP 529 overloaded", id="529-overloaded"),
    pytest.param(
        {"api_finish_reason": "insufficient_system_resource"},
        "busy",
        "insufficient_system_resource",
        id="finish-insufficient-resource",
    ),
    pytest.param({"api_queued": 0.2}, "ok", "answered in", id="queued-then-answers"),
]


@pytest.mark.parametrize(
    "stream", [pytest.param(True, id="stream"), pytest.param(False, id="plain")]
)
@pytest.mark.parametrize("staged, outcome, text", API_CASES)
def test_api_status_is_classified(sim, site, staged, outcome, text, stream):
    sim.configure(**staged)
    [finding] = run(probe_api, site, stream=stream)
    assert (finding.probe, finding.subject, finding.outcome) == ("api", "api", outcome)
    assert text in finding.summary
    assert finding.data["status"] == staged.get("api_status", 200)
    assert finding.data["models_status"] == (401 if staged.get("api_status") == 401 else 200)
    # A refused key is not spent on a completion too; everything else asks for one token.
    assert sim.api_completions == (0 if staged.get("api_status") == 401 else 1)


def test_api_answer_timings(sim, site):
    sim.configure(api_queued=0.3)
    [finding] = run(probe_api, site)
    data = finding.data
    assert finding.outcome == "ok" and data["finish_reason"] == "length"  # max_tokens: 1
    assert data["ttfb_s"] < 0.2 <= 0.3 <= data["ttft_s"] <= data["total_s"] < 2
    assert data["heartbeats"] >= 3 and data["models_s"] < 1


@pytest.mark.parametrize(
    "stream", [pytest.param(True, id="stream"), pytest.param(False, id="plain")]
)
def test_api_queued_until_the_timeout(sim, site, stream):
    sim.configure(api_queued=600)  # the real API waits up to 10 minutes
    [finding] = run(probe_api, site, timeout=1.0, stream=stream)
    assert finding.outcome == "queued", finding.summary
    assert "keep-alive" in finding.summary and finding.data["ttft_s"] is None
    assert finding.data["heartbeats"] >= 5 and 0.9 <= finding.data["total_s"] < 1.5


@pytest.mark.parametrize(
    "scenario, outcome, text",
    [
        pytest.param("stream-stall", "busy", "the queue gave up", id="keep-alives-then-close"),
        pytest.param("stream-truncated", "error", "before it finished", id="truncated"),
    ],
)
def test_api_stream_faults(sim, site, scenario, outcome, text):
    sim.configure(scenario=scenario)
    [finding] = run(probe_api, site)
    assert (finding.outcome, text in finding.summary) == (outcome, True), finding.summary


@pytest.mark.parametrize(
    "header, expected",
    [
        pytest.param("7", 7.0, id="seconds"),
        pytest.param("http-date", 30.0, id="http-date"),
        pytest.param("", None, id="no-header"),
    ],
)
def test_api_429_retry_after(sim, site, header, expected):
    if header == "http-date":
        header = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    sim.configure(api_status=429, retry_after=header)
    [finding] = run(probe_api, site)
    assert finding.outcome == "rate_limited"
    wait = finding.data["retry_after_s"]
    if expected is None:
        assert wait is None and "no Retry-After header" in finding.summary
    else:
        assert expected - 2 <= wait <= expected and "the server asks to wait" in finding.summary


def test_api_without_a_key_says_which_variable_to_set(sim, site):
    [finding] = run(probe_api, site, env={})
    assert finding.outcome == "unknown"
    assert "set the environment variable SIMULATOR_API_KEY" in finding.summary
    assert sim.api_completions == 0


@pytest.mark.parametrize(
    "where, kind",
    [
        pytest.param("refused", "refused", id="refused"),
        pytest.param("http://no-such-host.invalid", "dns", id="dns"),
    ],
)
def test_api_connection_failures(site, refused_url, where, kind):
    base = refused_url if where == "refused" else where
    [finding] = run(probe_api, replace(site, api=replace(site.api, base=base + "/v1")), timeout=3)
    assert (finding.outcome, finding.data["error"]) == ("error", kind)


def test_api_silent_host_times_out(site, silent_url):
    [finding] = run(
        probe_api, replace(site, api=replace(site.api, base=silent_url + "/v1")), timeout=0.5
    )
    assert finding.outcome == "timeout" and "within 0.5 s" in finding.summary


def test_fallback_answers_while_the_main_route_is_busy(sim, other, site):
    sim.configure(api_status=503)
    fallback = ApiSpec(
        base=other.url + "/v1", key_env="OTHER_API_KEY", model="deepseek-chat", name="openrouter"
    )
    main, backup, routes = run(probe_api, replace(site, api_fallbacks=(fallback,)))
    assert (main.subject, main.outcome, main.data["route"]) == ("api", "busy", "main")
    assert (backup.subject, backup.outcome, backup.data["route"]) == (
        "openrouter",
        "ok",
        "fallback",
    )
    assert (routes.subject, routes.outcome) == ("routes", "ok")
    assert routes.summary.startswith("fallback 'openrouter' answered in ")
    assert routes.summary.endswith("; 'api' is busy")
    assert routes.data["answered"] == ["openrouter"]


def test_no_route_answering_takes_the_main_routes_outcome(sim, site, refused_url):
    sim.configure(api_status=429)
    fallback = ApiSpec(base=refused_url + "/v1", name="spare")
    *_, routes = run(probe_api, replace(site, api_fallbacks=(fallback,)))
    assert routes.outcome == "rate_limited"
    assert routes.summary == "'api' is rate limited; fallback 'spare' failed"


def test_no_api_configured(site):
    [finding] = run(probe_api, replace(site, api=None))
    assert (finding.outcome, finding.summary) == ("unknown", "no API configured for this site")


# -- API: the key never leaves the request --------------------------------------------

STAGED = [{}, {"api_queued": 600}, {"api_finish_reason": "insufficient_system_resource"}]
STAGED += [{"api_status": code} for code in API_STATUSES]
STAGED += [{"api_status": 429, "retry_after": ""}, {"scenario": "stream-stall"}]


async def _echo_key_server():
    """A careless server that quotes the whole Authorization header in its 401."""

    async def echo(request):
        message = f"Incorrect API key provided: {request.headers.get('Authorization')}"
        return web.json_response({"error": {"message": message}}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def test_the_key_appears_in_no_finding_log_or_output(sim, site, caplog, capsys):
    canary = f"sk-canary-{uuid.uuid4()}"
    env = {KEY_ENV: canary}
    caplog.set_level(logging.DEBUG)
    findings = []
    for staged in STAGED:
        sim.configure(**staged)
        for stream in (True, False):
            findings += run(probe_api, site, timeout=0.3, env=env, stream=stream)

    async def echoed():
        runner, url = await _echo_key_server()
        try:
            spec = replace(site.api, base=url + "/v1")
            return await probe_api(replace(site, api=spec), ProbeContext(timeout=2, env=env))
        finally:
            await runner.cleanup()

    findings += asyncio.run(echoed())
    assert (
        findings[-1].outcome == "error"
        and "Incorrect API key provided: Bearer ***" in findings[-1].summary
    )
    assert {f.outcome for f in findings} >= {"ok", "busy", "rate_limited", "queued", "error"}
    out = capsys.readouterr()
    texts = [repr(f) for f in findings] + [str(f) for f in findings]
    texts += [
        json.dumps([f.to_dict() for f in findings], ensure_ascii=False),
        caplog.text,
        out.out,
        out.err,
    ]
    assert all(canary not in text for text in texts)
    assert "api api:" in caplog.text  # the probe does log; the key is just not in it


# -- status page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, outcome, description",
    [
        pytest.param("none", "ok", "All Systems Operational", id="none"),
        pytest.param("minor", "degraded", "Partially Degraded Service", id="minor"),
        pytest.param("major", "down", "Partial System Outage", id="major"),
        pytest.param("critical", "down", "Major System Outage", id="critical"),
    ],
)
def test_status_indicator(sim, site, level, outcome, description):
    sim.configure(status=level)
    overall, *rest = run(probe_status_page, site)
    assert (overall.probe, overall.subject, overall.outcome) == ("status_page", "overall", outcome)
    assert overall.summary.startswith(f"Simulated Chat Service: {description} (via 127.0.0.1:")
    assert (overall.data["indicator"], overall.data["host"]) == (level, sim.url)
    assert [f.subject for f in rest if f.data.get("kind") == "incident"] == (
        [] if level == "none" else ["Degraded performance"]
    )


@pytest.mark.parametrize(
    "state, outcome",
    [
        pytest.param("operational", "ok", id="operational"),
        pytest.param("degraded_performance", "degraded", id="degraded_performance"),
        pytest.param("partial_outage", "down", id="partial_outage"),
        pytest.param("major_outage", "down", id="major_outage"),
        pytest.param("under_maintenance", "maintenance", id="under_maintenance"),
    ],
)
def test_component_states(sim, site, state, outcome):
    sim.configure(component_web=state)
    by_name = {f.subject: f for f in run(probe_status_page, site)[1:]}
    web_chat = by_name["网页对话服务 (Web Chat Service)"]
    assert (web_chat.outcome, web_chat.data["component_status"]) == (outcome, state)
    assert web_chat.summary == f"网页对话服务 (Web Chat Service): {state.replace('_', ' ')}"
    assert by_name["API 服务 (API Service)"].outcome == "ok"


def test_incident(sim, site):
    sim.configure(
        incident="Elevated error rates", incident_impact="major", incident_status="identified"
    )
    [incident] = [f for f in run(probe_status_page, site) if f.data.get("kind") == "incident"]
    assert (incident.subject, incident.outcome) == ("Elevated error rates", "down")
    assert incident.summary == (
        "incident 'Elevated error rates' (identified, impact major): "
        "The issue has been identified and a fix is being implemented."
    )
    assert (incident.data["status"], incident.data["impact"]) == ("identified", "major")


@pytest.mark.parametrize(
    "status, outcome",
    [
        pytest.param("in_progress", "maintenance", id="in-progress"),
        pytest.param("scheduled", "ok", id="scheduled"),
    ],
)
def test_maintenance(sim, site, status, outcome):
    sim.configure(maintenance="Database upgrade", maintenance_status=status)
    [mnt] = [f for f in run(probe_status_page, site) if f.data.get("kind") == "maintenance"]
    assert (mnt.subject, mnt.outcome, mnt.data["status"]) == ("Database upgrade", outcome, status)
    assert mnt.summary.startswith(f"maintenance 'Database upgrade' ({status.replace('_', ' ')}, 20")
    assert {"scheduled_for", "scheduled_until"} <= set(mnt.data)


def test_first_status_host_refuses_the_second_answers(sim, site, refused_url):
    overall, *_ = run(probe_status_page, replace(site, status_page=(refused_url, sim.url)))
    assert overall.outcome == "ok" and overall.data["host"] == sim.url
    first, second = overall.data["hosts_tried"]
    assert (first["error"], second["ok"]) == ("refused", True)
    assert f"{refused_url[7:]} connection refused" in overall.summary


def test_hanging_status_host_leaves_time_for_the_mirror(sim, site, silent_url):
    overall, *_ = run(
        probe_status_page, replace(site, status_page=(silent_url, sim.url)), timeout=1.0
    )
    assert overall.outcome == "ok"
    assert overall.data["hosts_tried"][0]["error"] == "timeout"
    assert "timed out after 0.5 s" in overall.summary


def test_cloudflare_challenge_is_not_json(sim, other, site):
    other.configure(status_fault="cloudflare")
    overall, *_ = run(probe_status_page, replace(site, status_page=(other.url, sim.url)))
    assert overall.outcome == "ok"
    first = overall.data["hosts_tried"][0]
    assert (first["error"], first["status"]) == ("http", 403)
    assert "answered HTTP 403 with a Cloudflare challenge page" in overall.summary


def test_missing_summary_falls_back_to_status_json(sim, site):
    sim.configure(status_fault="no-summary", status="minor")
    [overall] = run(probe_status_page, site)  # status.json has no components or incidents
    assert (
        overall.outcome == "degraded" and overall.data["hosts_tried"][0]["source"] == "status.json"
    )


def test_no_status_host_answers(other, site, refused_url):
    other.configure(status_fault="cloudflare")
    [finding] = run(probe_status_page, replace(site, status_page=(refused_url, other.url)))
    assert (finding.subject, finding.outcome) == ("overall", "error")
    assert finding.summary.startswith("no status host answered: ")
    assert [t["error"] for t in finding.data["hosts_tried"]] == ["refused", "http"]


def test_no_status_page_configured(site):
    [finding] = run(probe_status_page, replace(site, status_page=()))
    assert (finding.outcome, finding.summary) == ("unknown", "no status page configured")
