"""Which page a load gets: the `skin` setting picks the DeepSeek look (`web`) or the plain one.

Both skins answer on every page path, so a conversation URL of either shape opens the
current skin's page (each script only reads its own shape), and both skins' endpoints
stay routed: switching skins is a `configure` and a reload, like a redeploy.
"""

from __future__ import annotations

from aiohttp import web

from assistant.simulator import plain
from assistant.simulator import web as deepseek

PAGES = {"deepseek": deepseek.page, "plain": plain.page}
PAGE_PATHS = ("/", "/a/chat/s/{chat_id}", "/c/{chat_id}")


async def page(request: web.Request) -> web.Response:
    return await PAGES[request.app[deepseek.STATE].settings.skin](request)


def add_routes(app: web.Application) -> None:
    for path in PAGE_PATHS:
        app.router.add_get(path, page)
    deepseek.add_routes(app)
    plain.add_routes(app)
