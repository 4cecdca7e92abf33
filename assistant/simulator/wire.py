"""Small pure helpers for what goes on the wire: answers, chunks, SSE frames, JSON envelopes."""

from __future__ import annotations

import json
import re

from aiohttp import web

from assistant.simulator import texts

CHUNK_SIZE = 4  # a few characters per `data:` patch, so the bubble visibly grows

_SINGLE_WORD = re.compile(r"single word:\s*(\S+)", re.IGNORECASE)
# ASCII and full-width trailing punctuation that a "single word: pong." prompt drags along.
_TRAILING_PUNCT = ".,;:!?\"'`)]}。，；：！？”’）"


def answer_for(prompt: str) -> str:
    """The simulated model's answer: predictable, so tests can assert on it."""
    if prompt.startswith("Echo: "):
        return prompt[len("Echo: ") :]
    match = _SINGLE_WORD.search(prompt)
    if match:
        word = match.group(1).rstrip(_TRAILING_PUNCT)
        if word:
            return word
    return texts.DEFAULT_ANSWER_PREFIX + prompt


def chunks(text: str, size: int = CHUNK_SIZE) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def dumps(obj) -> str:
    # Compact like the real wire, and non-ASCII kept as is (the real site sends UTF-8).
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sse(data, event: str | None = None) -> bytes:
    """One SSE frame; `data` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def sse_comment(text: str = "") -> bytes:
    """A comment frame: the heartbeat a busy server sends while it waits (`: \\n\\n`)."""
    return f": {text}\n\n".encode()


def json_response(obj, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        text=dumps(obj), status=status, headers=headers, content_type="application/json"
    )


def biz(data) -> dict:
    """The web API's success envelope: code/msg around biz_code/biz_msg/biz_data."""
    return {"code": 0, "msg": "", "data": {"biz_code": 0, "biz_msg": "", "biz_data": data}}


def sse_headers() -> dict[str, str]:
    return {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    }


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=sse_headers())
    await response.prepare(request)
    return response
