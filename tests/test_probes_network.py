"""Outside the browser: DNS, TCP/TLS/first-byte timing, streams on the path, the fault proxy.

Everything runs on loopback: the shared simulator, a fault proxy in front of it, and
for TLS a local server with a certificate made per test. One test drives real Chromium
through the proxy to show a path that loads pages but holds event streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import socket
import ssl
import subprocess
import sys

import pytest
from aiohttp import web

from assistant.playbook import load_site
from assistant.playbook.model import ApiSpec, SiteProfile
from assistant.probes import ProbeContext, dnsflush
from assistant.probes.network import (
    dns_flush_advice,
    failure_kind,
    flush_dns,
    probe_connect,
    probe_dns,
)
from assistant.probes.streams import probe_streams
from assistant.simulator.faultproxy import FaultProxy

EVENTS, INTERVAL = 4, 0.15  # 0.45 s from the first event to the last


@pytest.fixture(scope="module")
def proxy():
    with FaultProxy() as p:
        yield p


@pytest.fixture
def fresh_proxy(proxy):
    """The module's proxy with no faults, no latency and a zeroed counter."""
    return proxy.configure(faults=(), latency=0.0)


def site(url: str, **more) -> SiteProfile:
    return SiteProfile(name="t", url=url, **more)


@contextlib.asynccontextmanager
async def serving(text: str, ssl_context: ssl.SSLContext | None = None):
    """A plain page at / on a free loopback port (TLS with `ssl_context`); yields the port."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=text)

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- DNS -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, outcome, expect",
    [
        pytest.param("127.0.0.1", "ok", "127.0.0.1", id="ip-literal"),
        pytest.param("localhost", "ok", None, id="localhost"),
        pytest.param("chat.example.invalid", "error", "no such name", id="rfc6761-invalid"),
    ],
)
def test_dns(host, outcome, expect):
    found, *flush = asyncio.run(probe_dns(site(f"http://{host}:8765/"), ProbeContext(timeout=5)))
    assert [f.subject for f in flush] == ([] if outcome == "ok" else ["flush"])
    assert (found.probe, found.subject, found.outcome) == ("dns", host, outcome)
    assert found.data["time_s"] < 1.0
    if outcome == "ok":
        assert found.data["addresses"] and (expect is None or expect in found.data["addresses"])
    else:
        assert found.data["kind"] == expect and expect in found.summary


def test_dns_one_finding_per_distinct_host():
    profile = site(
        "http://localhost:1/",
        status_page=("http://127.0.0.1:2", "http://localhost:3/status"),
        api=ApiSpec(base="http://127.0.0.1:4/v1"),
    )
    found = asyncio.run(probe_dns(profile, ProbeContext()))
    assert [f.subject for f in found] == ["localhost", "127.0.0.1"]


@pytest.mark.parametrize(
    "exc, kind",
    [
        pytest.param(socket.gaierror(socket.EAI_NONAME, "x"), "no such name", id="eai-noname"),
        pytest.param(socket.gaierror(11001, "x"), "no such name", id="windows-host-not-found"),
        pytest.param(socket.gaierror(socket.EAI_AGAIN, "x"), "no answer", id="eai-again"),
        pytest.param(socket.gaierror(getattr(socket, "EAI_NODATA", socket.EAI_AGAIN), "x"), "no answer", id="eai-nodata"),
        pytest.param(asyncio.TimeoutError(), "no answer", id="timeout"),
        pytest.param(socket.gaierror(socket.EAI_FAIL, "x"), "other", id="eai-fail"),
    ],
)
def test_dns_failure_kinds(exc, kind):
    assert failure_kind(exc) == kind


# -- flushing the DNS cache ------------------------------------------------------------


def test_flush_advice_names_each_os():
    advice = dns_flush_advice()
    assert advice["windows"] == "ipconfig /flushdns"
    assert advice["macos"] == "sudo dscacheutil -flushcache; sudo killall -HUP mDNSResponder"
    assert advice["linux"] == "resolvectl flush-caches"


def test_flush_without_permission_runs_nothing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a command ran without permission")

    monkeypatch.setattr(dnsflush.asyncio, "create_subprocess_exec", refuse)
    found = asyncio.run(flush_dns(ProbeContext(allow_system_changes=False)))
    assert found.outcome == "unknown"
    assert "not run" in found.summary and "not allowed" in found.summary
    assert found.data["command"] in found.summary


@pytest.mark.parametrize(
    "code, outcome",
    [
        pytest.param("pass", "ok", id="flushed"),
        pytest.param("import sys; print('Access denied'); sys.exit(5)", "error", id="denied"),
        pytest.param("import time; time.sleep(30)", "error", id="hangs-past-timeout"),
    ],
)
def test_flush_with_permission_reports_the_command(monkeypatch, code, outcome):
    # A stand-in command: the test must not flush this machine's cache.
    monkeypatch.setattr(dnsflush, "_commands", lambda os_name: [[sys.executable, "-c", code]])
    found = asyncio.run(flush_dns(ProbeContext(timeout=1, allow_system_changes=True)))
    assert found.outcome == outcome
    if code.startswith("import sys"):
        assert "exited with 5: Access denied" in found.summary


# -- TCP, TLS, first byte --------------------------------------------------------------


@pytest.mark.parametrize("host", [pytest.param("127.0.0.1", id="ip"), pytest.param("localhost", id="localhost")])
def test_connect_ok(simulator, host):
    url = simulator.url.replace("127.0.0.1", host) + "/"
    (found,) = asyncio.run(probe_connect(site(url), ProbeContext(timeout=5)))
    assert found.outcome == "ok", found.summary
    assert found.data["status"] == 200 and "tls_s" not in found.data
    assert 0 <= found.data["tcp_s"] < 1 and 0 <= found.data["first_byte_s"] < 1


def test_connect_refused():
    (found,) = asyncio.run(probe_connect(site(f"http://127.0.0.1:{closed_port()}/"), ProbeContext(timeout=5)))
    assert (found.outcome, found.data["error"]) == ("down", "refused")
    assert "connection refused" in found.summary


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """(cert, key) for localhost and 127.0.0.1, self-signed, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def _with_tls_server(certificate, trust: bool, timeout: float = 5):
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert)) if trust else None
    async with serving("hello", server_ctx) as port:
        return await probe_connect(site(f"https://localhost:{port}/"), ProbeContext(timeout=timeout), ssl_context=client_ctx)


