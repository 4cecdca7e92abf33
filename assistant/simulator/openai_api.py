"""The OpenAI-compatible API (DeepSeek's `/v1`): models and chat completions, real error bodies.

Any non-empty bearer token is accepted: the point is to exercise the error paths a probe
meets (401, 429 with Retry-After, 503 overloaded), not to model accounts.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp import web

from assistant.simulator import texts, wire
from assistant.simulator.state import HTTP_503, RATE_LIMIT, STALL, TRUNCATED
from assistant.simulator.web import STATE

MODELS = ("deepseek-chat", "deepseek-reasoner")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)


def _error(status: int, message: str, type_: str, code: str, headers=None) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return wire.json_response(body, status=status, headers=headers)


def _unauthorized() -> web.Response:
    return _error(401, texts.API_AUTH_FAILED, "authentication_error", "invalid_request_error")


def _authorized(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


async def models(request: web.Request) -> web.Response:
    if not _authorized(request):
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
        return _error(
            400, texts.API_INVALID_FORMAT, "invalid_request_error", "invalid_request_error"
        )

    turn = request.app[STATE].api_turn()
    s = turn.settings
    if turn.outcome == HTTP_503:
        return _error(503, texts.API_OVERLOADED, "server_error", "server_overloaded")
    if turn.outcome == RATE_LIMIT:
        headers = {"Retry-After": s.retry_after} if s.retry_after else None
        return _error(
            429, texts.API_RATE_LIMITED, "rate_limit_error", "rate_limit_exceeded", headers
        )

    model = str(body.get("model") or MODELS[0])
    answer = wire.answer_for(prompt)
    ident = f"chatcmpl-{uuid.uuid4()}"
    created = int(time.time())
    if not body.get("stream"):
        # Stalls and truncation are stream faults: a non-streaming request gets the answer.
        return wire.json_response(_completion(ident, created, model, prompt, answer))
    return await _stream(request, turn.outcome, s, ident, created, model, answer)


async def _stream(request, outcome, s, ident, created, model, answer) -> web.StreamResponse:
    stream = await wire.open_stream(request)

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
                await stream.write(chunk({}, finish_reason="stop"))
                await stream.write(wire.sse("[DONE]"))
        await stream.write_eof()
    except ConnectionResetError:
        pass
    return stream


def _completion(ident: str, created: int, model: str, prompt: str, answer: str) -> dict:
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
                "finish_reason": "stop",
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
