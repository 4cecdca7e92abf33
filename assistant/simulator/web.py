"""The web chat's DeepSeek skin (the page and the two endpoints its script calls), plus
what both skins share: the session cookie, the cacheable script bundle, the sign-in
token check and leaving out hidden features. `plain` is the other skin; `skins` picks
one per page load.

The page is rendered per request from `page.html` (the 2025 markup) or `page2026.html`
(the 2026 markup, `markup` setting) so it carries the current language; the busy form,
the markup and the stream path are fixed when the page loads, like a deployed front end
(reload after `configure(...)`). The stream imitates DeepSeek's SSE: `ready`, `data:`
patches, `finish`, `close`, or for a busy turn bare `: ` heartbeats, an error `hint` and a
`close` that asks for a retry. It is served at the `stream_path` setting (the real
site's path by default); the other known paths answer 404 meanwhile.

Browser state is part of the simulation, so each of its faults has its own remedy: the
page's script is a cacheable bundle (stale-cache serves an old build once, and the
browser keeps it until a hard reload or an emptied cache), the page keeps a session
cookie (bad-cookie plants a corrupt one until cookies are cleared), and the page's
script keeps its sign-in token in localStorage, as DeepSeek does.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from pathlib import Path
from string import Template
from urllib.parse import quote

from aiohttp import web

from assistant.simulator import texts, wire
from assistant.simulator.settings import HIDDEN_ROW_STYLES, STREAM_PATHS
from assistant.simulator.state import (
    BUSY,
    CORRUPT_SESSION,
    HTTP_503,
    NEW_BUILD,
    OLD_BUILD,
    RATE_LIMIT,
    SESSION_COOKIE,
    STALL,
    TRUNCATED,
    VISITOR_COOKIE,
    State,
    current_visitor,
    describe,
)

STATE = web.AppKey("state", State)
SIM_LOG = web.RequestKey("sim_log", str)  # what a request got, for the request log
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
_PAGES = {
    "2025": Template((HERE / "page.html").read_text(encoding="utf-8")),
    "2026": Template((HERE / "page2026.html").read_text(encoding="utf-8")),
}
# The elements chat.js drives, per markup (page.html / page2026.html): the 2026 page has
# hashed class names only, as the live one does, so the script is told where they are.
_DOM = {
    "2025": {
        "messages": ".chat-messages",
        "input": "#chat-input",
        "send": ".send-button",
        "newChat": ".new-chat-button",
        "fileInput": ".upload-button input[type=file]",
        "attachments": ".attachments",
        "toasts": ".toast-container",
        "form": ".composer",
    },
    "2026": {
        "messages": ".ds-virtual-list-visible-items",
        "input": "textarea._27c9245",
        "send": "div._7436101",
        "newChat": "div._217e214",
        "fileInput": "label._17e543b input[type=file]",
        "attachments": "div._8c1f6e0",
        "toasts": "div._5e3a8b2",
        "form": None,
    },
}

COMPLETION_PATH = STREAM_PATHS[0]
# What the build before the last deploy posted to; retired since, it answers 410 Gone.
RETIRED_COMPLETION_PATH = "/api/v0/chat/completion_v1"
RETIRED_MSG = "This API version has been retired. Please reload the page."  # the simulator's own
# Each build is chat.js behind a line naming it and the endpoint it was built against
# (the new build's is the `stream_path` setting, filled in per request).
BUILDS = {
    OLD_BUILD: {"id": "2025.01-old", "completion": RETIRED_COMPLETION_PATH},
    NEW_BUILD: {"id": "2025.02", "completion": COMPLETION_PATH},
}
# Cacheable like a real deploy's hashed bundle, so a soft reload serves it from the cache.
BUNDLE_CACHE_CONTROL = "public, max-age=86400"


# A feature's markup in a page template sits between these markers, so `hide_features`
# can leave it out without the template knowing about settings.
_FEATURE = re.compile(r"[ \t]*<!--feature:([\w-]+)-->\n?(.*?)[ \t]*<!--/feature:\1-->\n?", re.DOTALL)


def add_routes(app: web.Application) -> None:
    """The DeepSeek skin's endpoints; `skins` routes the page paths to the current skin."""
    app.router.add_post("/api/v0/chat_session/create", create_session)
    for path in STREAM_PATHS:  # only the `stream_path` setting's answers; see `completion`
        app.router.add_post(path, completion)
    app.router.add_post(RETIRED_COMPLETION_PATH, retired_completion)
    app.router.add_get("/static/bundle.js", bundle)  # before the static folder, which would 404 it
    app.router.add_static("/static/", STATIC_DIR)


