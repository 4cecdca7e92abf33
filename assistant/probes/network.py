"""DNS and connection probes: does each host resolve, and how long do TCP, TLS and the first byte take.

Resolution and each connection phase are timed separately so a slow DNS, a slow
handshake and a slow server each show as themselves. A refused connection, a timeout
and a TLS failure are findings with their own outcome, never exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from urllib.parse import unquote, urlsplit

from assistant.playbook.model import SiteProfile
from assistant.probes import Finding, ProbeContext
from assistant.probes.dnsflush import dns_flush_advice, flush_dns

__all__ = ["dns_flush_advice", "flush_dns", "origins", "probe_connect", "probe_dns", "shown_proxy"]

# getaddrinfo's codes differ by platform; Windows reports WSA codes (11001 = host not found).
_NO_SUCH_NAME = {socket.EAI_NONAME, 11001}
_NO_ANSWER = {socket.EAI_AGAIN, getattr(socket, "EAI_NODATA", socket.EAI_AGAIN), 11002, 11004}


def origins(site: SiteProfile) -> list[tuple[str, str, int, str]]:
    """Distinct (scheme, host, port, path) of the site's page, status pages and API, first path kept."""
    seen: dict[tuple[str, str, int], str] = {}
    for url in (site.url, *site.status_page, *([site.api.base] if site.api else [])):
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            seen.setdefault((parts.scheme, parts.hostname, port), parts.path or "/")
    return [(*key, path) for key, path in seen.items()]


def shown_proxy(proxy: str | None) -> str | None:
    """The proxy URL without its user and password, fit for a finding."""
    if not proxy:
        return proxy
    parts = urlsplit(proxy)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def failure_kind(exc: BaseException) -> str:
    """'no such name', 'no answer' or 'other' for a resolver failure."""
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer"
    code = getattr(exc, "errno", None)
    return "no such name" if code in _NO_SUCH_NAME else "no answer" if code in _NO_ANSWER else "other"


async def probe_dns(site: SiteProfile, ctx: ProbeContext) -> list[Finding]:
    """Resolve every distinct host of the site, timing each; when one fails, the flush remedy:
    advice for this operating system, or (with --allow-system-changes) the flush and a retry."""
    hosts = list(dict.fromkeys(host for _, host, _, _ in origins(site)))
    findings = list(await asyncio.gather(*(_resolve(host, ctx.timeout) for host in hosts)))
    failed = [f.subject for f in findings if f.outcome != "ok"]
    if failed:
        flush = await flush_dns(ctx)
        findings.append(flush)
        if flush.outcome == "ok":  # measured, not assumed: does the name resolve now?
            for again in await asyncio.gather(*(_resolve(host, ctx.timeout) for host in failed)):
                again.summary, again.data["after_flush"] = f"after the flush: {again.summary}", True
                findings.append(again)
    return findings


async def _resolve(host: str, timeout: float) -> Finding:
    if host.rstrip(".").lower().split(".")[-1] == "invalid":
        # RFC 6761: resolvers must answer .invalid negatively at once; some forward it anyway.
        data = {"kind": "no such name", "time_s": 0.0, "reserved": "RFC 6761"}
        return Finding("dns", host, "error", f"{host} does not resolve: no such name (a reserved .invalid name)", data)
    start = time.perf_counter()
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, asyncio.TimeoutError) as exc:
        took, kind = time.perf_counter() - start, failure_kind(exc)
        why = f"no reply within {timeout:g} s" if isinstance(exc, asyncio.TimeoutError) else str(exc)
        data = {"kind": kind, "time_s": took, "error": why}
        return Finding("dns", host, "error", f"{host} does not resolve: {kind} ({why})", data)
    took = time.perf_counter() - start
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    data = {"addresses": addresses, "time_s": took}
    return Finding("dns", host, "ok", f"{host} resolves to {', '.join(addresses)} in {took * 1000:.0f} ms", data)


async def probe_connect(
    site: SiteProfile, ctx: ProbeContext, *, ssl_context: ssl.SSLContext | None = None
) -> list[Finding]:
    """For each http(s) origin: TCP connect, TLS handshake and time to first byte of a GET."""
    if ctx.proxy and urlsplit(ctx.proxy).scheme != "http":
        proxy = shown_proxy(ctx.proxy)
        return [Finding("connect", proxy, "unknown", f"only http:// proxies can be probed, not {proxy}", {"proxy": proxy})]
    found = [_connect(o, ctx, ssl_context) for o in origins(site)]
    return list(await asyncio.gather(*found))


