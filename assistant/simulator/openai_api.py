"""The OpenAI-compatible API (DeepSeek's `/v1`): models and chat completions, real error bodies.

Any non-empty bearer token is accepted: the point is to exercise the error paths a probe
meets (every documented error status, 429 with or without Retry-After, a queue that only
sends keep-alives, an answer cut short by `insufficient_system_resource`), not to model
accounts.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp import web

from assistant.simulator import api_errors, wire
from assistant.simulator.state import API_ERROR, HTTP_503, RATE_LIMIT, STALL, TRUNCATED, describe
from assistant.simulator.web import SIM_LOG, STATE

MODELS = ("deepseek-chat", "deepseek-reasoner")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)


def _unauthorized() -> web.Response:
    return api_errors.response(401)


def _authorized(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


async def models(request: web.Request) -> web.Response:
    # A staged 401 is a bad key, and a bad key fails everywhere; other errors are the model's.
    if not _authorized(request) or request.app[STATE].settings.api_status == 401:
        return _unauthorized()
    data = [{"id": m, "object": "model", "owned_by": "deepseek"} for m in MODELS]
    return wire.json_response({"object": "list", "data": data})


async def chat_completions(request: web.Request) -> web.StreamResponse:
    if not _authorized(request):
        return _unauthorized()
    try:
        body = await request.json()
        messages = body["messages"]
        prompt = _last_user_text(messages)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return api_errors.response(400)

    turn = request.app[STATE].api_turn()
    request[SIM_LOG] = describe(turn)
    s = turn.settings
    if turn.outcome in (API_ERROR, HTTP_503, RATE_LIMIT):
        status = {HTTP_503: 503, RATE_LIMIT: 429}.get(turn.outcome, s.api_status)
        return api_errors.response(status, s.retry_after)

    model = str(body.get("model") or MODELS[0])
    answer, finish_reason = _answer(prompt, body.get("max_tokens"), s.api_finish_reason)
    ident = f"chatcmpl-{uuid.uuid4()}"
    created = int(time.time())
    streaming = bool(body.get("stream"))
    if not s.api_queued and not streaming:
        # Stalls and truncation are stream faults: a non-streaming request gets the answer.
        return wire.json_response(_completion(ident, created, model, prompt, answer, finish_reason))
    if streaming:
        response = await wire.open_stream(request)
    else:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
    try:
        await _hold(response, streaming, s)
        if streaming:
            return await _stream(
                response, turn.outcome, s, ident, created, model, answer, finish_reason
            )
        done = _completion(ident, created, model, prompt, answer, finish_reason)
        await response.write(wire.dumps(done).encode())
        await response.write_eof()
    except ConnectionResetError:  # the client gave up waiting: nothing left to send
        pass
    return response


def _answer(prompt: str, max_tokens, finish_reason: str) -> tuple[str, str]:
    """The answer and its finish reason: cut to `max_tokens` (a chunk counts as a token)
    or, for any finish reason but stop, cut in half as an overloaded server does."""
    answer = wire.answer_for(prompt)
    if finish_reason != "stop":
        return answer[: max(1, len(answer) // 2)], finish_reason
    parts = wire.chunks(answer)
    if isinstance(max_tokens, int) and 0 < max_tokens < len(parts):
        return "".join(parts[:max_tokens]), "length"
    return answer, "stop"


async def _hold(response: web.StreamResponse, streaming: bool, s) -> None:
    """Keep the request `api_queued` seconds in the queue, sending what the real API sends."""
    # Streaming waits get `: keep-alive` comments, non-streaming ones bare empty lines.
    beat = wire.sse_comment("keep-alive") if streaming else b"\n"
    loop = asyncio.get_running_loop()
    end = loop.time() + s.api_queued
    while (left := end - loop.time()) > 0:
        await response.write(beat)
        await asyncio.sleep(min(left, max(s.heartbeat_interval, 0.01)))  # never a busy loop


async def _stream(stream, outcome, s, ident, created, model, answer, finish_reason):
    def chunk(delta: dict, finish_reason=None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return wire.sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice],
            }
        )

    try:
        if outcome == STALL:
            # The real API keeps a waiting stream open with keep-alive comments.
            for _ in range(s.heartbeats):
                await stream.write(wire.sse_comment("keep-alive"))
                await asyncio.sleep(s.heartbeat_interval)
        else:
            parts = wire.chunks(answer)
            if outcome == TRUNCATED:
                parts = parts[: max(1, len(parts) // 2)]
            await stream.write(chunk({"role": "assistant", "content": ""}))
            for part in parts:
                await stream.write(chunk({"content": part}))
                await asyncio.sleep(s.chunk_delay)
            if outcome != TRUNCATED:
                await stream.write(chunk({}, finish_reason=finish_reason))
                await stream.write(wire.sse("[DONE]"))
        await stream.write_eof()
    except ConnectionResetError:
        pass
    return stream


def _completion(ident, created, model, prompt, answer, finish_reason="stop") -> dict:
    prompt_tokens, completion_tokens = len(prompt.split()) or 1, len(answer.split()) or 1
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _last_user_text(messages) -> str:
    """Text of the last user message; content may be a string or a list of typed parts."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    content = (users or messages)[-1].get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)
