"""Browser hygiene as measurable steps: clear site data, reload hard or soft.

Each action says what it removed and what it kept: clearing cookies alone does not
sign a DeepSeek user out (the token lives in localStorage), and a person deserves to
know that before concluding "cookies were not it".
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from assistant.playbook.model import CLEARABLE

_CDP_TYPES = {"local_storage": "local_storage", "indexeddb": "indexeddb", "service_workers": "service_workers", "cache": "cache_storage"}
SIGN_IN_KEYS = ("userToken", "token", "access_token", "auth")

INVENTORY_JS = (Path(__file__).parent / "inventory.js").read_text(encoding="utf-8")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _names(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit]) + (", ..." if len(items) > limit else "")
    return f" ({shown})" if items else ""


async def clear(page, site_url: str, what: list[str], scope: str = "site") -> str:
    """Clear `what` for the site's origin (scope "site") or everywhere ("all"); say what went and what stayed."""
    wanted = set(CLEARABLE) if "all" in what else set(what)
    context, origin = page.context, origin_of(page.url if page.url.startswith("http") else site_url)
    before = await _inventory(page)
    removed: list[str] = []
    if "cookies" in wanted:
        removed.append(await _clear_cookies(context, origin, scope))
    cdp = await context.new_cdp_session(page)
    try:
        if "cache" in wanted:
            await cdp.send("Network.clearBrowserCache")
            removed.append("the HTTP cache (of the whole browser: Chromium cannot empty it for one site)")
        types = sorted({_CDP_TYPES[t] for t in wanted if t in _CDP_TYPES})
        if types:
            origins = [origin] if scope == "site" else sorted({origin_of(p.url) for p in context.pages if p.url.startswith("http")})
            for o in origins:
                await cdp.send("Storage.clearDataForOrigin", {"origin": o, "storageTypes": ",".join(types)})
    finally:
        await cdp.detach()
    if "session_storage" in wanted:
        await page.evaluate("sessionStorage.clear()")
    removed += _storage_removed(before, wanted)
    kept = _kept(before, wanted)
    where = origin if scope == "site" else "every site"
    text = f"cleared for {where}: " + ("; ".join(removed) or "nothing to clear")
    return text + (f". Kept: {kept}" if kept else "")


async def _inventory(page) -> dict:
    try:
        return await page.evaluate(INVENTORY_JS)
    except Exception:  # no page loaded yet: nothing to count
        return {"local": [], "session": [], "indexeddb": [], "workers": 0}


async def _clear_cookies(context, origin: str, scope: str) -> str:
    cookies = await (context.cookies() if scope == "all" else context.cookies([origin]))
    if scope == "all":
        await context.clear_cookies()
    else:
        for c in cookies:
            await context.clear_cookies(name=c["name"], domain=c["domain"], path=c["path"])
    return f"{len(cookies)} cookie{'s' if len(cookies) != 1 else ''}{_names([c['name'] for c in cookies])}"


def _n(count: int, noun: str) -> str:
    """`1 key`, `2 keys`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _storage_removed(before: dict, wanted: set[str]) -> list[str]:
    out = []
    if "local_storage" in wanted:
        out.append(f"{_n(len(before['local']), 'localStorage key')}{_names(before['local'])}")
    if "session_storage" in wanted:
        out.append(f"{_n(len(before['session']), 'sessionStorage key')}{_names(before['session'])}")
    if "indexeddb" in wanted:
        out.append(f"{_n(len(before['indexeddb']), 'IndexedDB database')}{_names(before['indexeddb'])}")
    if "service_workers" in wanted:
        out.append(_n(before['workers'], 'service worker'))
    return out


def _kept(before: dict, wanted: set[str]) -> str:
    kept = []
    if "local_storage" not in wanted and before["local"]:
        sign_in = [k for k in before["local"] if k in SIGN_IN_KEYS]
        why = f", including {', '.join(sign_in)}: the sign-in, so you stay signed in" if sign_in else ""
        kept.append(f"localStorage ({_n(len(before['local']), 'key')}{why})")
    if "indexeddb" not in wanted and before["indexeddb"]:
        kept.append(f"IndexedDB ({_n(len(before['indexeddb']), 'database')})")
    if "service_workers" not in wanted and before["workers"]:
        kept.append(_n(before['workers'], 'service worker'))
    return "; ".join(kept)


async def reload(page, hard: bool, timeout: float) -> str:
    """Reload the page; a hard reload bypasses the cache for every resource, a soft one does not."""
    if not hard:
        await page.reload(timeout=timeout * 1000, wait_until="load")
        return "reloaded (soft: fresh resources may come from the cache)"
    cdp = await page.context.new_cdp_session(page)
    try:
        async with page.expect_navigation(timeout=timeout * 1000, wait_until="load"):
            await cdp.send("Page.reload", {"ignoreCache": True})
    finally:
        await cdp.detach()
    return "reloaded hard (cache bypassed for every resource)"
