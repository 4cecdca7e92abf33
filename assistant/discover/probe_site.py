"""`assistant probe-site URL`: learn an unknown chat's controls by using it once.

Opens the page in Chromium, finds the composer and the send control the way a person
would (by role, placeholder, label and form), sends one message through the same
`ChatDriver` and `ReplyWatch` a run uses (in their no-profile mode), then looks at which
new element got the reply and which request carried the stream. `site_draft` turns the
findings into a site profile for a person to check, fill in and save.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from assistant.chat import generic
from assistant.chat.driver import ChatDriver, first_line
from assistant.errors import CheckFailed, StepFailed
from assistant.playbook.model import SiteProfile

DEFAULT_PROMPT = "Reply with the single word: pong"
_SINGLE_WORD = re.compile(r"single word:\s*(\w+)", re.IGNORECASE)
LOOKED_FOR = (
    "a visible textarea, contenteditable element, role=textbox or text input, preferring one "
    "whose placeholder or label speaks of a message (message, ask, chat, prompt, 发送, 消息, 输入 ...)"
)
# Finds controls and builds selectors inside the page; installs window.__probe.
COMPOSER_WAIT_S = 20.0  # how long a client-rendered page may take to draw its composer
# Page markers of the chat frameworks people build on, so the draft can say which it is.
FRAMEWORK_JS = """() => window.gradio_config || document.querySelector('gradio-app, .gradio-container') ? 'Gradio'
  : document.querySelector('[data-testid="stApp"], .stApp') ? 'Streamlit'
  : document.querySelector('meta[property="og:root_path"], meta[content*="chainlit" i]') ? 'Chainlit'
  : null"""
PROBE_JS = (Path(__file__).parent / "probe_site.js").read_text(encoding="utf-8")


@dataclass
class Found:
    """One control or element the probe found: a robust selector and how it was recognised."""

    selector: str
    how: str
    text: str | None = None


@dataclass
class SiteProbe:
    """What one probe saw; `site_draft.render` turns it into a site profile."""

    url: str
    prompt: str
    composer: Found
    send: Found | None = None  # None: Enter sends
    reply: Found | None = None
    outcome: str | None = None  # how the watcher read the reply (answered, busy, ...)
    stream: dict | None = None  # method, path, content_type, status
    other_requests: list[dict] = field(default_factory=list)  # chat-like requests that were not a stream
    new_chat: Found | None = None
    socket: str | None = None  # the WebSocket path that carried the reply, when one did
    framework: str | None = None  # Gradio, Streamlit, Chainlit ..., when its markers show
    features: dict[str, Found] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


async def probe_site(url: str, *, prompt: str = DEFAULT_PROMPT, timeout: float = 60.0, headless: bool = True,
                     browser_path: str | None = None, storage_state: Path | None = None) -> SiteProbe:
    """Open `url` (signed in with `storage_state` when given), send `prompt` once, and
    report the chat's controls, reply and stream."""
    from assistant.browser.session import BrowserSession

    async with BrowserSession(headless=headless, browser_path=browser_path) as session:
        signed_in = {"storage_state": str(storage_state)} if storage_state else {}
        page = await (await session.new_context(**signed_in)).new_page()
        chat = ChatDriver(page, SiteProfile(name="probe", url=url))  # listening before the page opens its sockets
        await _open(page, url, timeout)
        composer = await _wait_for_composer(page, min(timeout, COMPOSER_WAIT_S))
        if composer is None:
            raise CheckFailed(f"No composer found on {url}: looked for {LOOKED_FOR}.", hint=f"Is it the chat page itself, not a sign-in or landing page? If it needs an account: `assistant login generic --url {url} --save-to FILE`, then probe with --storage-state FILE.")
        probe = SiteProbe(url=url, prompt=prompt, composer=Found(**composer))
        probe.framework = await page.evaluate(FRAMEWORK_JS)
        probe.send = _found(await page.evaluate("(sel) => window.__probe.send(sel)", composer["selector"]))
        probe.new_chat = _found(await page.evaluate("() => window.__probe.newChat()"))
        probe.features = {k: Found(**v) for k, v in (await page.evaluate("() => window.__probe.features()")).items()}
        await _converse(chat, probe, timeout)
    return probe


async def _wait_for_composer(page, seconds: float) -> dict | None:
    """Client-rendered chats draw their composer after `load`: look until one shows."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            await page.evaluate(PROBE_JS)
            composer = await page.evaluate("() => window.__probe.composer()")
        except Exception:  # the page navigated meanwhile (a redirect, a client-side route)
            composer = None
        if composer is not None or loop.time() >= deadline:
            return composer
        await asyncio.sleep(0.2)


def _found(value: dict | None) -> Found | None:
    return Found(**value) if value else None


async def _open(page, url: str, timeout: float) -> None:
    try:
        response = await page.goto(url, timeout=timeout * 1000, wait_until="load")
    except Exception as exc:
        raise CheckFailed(f"Could not open {url}: {first_line(exc)}.", hint="Check the address, and that the chat is reachable from this machine (a proxy or VPN?).") from None
    if response is not None and response.status >= 400:
        raise CheckFailed(f"{url} answered HTTP {response.status}: not a chat page to probe.")


async def _converse(chat: ChatDriver, probe: SiteProbe, timeout: float) -> None:
    """Send the prompt as a run would, then name the reply's element and the stream."""
    selectors = {"composer": (probe.composer.selector,), **({"send": (probe.send.selector,)} if probe.send else {})}
    chat.site, page = SiteProfile(name="probe", url=probe.url, selectors=selectors), chat.page
    word = _SINGLE_WORD.search(probe.prompt)
    try:
        await chat.send(probe.prompt, 10.0)
        result = await chat.expect_reply(contains=word.group(1) if word else None, matches=None, timeout=timeout)
    except StepFailed as exc:
        probe.notes.append(f"sending did not work: {exc.detail}")
        return
    probe.outcome = result.outcome
    if result.outcome != "answered":
        probe.notes.append(f"the chat did not answer normally ({result.outcome}: {result.signal.summary}); probe again when it does")
    if result.reply:
        found = await page.evaluate("([text, prompt]) => window.__probe.reply(text, prompt)", [result.reply, probe.prompt])
        probe.reply = _found(found)
        busy = generic.error_only(result.reply)
        if busy:
            probe.notes.append(f"the reply reads like a {busy[0]} message: {result.reply!r}")
    await _requests(chat.turn, probe)


async def _requests(turn, probe: SiteProbe) -> None:
    for request in list(turn.sent):
        response = await request.response()
        if response is None or request.resource_type not in ("fetch", "xhr", "eventsource", "websocket"):
            continue
        seen = {"method": request.method, "path": urlsplit(request.url).path, "content_type": response.headers.get("content-type", "").split(";")[0], "status": response.status}
        if request in turn.streams and "event-stream" in seen["content_type"]:
            probe.stream = seen
        elif generic.is_reply_request(request.method, seen["path"]):
            probe.other_requests.append(seen)
    if turn.socket and turn.frames_received:
        probe.socket = urlsplit(turn.socket).path or "/"
    elif probe.stream is None:
        probe.notes.append("no text/event-stream response and no WebSocket frame was seen: the reply may come as JSON")