async def page(request: web.Request) -> web.Response:
    """The DeepSeek-style page, in the current language, busy form and markup."""
    s = request.app[STATE].settings
    lang = s.lang
    config = {
        "lang": lang,
        "markup": s.markup,
        "busyForm": s.shown_busy_form,
        "hiddenBusyRow": HIDDEN_ROW_STYLES.get(s.hidden_busy_row or ""),
        "dom": _DOM[s.markup],
        "texts": {
            "busy": texts.busy_text(s.shown_busy_form, lang),
            "rateLimit": texts.RATE_LIMIT[lang],
            "errorGeneric": texts.ERROR_GENERIC[lang],
            "retry": texts.RETRY_LABEL_2026 if s.markup == "2026" else texts.RETRY_LABEL[lang],
            "copy": texts.COPY_LABEL_2026,
        },
        "toastMs": 3000,
    }
    config_json = config_script(config)
    body = _PAGES[s.markup].substitute(
        lang=lang,
        placeholder=html.escape(texts.PLACEHOLDER[lang]),
        new_chat=html.escape(texts.NEW_CHAT[lang]),
        send_label=html.escape(texts.SEND_LABEL),
        upload_label=html.escape(texts.UPLOAD_LABEL),
        config_json=config_json,
        bundle_src=html.escape(bundle_src(s.stream_path)),
    )
    return html_page(request, body)


def bundle_src(stream_path: str) -> str:
    """The script bundle's URL: a build against another stream path is another file, as a
    deploy's would be, so a bundle the browser cached for the old path is not reused."""
    return "/static/bundle.js" if stream_path == COMPLETION_PATH else f"/static/bundle.js?stream={quote(stream_path, safe='')}"


def config_script(config: dict) -> str:
    """`config` as JSON to embed in a <script> element, "<" escaped so no text can close it."""
    return json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")


def drop_features(body: str, hidden: tuple[str, ...]) -> str:
    """The page without the marked markup of each hidden feature (markers of shown ones go too)."""
    return _FEATURE.sub(lambda m: "" if m.group(1) in hidden else m.group(2), body)


