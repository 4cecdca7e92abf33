"""HTTP for the outside probes: one client session, deadlines, and failures named by kind.

Both the status-page and the API probe need the same three things: a session that goes
exactly where the probe's proxy says, a time budget shared by several requests, and a
short name for how a request failed (refused, DNS, timeout...) that a report can count.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from assistant.probes import ProbeContext

# kind -> how a person reads it
FAILURES = {
    "dns": "DNS lookup failed",
    "refused": "connection refused",
    "reset": "connection reset",
    "tls": "TLS handshake failed",
    "proxy": "the proxy failed",
    "timeout": "no answer in time",
    "error": "request failed",
}


class Deadline:
    """A budget of seconds counted from now, shared by several requests."""

    def __init__(self, seconds: float):
        self.start = time.monotonic()
        self.end = self.start + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def session(ctx: ProbeContext) -> aiohttp.ClientSession:
    """A client session for one probe run; use it with `async with`."""
    # trust_env=False: a probe goes exactly where ctx.proxy says (or direct), never through
    # an HTTP_PROXY it happened to inherit, so routes stay comparable. No cookies: each probe
    # is a first visit.
    return aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.DummyCookieJar())


def timeout(seconds: float) -> aiohttp.ClientTimeout:
    """The whole request, connect to last byte, within `seconds`."""
    return aiohttp.ClientTimeout(total=max(seconds, 0.001))


def failure_kind(exc: BaseException) -> str:
    """dns | refused | reset | tls | proxy | timeout | error, for an exception a request raised."""
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's own timeouts subclass it
        return "timeout"
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return "proxy"
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return "tls"
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, socket.gaierror) or type(exc).__name__ == "ClientConnectorDNSError":
            return "dns"
        # Several addresses (IPv6 and IPv4) failing together arrive as one plain OSError.
        if isinstance(cause, ConnectionRefusedError) or cause.errno == errno.ECONNREFUSED:
            return "refused"
        if "refused" in str(cause).lower():
            return "refused"
    if isinstance(exc, (aiohttp.ServerDisconnectedError, ConnectionResetError)):
        return "reset"
    if isinstance(exc, aiohttp.ClientOSError) and exc.errno == errno.ECONNRESET:
        return "reset"
    return "error"


def failure_detail(exc: BaseException) -> str:
    """The exception's type and text, for `data` (never the request's headers)."""
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


@dataclass
class Reply:
    """A whole HTTP answer and how long it took (seconds from the request)."""

    status: int
    headers: Any  # a case-insensitive mapping
    text: str
    ttfb_s: float
    total_s: float

    def json(self) -> Any:
        """The body as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def not_json(self) -> str:
        """What the body is instead of JSON, in a few words."""
        text = self.text.lstrip()[:4000]
        if "Just a moment..." in text or self.headers.get("cf-mitigated") == "challenge":
            return "a Cloudflare challenge page"
        if text.startswith("<") or "html" in self.headers.get("Content-Type", ""):
            return "an HTML page"
        return "not JSON" if text else "an empty body"


async def fetch(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    seconds: float,
    proxy: str | None = None,
    **kwargs,
) -> Reply:
    """One request read to the end within `seconds`; raises what aiohttp raises."""
    started = time.monotonic()
    async with client.request(method, url, proxy=proxy, timeout=timeout(seconds), **kwargs) as resp:
        ttfb = time.monotonic() - started
        text = await resp.text(errors="replace")
        return Reply(resp.status, resp.headers, text, ttfb, time.monotonic() - started)
