"""The plain skin: a generic chat page with its own markup, texts and stream format.

It serves the same scenarios, busy forms and languages as the DeepSeek skin (`web`), with
nothing in common on the surface, so a detector that only knows DeepSeek's class names,
"server busy" wording or `event: hint` frames fails here. Under the surface the rules are
the same (the `State` decides every turn): the session cookie, the sign-in token the page
keeps in localStorage and sends as `Authorization: Bearer`, the cacheable script bundle
that stale-cache serves old once, and conversations counted by id for long-conversation.

The wire is OpenAI-like SSE from `POST /backend/conversation`: answer chunks
`data: {"choices":[{"delta":{"content":"po"}}]}`, a finishing chunk, `data: [DONE]`; a
busy turn sends `: ping` comments, then `data: {"error":{...,"type":"overloaded_error"}}`
and ends. http-503 and rate-limit are HTTP statuses with `{"error":{"message":...}}`. The
server names a new conversation in the `X-Conversation-Id` response header.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from string import Template

from aiohttp import web

from assistant.simulator import texts, wire
from assistant.simulator import web as common
from assistant.simulator.state import (
    BUSY,
    HTTP_503,
    NEW_BUILD,
    OLD_BUILD,
    RATE_LIMIT,
    SESSION_COOKIE,
    STALL,
    TRUNCATED,
    describe,
)

STATE = common.STATE
_PAGE = Template((common.HERE / "plain.html").read_text(encoding="utf-8"))

CONVERSATION_PATH = "/backend/conversation"
# What the build before the last deploy posted to; retired since, it answers 410 Gone.
RETIRED_CONVERSATION_PATH = "/backend/conversation_v0"
BUILDS = {
    OLD_BUILD: {"id": "plain-2024.12-old", "conversation": RETIRED_CONVERSATION_PATH},
    NEW_BUILD: {"id": "plain-2025.01", "conversation": CONVERSATION_PATH},
}
CONVERSATION_HEADER = "X-Conversation-Id"


def add_routes(app: web.Application) -> None:
    """The plain skin's endpoints and assets; `skins` routes the page paths."""
    app.router.add_post(CONVERSATION_PATH, conversation)
    app.router.add_post(RETIRED_CONVERSATION_PATH, retired_conversation)
    app.router.add_get("/assets/app.js", bundle)
    app.router.add_get("/assets/app.css", stylesheet)


async def page(request: web.Request) -> web.Response:
    """The plain page, in the current language and busy form."""
    s = request.app[STATE].settings
    lang = s.lang
    config = {
        "lang": lang,
        "busyForm": s.busy_form,
        "texts": {
            "busy": texts.PLAIN_BUSY[lang],
            "rateLimit": texts.PLAIN_RATE_LIMIT[lang],
            "errorGeneric": texts.PLAIN_ERROR_GENERIC[lang],
            "retry": texts.PLAIN_RETRY_LABEL[lang],
        },
        "toastMs": 3000,
    }
    body = _PAGE.substitute(
        lang=lang,
        placeholder=html.escape(texts.PLAIN_PLACEHOLDER[lang]),
        new_chat=html.escape(texts.PLAIN_NEW_CHAT[lang]),
        submit_label=html.escape(texts.PLAIN_SUBMIT_LABEL),
        attach_label=html.escape(texts.PLAIN_ATTACH_LABEL),
        config_json=common.config_script(config),
    )
    return common.html_page(request, body)


async def bundle(request: web.Request) -> web.Response:
    """The page's script: plain.js, built against the endpoint of the build this request gets."""
    return common.script_bundle(request, "plain.js", BUILDS, "__APP_BUILD__")


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(common.STATIC_DIR / "plain.css")


def error_body(message: str, kind: str) -> dict:
    """The plain skin's error envelope, the same in a JSON reply and in a stream frame."""
    return {"error": {"message": message, "type": kind}}


def delta(content: dict, finish_reason: str | None = None) -> dict:
    """One stream chunk; the finish reason only on the last one, as OpenAI's streams do."""
    choice = {"delta": content, **({"finish_reason": finish_reason} if finish_reason else {})}
    return {"choices": [choice]}


async def retired_conversation(request: web.Request) -> web.Response:
    """The old build's endpoint, gone since the deploy; the page shows its generic error."""
    body = error_body(common.RETIRED_MSG, "invalid_request_error")
    return wire.json_response(body, status=410)


async def conversation(request: web.Request) -> web.StreamResponse:
    """One send: an HTTP error, or a stream whose frames `State.web_turn` decides."""
    body = await common.json_body(request)
    prompt = _prompt(body)
    chat_id = str(body.get("conversation_id") or "") or str(uuid.uuid4())
    headers = {CONVERSATION_HEADER: chat_id}
    if request.headers.get("X-Client-Platform") == "web" and not common.bearer(request):
        # Like the DeepSeek skin: the web client always sends its token.
        body = error_body(texts.PLAIN_AUTH_FAILED, "authentication_error")
        return wire.json_response(body, status=401)
    turn = request.app[STATE].web_turn(chat_id, request.cookies.get(SESSION_COOKIE))
    request[common.SIM_LOG] = describe(turn)
    s = turn.settings
    if turn.outcome == HTTP_503:
        body = error_body(texts.PLAIN_BUSY[s.lang], "overloaded_error")
        return wire.json_response(body, status=503, headers=headers)
    if turn.outcome == RATE_LIMIT:
        if s.retry_after:
            headers["Retry-After"] = s.retry_after
        body = error_body(texts.PLAIN_RATE_LIMIT[s.lang], "rate_limit_error")
        return wire.json_response(body, status=429, headers=headers)

    stream = web.StreamResponse(status=200, headers={**wire.sse_headers(), **headers})
    await stream.prepare(request)
    try:
        await _play(stream, turn.outcome, s, prompt)
        await stream.write_eof()
    except ConnectionResetError:
        pass  # the page went away (Start over, navigation): nothing left to tell it
    return stream


async def _play(stream: web.StreamResponse, outcome: str, s, prompt: str) -> None:
    """Write one turn's frames: pings then an error or nothing, or the answer's chunks."""
    if outcome in (BUSY, STALL):
        await common.heartbeats(stream, s.heartbeats, s.heartbeat_interval, "ping")
        if outcome == BUSY:
            await stream.write(wire.sse(error_body(texts.PLAIN_BUSY[s.lang], "overloaded_error")))
        return  # STALL: the stream just ends
    parts = wire.chunks(wire.answer_for(prompt))
    if outcome == TRUNCATED:
        parts = parts[: max(1, len(parts) // 2)]
    for part in parts:
        await stream.write(wire.sse(delta({"content": part})))
        await asyncio.sleep(s.chunk_delay)
    if outcome != TRUNCATED:
        await stream.write(wire.sse(delta({}, "stop")))
        await stream.write(wire.sse("[DONE]"))


def _prompt(body: dict) -> str:
    """The last user message's text (`messages: [{role, content}]`), or ''."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else ""