def html_page(request: web.Request, body: str) -> web.Response:
    """A page load of either skin: fresh every time, with hidden features left out, and the
    session cookie that `State.page_session` decides (bad-cookie plants a corrupt one).

    The page names its browser session twice, in the `sim_visitor` cookie and in its ETag
    (it is stored but revalidated on every load, so the browser sends the ETag back), and
    a conversation's URL names the session that began it: a browser that cleared only its
    cookies, or only its cache, is still the same session.
    """
    state = request.app[STATE]
    # Named by its cookie or cached page, else by the conversation in the URL it reloads.
    visitor, new = state.begin_visit(current_visitor.get() or state.owner(request.match_info.get("chat_id")))
    current_visitor.set(visitor)
    hidden = state.settings.hide_features
    headers = {"Cache-Control": "no-cache", "ETag": f'"{visitor}"'}
    response = web.Response(text=drop_features(body, hidden), content_type="text/html", headers=headers)
    session = state.page_session(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        response.set_cookie(SESSION_COOKIE, session, path="/", httponly=True, samesite="Lax")
    if request.cookies.get(VISITOR_COOKIE) != visitor:
        response.set_cookie(VISITOR_COOKIE, visitor, path="/", httponly=True, samesite="Lax", max_age=86400 * 365)
    planted = ", bad-cookie: planted the corrupt session cookie" if session == CORRUPT_SESSION else ""
    request[SIM_LOG] = f"page ({'a new browser session' if new else 'same browser session'}{planted})"
    return response


def script_bundle(request: web.Request, script: str, builds: dict, global_name: str) -> web.Response:
    """A skin's page script (a file in static/) behind a line that sets `global_name` to the
    build this request gets: stale-cache's old build is the same script pointed at a
    retired endpoint, and cacheable, so only a hard reload or an emptied cache replaces it."""
    which = request.app[STATE].bundle_build()
    build = builds[which]
    request[SIM_LOG] = f"build {build['id']}" + (" (stale-cache: the old build, cached for a day)" if which == OLD_BUILD else "")
    head = f"window.{global_name} = {json.dumps(build)};\n"
    return web.Response(
        text=head + (STATIC_DIR / script).read_text(encoding="utf-8"),
        content_type="text/javascript",
        headers={"Cache-Control": BUNDLE_CACHE_CONTROL},
    )


async def bundle(request: web.Request) -> web.Response:
    """The page's script: chat.js, built against the endpoint of the build this request gets
    (the new build's is the `stream_path` setting)."""
    stream_path = request.app[STATE].settings.stream_path
    builds = {**BUILDS, NEW_BUILD: {**BUILDS[NEW_BUILD], "completion": stream_path}}
    return script_bundle(request, "chat.js", builds, "simBuild")


async def retired_completion(request: web.Request) -> web.Response:
    """The old build's endpoint, gone since the deploy; the page shows its generic error."""
    return wire.json_response({"code": 410, "msg": RETIRED_MSG, "data": None}, status=410)


async def create_session(request: web.Request) -> web.Response:
    chat_id = str(uuid.uuid4())
    request.app[STATE].note_chat(chat_id)
    return wire.json_response(wire.biz({"id": chat_id}))


def bearer(request: web.Request) -> str:
    """The token of an `Authorization: Bearer ...` header, or ''."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def completion(request: web.Request) -> web.StreamResponse:
    if request.path != request.app[STATE].settings.stream_path:
        # Another deploy's stream path: not served now, and not counted as a send.
        return wire.json_response({"code": 404, "msg": "Not Found", "data": None}, status=404)
    body = await json_body(request)
    prompt = str(body.get("prompt") or "")
    chat_id = str(body.get("chat_session_id") or "")
    if request.headers.get("X-Client-Platform") == "web" and not bearer(request):
        # The web client always sends its token; without it the real site answers 40003.
        return wire.json_response({"code": 40003, "msg": "Authorization Failed (invalid token)", "data": None}, status=401)
    turn = request.app[STATE].web_turn(chat_id, request.cookies.get(SESSION_COOKIE))
    request[SIM_LOG] = describe(turn)
    s = turn.settings

    if turn.outcome == HTTP_503:
        msg = texts.busy_text(s.shown_busy_form, s.lang)
        return wire.json_response({"code": 503, "msg": msg, "data": None}, status=503)
    if turn.outcome == RATE_LIMIT:
        headers = {"Retry-After": s.retry_after} if s.retry_after else None
        body = {"code": 429, "msg": texts.RATE_LIMIT[s.lang], "data": None}
        return wire.json_response(body, status=429, headers=headers)

    stream = await wire.open_stream(request)
    try:
        if turn.outcome in (BUSY, STALL):
            await heartbeats(stream, s.heartbeats, s.heartbeat_interval)
            if turn.outcome == BUSY:
                await stream.write(wire.sse(_busy_hint(s), event="hint"))
                await stream.write(wire.sse(_close("retry"), event="close"))
            # STALL: nothing more; the stream just ends.
        else:
            ids = {
                "request_message_id": 2 * turn.turn_in_chat - 1,
                "response_message_id": 2 * turn.turn_in_chat,
            }
            await stream.write(wire.sse(ids, event="ready"))
            parts = wire.chunks(wire.answer_for(prompt))
            if turn.outcome == TRUNCATED:
                parts = parts[: max(1, len(parts) // 2)]
            for part in parts:
                await stream.write(wire.sse({"v": part}))
                await asyncio.sleep(s.chunk_delay)
            if turn.outcome != TRUNCATED:
                await stream.write(wire.sse({}, event="finish"))
                await stream.write(wire.sse(_close("none"), event="close"))
        await stream.write_eof()
    except ConnectionResetError:
        pass  # the page went away (new chat, navigation): nothing left to tell it
    return stream


async def heartbeats(stream: web.StreamResponse, count: int, interval: float, text: str = "") -> None:
    """`count` SSE comment frames (`: text`), `interval` seconds apart: a busy server waiting."""
    for _ in range(count):
        await stream.write(wire.sse_comment(text))
        await asyncio.sleep(interval)


def _busy_hint(s) -> dict:
    return {
        "type": "error",
        "content": texts.busy_text(s.shown_busy_form, s.lang),
        "clear_response": True,
        "finish_reason": "generation_timeout",
    }


def _close(click_behavior: str) -> dict:
    return {"click_behavior": click_behavior, "auto_resume": False}


async def json_body(request: web.Request) -> dict:
    """The request's JSON object, or {} when it is missing or malformed (the page never sends that)."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}
