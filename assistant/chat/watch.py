"""Waiting for the reply to one message: a race between the page and the network.

Event-driven, no fixed-interval polling: a MutationObserver inside the page resolves as
soon as something relevant changes (`pagewatch`), and Playwright's network events
(response headers, stream finished, request failed) arrive on a queue. Whichever decides
first wins. A text decides by the profile's exact busy texts, else by the generic
vocabulary (`generic`); a stream that finished normally overrules a reply's wording.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from assistant.chat import generic
from assistant.chat.detect import (
    AttemptResult,
    Signal,
    classify_status,
    classify_stream,
    classify_text,
    hint_text,
    parse_sse,
)
from assistant.chat.pagewatch import WATCH_JS, watch_selectors
from assistant.errors import BadSelector
from assistant.playbook.model import SiteProfile
from assistant.timing.retry import parse_retry_after

SETTLE_S = 1.0  # with no "generating" indicator: a finished stream's text is final after this


class Turn:
    """The network evidence of one sent message: its stream request's events, queued.

    A profile names the stream's URL paths. Without them the stream is guessed: a request
    made after the send whose response is text/event-stream, or a POST to a chat-like
    path (completion, conversation, ...) that is refused with an HTTP error.
    """

    def __init__(self, stream_paths: tuple[str, ...], prompt: str | None = None):
        self.paths, self.prompt = stream_paths, prompt
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sent: set = set()  # requests made after the send (guessing only)
        self.streams: set = set()  # the ones guessed to be the reply's stream

    def wants(self, url: str) -> bool:
        path = urlparse(url).path
        return any(p in path for p in self.paths)

    def _reply_request(self, request) -> bool:
        return request in self.sent and generic.is_reply_request(request.method, urlparse(request.url).path)

    def on_request(self, request) -> None:
        if not self.paths:
            self.sent.add(request)

    def on_response(self, response) -> None:
        if self.paths:
            if self.wants(response.url):
                self.queue.put_nowait(("response", response))
            return
        request = response.request
        sse = "text/event-stream" in response.headers.get("content-type", "")
        if request in self.sent and (sse or (response.status >= 400 and self._reply_request(request))):
            self.streams.add(request)
            self.queue.put_nowait(("response", response))

    def on_finished(self, request) -> None:
        if (self.wants(request.url) if self.paths else request in self.streams):
            self.queue.put_nowait(("finished", request))

    def on_failed(self, request) -> None:
        if (self.wants(request.url) if self.paths else request in self.streams or self._reply_request(request)):
            self.queue.put_nowait(("failed", request))


@dataclass
class _Stream:
    opened: bool = False
    done: bool = False  # finished normally, with content


class ReplyWatch:
    """Decides one attempt from what the page and the network show after a send."""

    def __init__(self, page, site: SiteProfile, turn: Turn, expect: Callable[[str], bool] | None):
        self.page, self.site, self.turn, self.expect = page, site, turn, expect
        self.sel = watch_selectors(site, turn.prompt)
        self.stream = _Stream()
        self.known: str | None = None
        self.reply: str | None = None
        self.generating: bool | None = None

    async def run(self, timeout: float) -> AttemptResult:
        loop = asyncio.get_running_loop()
        deadline, settle_at = loop.time() + timeout, None
        dom = net = None
        try:
            while True:
                dom = dom or asyncio.ensure_future(self.page.evaluate(WATCH_JS, [self.sel, self.known]))
                net = net or asyncio.ensure_future(self.turn.queue.get())
                until = deadline if settle_at is None else min(deadline, settle_at)
                done, _ = await asyncio.wait({dom, net}, timeout=max(0.0, until - loop.time()), return_when=asyncio.FIRST_COMPLETED)
                if net in done:
                    kind, obj = net.result()
                    net = None
                    result = await self._on_network(kind, obj)
                    if result:
                        return await self._with_dom(result)
                    if self.stream.done:  # look again now: the page may hold the final text already
                        dom.cancel()
                        dom, self.known = None, None
                if dom in done:
                    snap = await self._snapshot(dom)
                    dom = None
                    if snap is not None:
                        self.known = snap["key"]
                        result, settle = self._on_dom(snap)
                        if result:
                            return result
                        settle_at = loop.time() + SETTLE_S if settle else None
                if not done:
                    if settle_at is not None and loop.time() >= settle_at:
                        return self._answered("dom", "the reply stopped changing after the stream ended")
                    if loop.time() >= deadline:
                        return self._timeout(timeout)
        finally:
            for task in (dom, net):
                if task is not None:
                    task.cancel()

    async def _snapshot(self, task) -> dict | None:
        try:
            return task.result()
        except Exception as exc:
            message = str(exc)
            if "SyntaxError" in message or "not a valid selector" in message:
                raise BadSelector(str(self.sel), message.splitlines()[0]) from None
            # A navigation destroyed the page's context: watch again once it has loaded.
            await self.page.wait_for_load_state()
            return None

    async def _on_network(self, kind: str, obj) -> AttemptResult | None:
        if kind == "response":
            outcome = classify_status(obj.status)
            if outcome is None:
                self.stream.opened = True
                return None
            retry_after = parse_retry_after(obj.headers.get("retry-after"))
            wait = f", Retry-After {obj.headers.get('retry-after')}" if retry_after is not None else ""
            sig = Signal("http", f"HTTP {obj.status} from {urlparse(obj.url).path}{wait}", status=obj.status, url=obj.url, retry_after=retry_after)
            return AttemptResult(outcome, sig, passed=False)
        if kind == "failed":
            failure = obj.failure or "unknown failure"
            sig = Signal("stream", f"stream request failed: {failure}", url=obj.url, event="requestfailed")
            return AttemptResult("error", sig, passed=False)
        response = await obj.response()
        if response is None or classify_status(response.status) is not None:
            return None  # already decided by its status
        try:
            body = await response.body()
        except Exception:  # body not kept (e.g. a navigation): rely on the page
            return None
        summary = parse_sse(body)
        decided = classify_stream(summary)
        if decided is None:
            self.stream.done = True
            return None
        outcome, line = decided
        hint = summary.hint or {}
        event = "close" if not hint else "hint" if summary.hint_event == "hint" else "error"
        error = hint.get("error") if isinstance(hint.get("error"), dict) else {}
        reason = hint.get("finish_reason") or error.get("type")  # DeepSeek's, or an API error's type
        sig = Signal("stream", line, url=obj.url, event=event, text=hint_text(hint) if hint else None, extra={"heartbeats": summary.heartbeats, "finish_reason": reason})
        return AttemptResult(outcome, sig, passed=False)

    def _on_dom(self, snap: dict) -> tuple[AttemptResult | None, bool]:
        for box in snap["boxes"]:
            hit = self._hit(box["text"], whole=False, loose=box["loose"])
            if hit:
                return self._dom_result(hit, box["where"], box["text"]), False
        self.generating = snap["generating"]
        replies = [r for r in snap["replies"] if r]
        if not replies:
            return None, False
        self.reply = replies[-1]
        stream_known = bool(self.turn.paths) or self.stream.opened  # named, or guessed and seen
        hit = self._hit(self.reply, whole=True)
        if hit and not self.stream.done:
            # A normal answer can pass through the busy text while it streams in, so an
            # open stream decides (its hint or its finish); with none seen, the page does.
            if stream_known and self.stream.opened:
                return None, False
            return self._dom_result(hit, "reply bubble", self.reply), False
        # From here the text is an answer: a stream that finished normally, without an
        # error hint, is the server saying so, even when the answer quotes the busy text.
        final = self.stream.done or not stream_known
        if final and self.generating is False:
            return self._answered("dom", "the reply finished"), False
        if self.expect is not None and self.expect(self.reply) and (final or not stream_known):
            return self._answered("dom", "the reply matched"), False
        return None, final and self.generating is None

    def _hit(self, text: str, *, whole: bool, loose: bool = False) -> tuple[str, str, str] | None:
        """(outcome, what to quote, how it was known): the profile's exact texts first, then
        the generic vocabulary, where a bubble must hold nothing but the error and a box
        that is really a region of the page (it holds the person's message) never counts."""
        exact = classify_text(text, self.site.busy_texts, whole=whole)
        if exact:
            return exact[0], exact[1], ""
        worded = None if loose else generic.error_only(text) if whole else generic.classify(text)
        if worded is None:
            return None
        return worded[0], text.strip().splitlines()[0][:160], f' (wording "{worded[1]}")'

    def _dom_result(self, hit: tuple[str, str, str], where: str, text: str) -> AttemptResult:
        outcome, quote, how = hit
        sig = Signal("dom", f'"{quote}" in the {where}{how}', where=where, text=text)
        return AttemptResult(outcome, sig, passed=False)

    def _answered(self, source: str, why: str) -> AttemptResult:
        sig = Signal(source, why, where="reply bubble", text=self.reply)
        return AttemptResult("answered", sig, passed=True, reply=self.reply)

    def _timeout(self, timeout: float) -> AttemptResult:
        seen = "a stream was open" if self.stream.opened else "no stream started"
        sig = Signal("timeout", f"no reply within {timeout:g} s ({seen})")
        return AttemptResult("timeout", sig, passed=False, reply=self.reply)

    async def _with_dom(self, result: AttemptResult) -> AttemptResult:
        """Add where the page showed it, when it already does."""
        try:
            snap = await asyncio.wait_for(self.page.evaluate(WATCH_JS, [self.sel, None]), 1.0)
        except Exception:
            return result
        shown = [(b["where"], b["text"], hit) for b in snap["boxes"] if (hit := self._hit(b["text"], whole=False, loose=b["loose"]))]
        replies = [r for r in snap["replies"] if r]
        if not shown and replies and (hit := self._hit(replies[-1], whole=True)):
            shown = [("reply bubble", replies[-1], hit)]
        if shown:
            sig = result.signal
            sig.where, sig.text, (_, known, how) = shown[0]
            # The page shows what the stream said: name the stream's event, not its text again.
            reason = sig.extra.get("finish_reason")
            network = (f"stream {sig.event}" + (f" {reason}" if reason else "")) if sig.source == "stream" else sig.summary
            sig.summary = f'"{known}" in the {sig.where}{how}; {network}'
        return result
