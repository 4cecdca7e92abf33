"""Probe endpoints: timed SSE events and a WebSocket, to see what the network path does to streams.

`GET /__probe/` lists them (a site "declares" the endpoints by answering it), `GET
/__probe/sse?events=N&interval=S` sends N events S seconds apart, and `GET
/__probe/ws?messages=N&interval=S` sends N messages S apart, then echoes until closed.
Each event carries the server's clock so a same-machine client can see how long a
middlebox held it.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import WSMsgType, web

from assistant.simulator import wire

MAX_COUNT = 1000
MAX_INTERVAL = 10.0
# A forgotten echo socket must not outlive a test run.
WS_IDLE_TIMEOUT = 30.0

INDEX = {"sse": "/__probe/sse", "ws": "/__probe/ws"}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/__probe/", index)
    app.router.add_get("/__probe/sse", sse)
    app.router.add_get("/__probe/ws", websocket)


async def index(request: web.Request) -> web.Response:
    return wire.json_response(INDEX)


def _params(request: web.Request, count_name: str) -> tuple[int, float]:
    """(count, interval) from the query, bounded, or HTTPBadRequest saying what is wrong."""
    try:
        count = int(request.query.get(count_name, "5"))
        interval = float(request.query.get("interval", "0.2"))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{count_name} is an integer, interval a number of seconds") from None
    if not (0 <= count <= MAX_COUNT and 0 <= interval <= MAX_INTERVAL):
        raise web.HTTPBadRequest(text=f"{count_name} in 0..{MAX_COUNT}, interval in 0..{MAX_INTERVAL} s")
    return count, interval


def _tick(i: int) -> dict:
    return {"i": i, "t": time.time()}


async def sse(request: web.Request) -> web.StreamResponse:
    count, interval = _params(request, "events")
    stream = await wire.open_stream(request)
    try:
        for i in range(count):
            if i:
                await asyncio.sleep(interval)
            await stream.write(wire.sse(_tick(i)))
        await stream.write_eof()
    except ConnectionResetError:
        pass  # the client (or a proxy dropping streams) went away: nothing left to send
    return stream


async def websocket(request: web.Request) -> web.WebSocketResponse:
    count, interval = _params(request, "messages")
    ws = web.WebSocketResponse(receive_timeout=WS_IDLE_TIMEOUT)
    await ws.prepare(request)
    for i in range(count):
        if i:
            await asyncio.sleep(interval)
        await ws.send_str(wire.dumps(_tick(i)))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
    except asyncio.TimeoutError:
        pass  # idle past WS_IDLE_TIMEOUT: close below
    await ws.close()
    return ws
