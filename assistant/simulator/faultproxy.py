"""A local forward HTTP proxy that breaks streams the way firewalls and middleboxes do.

    with FaultProxy(faults=["buffer_sse"]) as proxy:
        ...  # Chromium: proxy={"server": proxy.url, "bypass": "<-loopback>"}; aiohttp: proxy=proxy.url

Absolute-form requests are forwarded and their responses streamed back byte for byte;
CONNECT is tunnelled (Chromium sends WebSockets that way). It speaks raw asyncio streams
rather than aiohttp's server because aiohttp's server cannot hand over the socket after
a CONNECT. Every forwarded request is sent upstream with `Connection: close`, so the end
of a response is the end of the upstream connection and no body framing needs parsing.
It forwards to loopback targets only.
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus
from urllib.parse import urlsplit

from assistant.simulator.server import _url, bind, check_loopback
from assistant.simulator.thread import LoopThread

FAULTS = ("buffer_sse", "drop_sse", "refuse_ws")
HEAD_LIMIT = 64 * 1024
# Bounds on every wait: a silent peer must not hold a handler (or a test) forever.
HEAD_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "proxy-authorization", "te")


class FaultProxy:
    """The fault proxy on a background thread: `start()`, use `url`, `stop()` (or `with`)."""

    def __init__(self, faults=(), latency: float = 0.0, host: str = "127.0.0.1", port: int = 0):
        check_loopback(host)
        self.host, self.port = host, port
        self.requests = 0  # requests and CONNECTs received since start/configure
        self._thread = LoopThread("faultproxy")
        self.configure(faults=faults, latency=latency)

    def configure(self, faults=None, latency: float | None = None) -> FaultProxy:
        """Change the faults and/or the latency (validated) and reset the request counter."""
        if faults is not None:
            faults = (faults,) if isinstance(faults, str) else faults
            unknown = sorted(set(faults) - set(FAULTS))
            if unknown:
                raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
            self.faults = frozenset(faults)
        if latency is not None:
            if not 0 <= latency <= 60:
                raise ValueError(f"latency is 0 to 60 seconds, not {latency}")
            self.latency = float(latency)
        self.requests = 0
        return self

    def start(self) -> FaultProxy:
        if not self._thread.running:
            sock = bind(self.host, self.port)
            self.port = sock.getsockname()[1]

            async def setup() -> asyncio.AbstractServer:
                try:
                    return await asyncio.start_server(self._handle, sock=sock, limit=HEAD_LIMIT)
                except BaseException:
                    sock.close()
                    raise

            async def cleanup(server: asyncio.AbstractServer) -> None:
                # Not wait_closed(): since 3.12 it waits for open tunnels, which end on their own.
                server.close()

            self._thread.start(setup, cleanup)
        return self

    def stop(self) -> None:
        self._thread.stop()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._thread.running:
            raise RuntimeError("the fault proxy is not running: call start() first")
        return _url(self.host, self.port)

    # -- one client connection ---------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            method, target, version, headers = _parse_head(head)
            self.requests += 1
            faults, latency = self.faults, self.latency  # one consistent view per request
            if latency:
                await asyncio.sleep(latency)
            # Chromium sends ws:// through CONNECT, aiohttp as an absolute-form Upgrade request.
            upgrade = any(k.lower() == "upgrade" and "websocket" in v.lower() for k, v in headers)
            if (upgrade or method == "CONNECT") and "refuse_ws" in faults:
                return await _reply(writer, 403, "WebSockets are blocked on this path")
            host, port, path = _target(method, target)
            try:
                check_loopback(host)
            except ValueError:
                return await _reply(writer, 403, "the fault proxy forwards to loopback only")
            try:
                up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(host, port), HEAD_TIMEOUT)
            except (OSError, asyncio.TimeoutError) as exc:
                return await _reply(writer, 502, f"cannot reach {host}:{port}: {exc}")
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await _tunnel(reader, writer, up_reader, upstream)
                return
            kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
            conn = [("Connection", "Upgrade")] if upgrade else [("Connection", "close")]
            upstream.write(_head(f"{method} {path} {version}", kept + conn))
            if upgrade:
                await _tunnel(reader, writer, up_reader, upstream)
                return
            sending = asyncio.ensure_future(_pump(reader, upstream))
            try:
                await self._respond(up_reader, writer, faults)
            finally:
                sending.cancel()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
            pass  # the client went quiet or sent junk: just hang up
        except ValueError as exc:
            await _reply(writer, 400, str(exc))
        except ConnectionError:
            pass  # either side hung up: nothing to tell anyone
        except asyncio.CancelledError:
            # The proxy is stopping with this connection open; asyncio's stream callback
            # would log a cancelled handler as an error, and nobody awaits this task.
            pass
        finally:
            for w in (upstream, writer):
                if w is not None:
                    w.close()

    async def _respond(self, up_reader, writer, faults) -> None:
        head = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
        status_line, *_, headers = _parse_head(head, response=True)
        ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
        is_sse = ctype.split(";")[0].strip().lower() == "text/event-stream"
        if is_sse and "drop_sse" in faults:
            return await _reply(writer, 502, "event streams are blocked on this path")
        kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        writer.write(_head(status_line, kept + [("Connection", "close")]))
        if is_sse and "buffer_sse" in faults:
            # What a buffering middlebox does: nothing until the stream ends, then everything.
            writer.write(await asyncio.wait_for(up_reader.read(), IDLE_TIMEOUT))
            await writer.drain()
        else:
            await _pump(up_reader, writer)


def _parse_head(head: bytes, response: bool = False):
    """(first line parts..., [(name, value)]) of a request or response head; ValueError if malformed."""
    first, *lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines if line]
    if any(len(h) != 2 for h in headers):
        raise ValueError("malformed header line")
    if response:
        return first, headers
    parts = first.split(" ")
    if len(parts) != 3:
        raise ValueError(f"malformed request line: {first[:100]!r}")
    return (*parts, headers)


def _target(method: str, target: str) -> tuple[str, int, str]:
    """(host, port, origin-form path) of a CONNECT authority or an absolute http:// URL."""
    url = urlsplit(f"//{target}" if method == "CONNECT" else target)
    if method != "CONNECT" and url.scheme not in ("http", "ws"):
        raise ValueError("a forward proxy needs absolute http:// URLs (or CONNECT)")
    if not url.hostname:
        raise ValueError(f"no host in {target[:100]!r}")
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    return url.hostname, url.port or 80, path


def _head(first: str, headers) -> bytes:
    return ("\r\n".join([first, *(f"{k}: {v}" for k, v in headers)]) + "\r\n\r\n").encode("latin-1")


async def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = f"{text}\n".encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", len(body)), ("Connection", "close")]
    writer.write(_head(f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", headers) + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy until EOF (or IDLE_TIMEOUT of silence), then half-close `dst`."""
    # OSError, not only ConnectionError: half-closing a socket whose peer has already gone
    # raises ENOTCONN (errno 107), which is no ConnectionError; either way the tunnel is done.
    with contextlib.suppress(OSError, asyncio.TimeoutError):
        while data := await asyncio.wait_for(src.read(65536), IDLE_TIMEOUT):
            dst.write(data)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()


async def _tunnel(reader, writer, up_reader, upstream) -> None:
    await asyncio.gather(_pump(reader, upstream), _pump(up_reader, writer))