async def _connect(origin, ctx: ProbeContext, ssl_context) -> Finding:
    scheme, host, port, path = origin
    subject = f"{scheme}://{_authority(host, port)}"
    # `phase` says where a failure struck; _timed_get moves it along and drops it when done.
    timings: dict = {"phase": "DNS", **({"proxy": shown_proxy(ctx.proxy)} if ctx.proxy else {})}
    try:
        await asyncio.wait_for(_timed_get(origin, ctx.proxy, ssl_context, timings), ctx.timeout)
    except asyncio.TimeoutError:
        summary = f"{subject}: no answer during {timings['phase']} within {ctx.timeout:g} s"
        return Finding("connect", subject, "timeout", summary, {**timings, "error": "timeout"})
    except ConnectionRefusedError:
        where = f"the proxy {shown_proxy(ctx.proxy)}" if ctx.proxy else _authority(host, port)
        summary = f"{subject}: connection refused by {where} (nothing listening, or a firewall rejecting)"
        return Finding("connect", subject, "down", summary, {**timings, "error": "refused"})
    except ssl.SSLError as exc:
        summary = f"{subject}: TLS handshake failed: {exc.reason or exc}"
        return Finding("connect", subject, "error", summary, {**timings, "error": "tls", "detail": str(exc)})
    except (OSError, ValueError) as exc:  # unreachable, reset, no such host, a proxy refusing the tunnel
        kind = "dns" if isinstance(exc, socket.gaierror) else "network"
        summary = f"{subject}: {timings['phase']} failed: {exc}"
        return Finding("connect", subject, "error", summary, {**timings, "error": kind, "detail": str(exc)})
    parts = [f"TCP {timings['tcp_s'] * 1000:.0f} ms"]
    if "tls_s" in timings:
        parts.append(f"TLS {timings['tls_s'] * 1000:.0f} ms")
    parts.append(f"first byte {timings['first_byte_s'] * 1000:.0f} ms (HTTP {timings['status']})")
    return Finding("connect", subject, "ok", f"{subject}: " + ", ".join(parts), timings)


async def _timed_get(origin, proxy: str | None, ssl_context, timings: dict) -> None:
    """Connect (to the proxy, if any), tunnel and handshake for https, GET `path`; fill `timings`."""
    scheme, host, port, path = origin
    loop = asyncio.get_running_loop()
    via = urlsplit(proxy) if proxy else None
    dest = (via.hostname, via.port or 80) if via else (host, port)
    authority, auth = _authority(host, port), _proxy_auth(via)
    sock = await _tcp(loop, dest, timings)
    try:
        if via and scheme == "https":
            timings["phase"] = "proxy CONNECT"
            request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n"
            await loop.sock_sendall(sock, request.encode())
            reply = await _read_head(loop, sock)
            if reply.split(b" ", 2)[1:2] != [b"200"]:
                raise ValueError(f"the proxy refused the tunnel: {reply.splitlines()[0].decode('latin-1')}")
        timings["phase"] = "TLS handshake"
        start = time.perf_counter()
        tls = (ssl_context or ssl.create_default_context()) if scheme == "https" else None
        reader, writer = await asyncio.open_connection(sock=sock, ssl=tls, server_hostname=host if tls else None)
        if tls:
            timings["tls_s"] = time.perf_counter() - start
    except BaseException:
        sock.close()
        raise
    try:
        timings["phase"] = "first byte"
        target, auth = (f"http://{authority}{path}", auth) if via and scheme == "http" else (path, "")
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {authority}\r\n{auth}Connection: close\r\nAccept: */*\r\n\r\n".encode())
        start = time.perf_counter()
        status_line = await reader.readline()
        timings["first_byte_s"] = time.perf_counter() - start
        if not status_line:
            raise ConnectionResetError("the server closed the connection without answering")
        timings["status"] = int(status_line.split(b" ", 2)[1]) if status_line.count(b" ") else None
        del timings["phase"]
    finally:
        writer.close()


def _proxy_auth(via) -> str:
    """A Proxy-Authorization header line for a proxy URL with user:password, else ""."""
    if via is None or via.username is None:
        return ""
    token = base64.b64encode(f"{unquote(via.username)}:{unquote(via.password or '')}".encode()).decode()
    return f"Proxy-Authorization: Basic {token}\r\n"


async def _tcp(loop, dest: tuple[str, int], timings: dict) -> socket.socket:
    """A connected non-blocking socket, trying each address in turn (localhost may be ::1 first)."""
    infos = await loop.getaddrinfo(*dest, type=socket.SOCK_STREAM)
    timings["phase"] = "TCP connect"
    for i, (family, kind, proto, _, address) in enumerate(infos):
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        start = time.perf_counter()
        try:
            await loop.sock_connect(sock, address)
        except BaseException as exc:
            sock.close()
            if i + 1 == len(infos) or not isinstance(exc, OSError):
                raise
            continue
        timings["tcp_s"] = time.perf_counter() - start
        return sock
    raise OSError(f"no address for {dest[0]}")


async def _read_head(loop, sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            raise ConnectionResetError("the proxy closed the connection")
        head += chunk
    return head
