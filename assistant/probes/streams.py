"""Streams on the path: do SSE events arrive as sent, and do WebSockets open and carry messages.

A chat answers as a stream; a firewall or proxy that buffers event streams, drops them
or refuses WebSocket upgrades breaks the chat while plain pages still load. Exercising
a stream needs an endpoint that streams on request: the simulator's `/__probe/` ones, or
a site's that answers `GET /__probe/` the same way. A real chat's stream needs a login,
so for other sites this probe says it could not look rather than guess.
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import aiohttp

from assistant.playbook.model import SiteProfile
from assistant.probes import Finding, ProbeContext
from assistant.probes.network import shown_proxy

EVENTS = 5
INTERVAL = 0.2  # seconds between events: 0.8 s from first to last


async def probe_streams(
    site: SiteProfile, ctx: ProbeContext, *, events: int = EVENTS, interval: float = INTERVAL
) -> list[Finding]:
    """An SSE and a WebSocket finding for the site's origin, or one "unknown" if it cannot be tested."""
    parts = urlsplit(site.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if ctx.proxy and urlsplit(ctx.proxy).scheme != "http":
        return [Finding("streams", origin, "unknown", f"only http:// proxies can carry this probe, not {shown_proxy(ctx.proxy)}")]
    # A quarter of the budget to ask for the endpoints, the rest for the streams themselves.
    ask, rest = ctx.timeout / 4, ctx.timeout * 3 / 4
    # trust_env=False: the probe goes where ctx.proxy says, never through an inherited HTTP_PROXY.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=rest), trust_env=False) as client:
        endpoints, why = await _endpoints(client, origin, ctx.proxy, ask)
        if not endpoints:
            return [Finding("streams", origin, "unknown", f"streams not tested: {why}")]
        query = f"?interval={interval}"
        sse_url = f"{origin}{endpoints['sse']}{query}&events={events}"
        ws_url = f"{origin.replace('http', 'ws', 1)}{endpoints['ws']}{query}&messages={events}"
        return list(await asyncio.gather(
            _sse(client, sse_url, ctx.proxy, events, interval),
            _websocket(client, ws_url, ctx.proxy, events, rest),
        ))


async def _endpoints(client, origin: str, proxy: str | None, seconds: float) -> tuple[dict | None, str]:
    """The site's stream test endpoints from `GET /__probe/`, or None and why not."""
    try:
        timeout = aiohttp.ClientTimeout(total=seconds)
        async with client.get(f"{origin}/__probe/", proxy=proxy, allow_redirects=False, timeout=timeout) as resp:
            found = await resp.json(content_type=None) if resp.status == 200 else None
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return None, f"{origin} did not answer ({type(exc).__name__}: {exc})".replace(": )", ")")
    except ValueError:  # 200 but not JSON: a site page, not a probe index
        found = None
    if isinstance(found, dict) and all(isinstance(found.get(k), str) for k in ("sse", "ws")):
        return found, ""
    return None, (
        f"{origin} offers no stream test endpoints, and a real chat's stream cannot be exercised "
        "without a login (the browser run's stream signals are the evidence)"
    )


async def _sse(client, url: str, proxy: str | None, events: int, interval: float) -> Finding:
    subject, span = f"sse {url}", (events - 1) * interval
    data: dict = {"url": url, "expected": events, "expected_span_s": span, "proxy": shown_proxy(proxy)}
    arrivals: list[float] = []
    start = time.perf_counter()
    try:
        async with client.get(url, proxy=proxy, headers={"Accept": "text/event-stream"}) as resp:
            data["status"] = resp.status
            if resp.status != 200:
                return Finding("streams", subject, "down", f"SSE dropped: HTTP {resp.status} on the path", data)
            async for line in resp.content:
                if line.startswith(b"data:"):
                    arrivals.append(time.perf_counter() - start)
                    data.setdefault("server_t", []).append(json.loads(line[5:]).get("t"))
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        data["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
    data.update(received=len(arrivals), arrivals_s=[round(a, 3) for a in arrivals])
    if not arrivals:
        return Finding("streams", subject, "down", f"SSE dropped: no event arrived ({data.get('error', 'empty stream')})", data)
    spread = arrivals[-1] - arrivals[0]
    data.update(first_s=arrivals[0], spread_s=spread)
    if len(arrivals) < events:
        return Finding("streams", subject, "degraded", f"SSE cut short: {len(arrivals)} of {events} events arrived", data)
    # Sent over `span` seconds: arriving over less than half of it means something held them.
    if span > 0 and spread < span / 2:
        summary = f"SSE buffered: {events} events sent over {span:.1f} s arrived together after {arrivals[-1]:.1f} s"
        return Finding("streams", subject, "degraded", summary, data)
    summary = f"SSE passes: {events} events arrived as sent, first after {arrivals[0] * 1000:.0f} ms"
    return Finding("streams", subject, "ok", summary, data)


async def _websocket(client, url: str, proxy: str | None, messages: int, seconds: float) -> Finding:
    subject = f"websocket {url}"
    data: dict = {"url": url, "expected": messages, "proxy": shown_proxy(proxy)}
    start = time.perf_counter()

    def left() -> float:  # the session's timeout covers the handshake only, not the messages
        return max(0.001, start + seconds - time.perf_counter())

    try:
        async with client.ws_connect(url, proxy=proxy) as ws:
            data["upgrade_s"], data["status"] = time.perf_counter() - start, 101
            data["arrivals_s"], data["echo"] = await _exchange(ws, messages, start, left)
    except aiohttp.WSServerHandshakeError as exc:
        data["status"] = exc.status
        return Finding("streams", subject, "down", f"WebSocket refused: HTTP {exc.status} instead of 101", data)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        data["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return Finding("streams", subject, "down", f"WebSocket failed: {data['error']}", data)
    if len(data["arrivals_s"]) < messages or not data["echo"]:
        summary = f"WebSocket opened but carried {len(data['arrivals_s'])} of {messages} messages (echo {'ok' if data['echo'] else 'lost'})"
        return Finding("streams", subject, "degraded", summary, data)
    return Finding("streams", subject, "ok", f"WebSocket passes: upgraded in {data['upgrade_s'] * 1000:.0f} ms, {messages} messages and an echo", data)


async def _exchange(ws, messages: int, start: float, left) -> tuple[list[float], bool]:
    """Arrival times of the server's messages, and whether an echo came back; stops at the deadline."""
    arrivals: list[float] = []
    try:
        for _ in range(messages):
            if (await ws.receive(timeout=left())).type != aiohttp.WSMsgType.TEXT:
                break
            arrivals.append(round(time.perf_counter() - start, 3))
        await ws.send_str("echo")
        echo = await ws.receive(timeout=left())
    except asyncio.TimeoutError:  # opened, then silence: a finding, not a failure to connect
        return arrivals, False
    return arrivals, echo.type == aiohttp.WSMsgType.TEXT and echo.data == "echo"
