"""Reading one chat completion as it arrives: keep-alives, first byte, first token, finish.

DeepSeek holds an overloaded request open instead of refusing it: empty lines for a
plain request, `: keep-alive` comments for a streaming one, for up to ten minutes. So
"no answer yet" has to be told apart from "no connection": this module counts what
arrives and when, and `verdict` turns that into an outcome.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp

from assistant.probes import http

OVERLOAD_FINISH = "insufficient_system_resource"  # DeepSeek: ran out of capacity mid-answer


@dataclass
class Reading:
    """What a 200 completion response delivered, times in seconds from the request."""

    started: float  # time.monotonic() when the request was sent
    ttfb_s: float | None = None  # response headers
    ttft_s: float | None = None  # first content (or reasoning) token, or the plain JSON body
    heartbeats: int = 0
    chunks: int = 0
    done: bool = False  # `data: [DONE]`, or a whole JSON body
    finish_reason: str | None = None
    error: str | None = None  # an error object sent inside a 200 stream
    timed_out: bool = False
    broken: str | None = None  # how the connection failed mid-answer (reset, ...)
    body: bytes = b""

    def now(self) -> float:
        return time.monotonic() - self.started


async def read(resp: aiohttp.ClientResponse, reading: Reading, stream: bool) -> Reading:
    """Read to the end, or until the request's own timeout fires (then `timed_out`)."""
    reading.ttfb_s = reading.now()
    # A gateway that ignores `stream: true` answers plain JSON: read what it sent.
    stream = stream and "json" not in resp.headers.get("Content-Type", "")
    buffer = b""
    try:
        async for chunk in resp.content.iter_any():
            if stream:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    _sse_line(line.rstrip(b"\r"), reading)
            else:
                _plain(chunk, reading)
    except asyncio.TimeoutError:
        reading.timed_out = True
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        reading.broken = http.failure_kind(exc)  # keep what arrived before the break
    if not stream and not reading.timed_out and reading.body:
        _plain_body(reading)
    return reading


def _sse_line(line: bytes, r: Reading) -> None:
    if line.startswith(b":"):
        r.heartbeats += 1
        return
    if not line.startswith(b"data:"):
        return  # `event:`, `id:`, and the blank line between events
    payload = line[5:].strip()
    if payload == b"[DONE]":
        r.done = True
        return
    try:
        chunk = json.loads(payload)
    except ValueError:
        return
    r.chunks += 1
    _choice(chunk, r)


def _choice(obj, r: Reading) -> None:
    """Note the first token, the finish reason, or an error object in a chunk or body."""
    if not isinstance(obj, dict):
        return
    if isinstance(obj.get("error"), dict):
        r.error = str(obj["error"].get("message") or obj["error"])
    for choice in obj.get("choices") or []:
        part = choice.get("delta") or choice.get("message") or {}
        if r.ttft_s is None and (part.get("content") or part.get("reasoning_content")):
            r.ttft_s = r.now()
        r.finish_reason = choice.get("finish_reason") or r.finish_reason


def _plain(chunk: bytes, r: Reading) -> None:
    if not r.body:  # still queued: only whitespace so far
        stripped = chunk.lstrip()
        r.heartbeats += chunk[: len(chunk) - len(stripped)].count(b"\n")
        chunk = stripped
        if chunk:
            r.ttft_s = r.now()  # a plain answer arrives all at once
    r.body += chunk


def _plain_body(r: Reading) -> None:
    try:
        obj = json.loads(r.body)
    except ValueError:
        return
    r.done = isinstance(obj, dict) and "choices" in obj
    _choice(obj, r)


def verdict(r: Reading) -> tuple[str, str]:
    """(outcome, what happened) for a 200 response."""
    if r.error:
        busy = "overload" in r.error.lower() or "busy" in r.error.lower()
        return ("busy" if busy else "error"), f"sent an error inside the answer: {r.error}"
    if r.finish_reason == OVERLOAD_FINISH:
        return (
            "busy",
            f"started answering, then stopped: finish_reason {OVERLOAD_FINISH} (out of capacity)",
        )
    if r.done or r.finish_reason:
        first = f", first token {r.ttft_s:.2f} s" if r.ttft_s is not None else ""
        return "ok", f"answered in {r.now():.2f} s{first}"
    if r.timed_out:
        limit = r.now()
        if r.ttft_s is None and not r.chunks and r.heartbeats:
            return (
                "queued",
                f"kept the request queued: the connection stayed open with {r.heartbeats} keep-alive(s) and no token for {limit:.1f} s",
            )
        if r.ttft_s is None and not r.chunks:
            return "timeout", f"sent headers, then nothing for {limit:.1f} s"
        return "timeout", f"started answering but did not finish within {limit:.1f} s"
    if r.broken:
        return (
            "error",
            f"the connection broke mid-answer ({http.FAILURES[r.broken]}) after {r.heartbeats} keep-alive(s), {r.chunks} chunk(s)",
        )
    if r.body:
        return "error", "answered 200 with a body that is not a completion"
    if r.heartbeats and not r.chunks:
        return (
            "busy",
            f"closed the connection after {r.heartbeats} keep-alive(s) without answering (the queue gave up)",
        )
    return "error", "closed the stream before it finished (no [DONE], no finish_reason)"