def test_connect_tls_handshake_timed(certificate):
    (found,) = asyncio.run(_with_tls_server(certificate, trust=True))
    assert found.outcome == "ok", found.summary
    assert found.data["status"] == 200 and 0 < found.data["tls_s"] < 2
    assert "TLS" in found.summary and "first byte" in found.summary


def test_connect_tls_untrusted_certificate(certificate):
    (found,) = asyncio.run(_with_tls_server(certificate, trust=False))
    assert (found.outcome, found.data["error"]) == ("error", "tls")
    assert "TLS handshake failed" in found.summary


def test_connect_tls_handshake_timeout():
    async def run():
        # Accepts the connection, never answers the ClientHello: a stalled middlebox.
        server = await asyncio.start_server(lambda r, w: asyncio.sleep(5), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await probe_connect(site(f"https://127.0.0.1:{port}/"), ProbeContext(timeout=0.5))

    (found,) = asyncio.run(run())
    assert (found.outcome, found.data["phase"]) == ("timeout", "TLS handshake")
    assert "within 0.5 s" in found.summary


def test_connect_latency_on_the_path_shows_in_first_byte(simulator, fresh_proxy):
    def first_byte(latency: float) -> float:
        fresh_proxy.configure(latency=latency)
        (found,) = asyncio.run(probe_connect(site(simulator.url + "/"), ProbeContext(timeout=5, proxy=fresh_proxy.url)))
        assert found.outcome == "ok", found.summary
        return found.data["first_byte_s"]

    grown = first_byte(0.3) - first_byte(0.0)
    assert 0.25 < grown < 0.8
    assert fresh_proxy.requests == 1  # configure() zeroed it before the slow request


def test_connect_to_a_name_that_does_not_resolve():
    (found,) = asyncio.run(probe_connect(site("http://chat.example.invalid/"), ProbeContext(timeout=5)))
    assert (found.outcome, found.data["error"], found.data["phase"]) == ("error", "dns", "DNS")


def test_proxy_credentials_never_reach_a_finding(simulator, fresh_proxy):
    ctx = ProbeContext(timeout=5, proxy=fresh_proxy.url.replace("//", "//user:secret@"))

    async def run():
        return await probe_connect(site(simulator.url + "/"), ctx) + await probe_streams(
            site(simulator.url + "/"), ctx, events=2, interval=0.0
        )

    found = asyncio.run(run())
    assert [f.outcome for f in found] == ["ok", "ok", "ok"]
    assert fresh_proxy.requests >= 3 and "secret" not in str([f.to_dict() for f in found])


def test_connect_through_a_dead_proxy():
    ctx = ProbeContext(timeout=5, proxy=f"http://127.0.0.1:{closed_port()}")
    (found,) = asyncio.run(probe_connect(site("http://127.0.0.1:1/"), ctx))
    assert found.outcome == "down" and "the proxy" in found.summary


# -- streams on the path ---------------------------------------------------------------


@pytest.mark.parametrize(
    "via_proxy, faults, sse, ws",
    [
        pytest.param(False, (), ("ok", "SSE passes"), ("ok", "WebSocket passes"), id="direct"),
        pytest.param(True, (), ("ok", "SSE passes"), ("ok", "WebSocket passes"), id="clean-proxy"),
        pytest.param(True, ("buffer_sse",), ("degraded", "SSE buffered"), ("ok", "WebSocket passes"), id="buffered"),
        pytest.param(True, ("drop_sse",), ("down", "HTTP 502"), ("ok", "WebSocket passes"), id="dropped"),
        pytest.param(True, ("refuse_ws",), ("ok", "SSE passes"), ("down", "HTTP 403 instead of 101"), id="ws-refused"),
    ],
)
def test_streams(simulator, fresh_proxy, via_proxy, faults, sse, ws):
    fresh_proxy.configure(faults=faults)
    ctx = ProbeContext(timeout=5, proxy=fresh_proxy.url if via_proxy else None)
    found = asyncio.run(probe_streams(site(simulator.url + "/"), ctx, events=EVENTS, interval=INTERVAL))
    by_kind = {f.subject.split()[0]: f for f in found}
    for kind, (outcome, words) in (("sse", sse), ("websocket", ws)):
        assert by_kind[kind].outcome == outcome, by_kind[kind].summary
        assert words in by_kind[kind].summary
    assert (fresh_proxy.requests > 0) == via_proxy
    if sse[0] == "ok":
        assert by_kind["sse"].data["spread_s"] > (EVENTS - 1) * INTERVAL / 2
    if "buffer_sse" in faults:  # held until the last event was sent, then all at once
        assert by_kind["sse"].data["first_s"] >= (EVENTS - 1) * INTERVAL * 0.9
        assert by_kind["sse"].data["spread_s"] < 0.05


@pytest.mark.parametrize(
    "reachable, words",
    [
        pytest.param(True, "without a login", id="no-probe-endpoints"),
        pytest.param(False, "did not answer", id="unreachable"),
    ],
)
def test_streams_unknown_when_they_cannot_be_tested(reachable, words):
    async def run():
        if not reachable:
            return await probe_streams(site(f"http://127.0.0.1:{closed_port()}/"), ProbeContext(timeout=2))
        async with serving("a chat with no /__probe/") as port:
            return await probe_streams(site(f"http://127.0.0.1:{port}/"), ProbeContext(timeout=2))

    (found,) = asyncio.run(run())
    assert found.outcome == "unknown" and words in found.summary, found.summary


# -- the fault proxy itself ------------------------------------------------------------


def test_proxy_rejects_unknown_faults_and_bad_latency():
    with pytest.raises(ValueError, match="buffer_sse"):
        FaultProxy(faults=["buffer_sse", "blackhole"])
    with pytest.raises(ValueError, match="latency"):
        FaultProxy(latency=-1)
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(host="0.0.0.0")
    with pytest.raises(RuntimeError, match="start"):
        FaultProxy().url  # noqa: B018


def test_proxy_forwards_to_loopback_only(fresh_proxy):
    async def run():
        reader, writer = await asyncio.open_connection("127.0.0.1", fresh_proxy.port)
        writer.write(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return reply

    assert asyncio.run(run()).startswith(b"HTTP/1.1 403 ")


# -- real Chromium: pages load, event streams are held ---------------------------------

# Arrival times (s) of `count` EventSource messages, or of those that came before an error.
COLLECT_EVENTS = """([path, count]) => new Promise((resolve) => {
  const start = performance.now(), times = [], es = new EventSource(path);
  const done = () => { es.close(); resolve(times); };
  es.onmessage = () => { times.push((performance.now() - start) / 1000); if (times.length === count) done(); };
  es.onerror = done;
  setTimeout(done, 10000);
})"""


@pytest.mark.browser
def test_chromium_through_a_buffering_proxy(simulator, fresh_proxy):
    from playwright.async_api import async_playwright

    from assistant.browser.find import find_system_browser
    from assistant.browser.session import LAUNCH_ARGS

    browser_info = find_system_browser()
    if browser_info is None:
        pytest.skip("no system Chromium or Chrome")
    path = "/__probe/sse?events=5&interval=0.2"

    async def run():
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=browser_info.path,
                args=list(LAUNCH_ARGS),
                # Chromium never proxies loopback unless told to with <-loopback>.
                proxy={"server": fresh_proxy.url, "bypass": "<-loopback>"},
            )
            try:
                page = await browser.new_page()
                fresh_proxy.configure(faults=["buffer_sse"])
                response = await page.goto(simulator.url + "/")
                await page.locator("textarea#chat-input").wait_for(timeout=5000)
                held = await page.evaluate(COLLECT_EVENTS, [path, 5])
                proxied = fresh_proxy.requests
                fresh_proxy.configure(faults=())
                passed = await page.evaluate(COLLECT_EVENTS, [path, 5])
                return response.status, held, proxied, passed
            finally:
                await browser.close()

    status, held, proxied, passed = asyncio.run(run())
    assert status == 200 and proxied >= 2  # the page and the stream both went through the proxy
    assert len(held) == 5 and held[-1] - held[0] < 0.1 and held[0] > 0.7  # all at once, at the end
    assert len(passed) == 5 and passed[-1] - passed[0] > 0.6  # the same stream, unbuffered


def test_a_failed_lookup_brings_flush_advice_and_changes_nothing_without_permission():
    site = dataclasses.replace(load_site("simulator"), url="http://chat.example.invalid/", status_page=(), api=None)
    findings = asyncio.run(probe_dns(site, ProbeContext(timeout=2.0)))
    flush = [f for f in findings if f.subject == "flush"]
    assert [f.outcome for f in flush] == ["unknown"]
    assert "not allowed" in flush[0].summary and flush[0].data["command"] in flush[0].summary
    assert not any(f.data.get("after_flush") for f in findings)


def test_resolving_hosts_brings_no_flush_finding():
    site = dataclasses.replace(load_site("simulator"), url="http://127.0.0.1:8765/", status_page=(), api=None)
    findings = asyncio.run(probe_dns(site, ProbeContext(timeout=2.0)))
    assert [f.outcome for f in findings] == ["ok"]
