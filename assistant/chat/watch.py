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

from assistant.chat import generic, pagewatch
from assistant.chat.detect import (
    AttemptResult,
    Signal,
    classify_status,
    classify_stream,
    classify_text,
    hint_text,
    parse_sse,
)
from assistant.chat.pagewatch import watch_selectors
from assistant.errors import BadSelector
from assistant.playbook.model import SiteProfile
from assistant.timing.retry import parse_retry_after

SETTLE_S = 1.0  # with no "generating" indicator: a finished stream's text is final after this
BUSY_SETTLE_S = 0.3  # with no stream and no indicator: a busy-only text stands after this without a change
FAIL_GRACE_S = 1.0  # a stream that failed: the page's own message wins if it shows within this
EMPTY_GRACE_S = 0.5  # a finished stream whose text the page has not shown yet: empty after this


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
        self.requests = 0  # requests of any kind the page made after the send
        self.frames_sent = self.frames_received = 0  # WebSocket frames after the send
        self.socket: str | None = None  # the URL of the WebSocket that carried them
        self.left = asyncio.Event()  # set when a request or a frame leaves the page

    def on_frame(self, url: str, direction: str) -> None:
        """A WebSocket frame after the send: the transport of chats that do not stream over HTTP."""
        self.socket = self.socket or url
        if direction == "sent":
            self.frames_sent += 1
            self.left.set()
        else:
            self.frames_received += 1
            self.queue.put_nowait(("frame", url))

    @property
    def left_the_page(self) -> bool:
        """Whether anything went out after the send: a request or a WebSocket frame."""
        return bool(self.requests or self.frames_sent)

    def wants(self, url: str) -> bool:
        path = urlparse(url).path
        return any(p in path for p in self.paths)

    def _reply_request(self, request) -> bool:
        return request in self.sent and generic.is_reply_request(request.method, urlparse(request.url).path)

    def on_request(self, request) -> None:
        self.requests += 1
        self.left.set()
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
    recognised: bool = False  # its dialect has an end marker we read (DeepSeek's, OpenAI's)


@dataclass
class _Pending:
    """A decision the page suggests but that stands only if nothing changes until `at`."""

    at: float
    result: AttemptResult
    cap: float = 0.0  # a busy text over a WebSocket: frames still arriving postpone `at`, up to this


class ReplyWatch:
    """Decides one attempt from what the page and the network show after a send."""

    def __init__(self, page, site: SiteProfile, turn: Turn, expect: Callable[[str], bool] | None):
        self.page, self.site, self.turn, self.expect = page, site, turn, expect
        self.sel = watch_selectors(site, turn.prompt)
        self.stream = _Stream()
        self.known: str | None = None
        self.reply: str | None = None
        self.generating: bool | None = None
        self.was_generating = False
        self.locked: bool | None = None
        self.fallback: _Pending | None = None  # the stream failed: the page may still say why

    async def run(self, timeout: float) -> AttemptResult:
        loop = asyncio.get_running_loop()
        deadline, pending = loop.time() + timeout, None
        dom = net = None
        try:
            while True:
                dom = dom or asyncio.ensure_future(pagewatch.run(self.page, "watch", [self.sel, self.known]))
                net = net or asyncio.ensure_future(self.turn.queue.get())
                until = deadline if pending is None else min(deadline, pending.at)
                done, _ = await asyncio.wait({dom, net}, timeout=max(0.0, until - loop.time()), return_when=asyncio.FIRST_COMPLETED)
                if net in done:
                    kind, obj = net.result()
                    net = None
                    if kind == "frame" and pending is not None and pending.cap:
                        # The chat is still sending (the rest of a busy text streams in word by
                        # word): the text stands once the frames pause too, within the cap.
                        pending.at = min(pending.cap, max(pending.at, loop.time() + BUSY_SETTLE_S))
                    result = await self._on_network(kind, obj)
                    if result and kind == "failed":
                        # The stream failed: give the page a moment to show its own message, which
                        # says more (a busy toast) than "the request failed".
                        self.fallback = _Pending(loop.time() + FAIL_GRACE_S, await self._with_dom(result))
                        pending = pending or self.fallback
                        dom.cancel()
                        dom, self.known = None, None
                    elif result:
                        return await self._with_dom(result)
                    if self.stream.done:  # look again now: the page may hold the final text already
                        dom.cancel()
                        dom, self.known = None, None
                if dom in done:
                    snap = await self._snapshot(dom)
                    dom = None
                    if snap is not None:
                        self.known = snap["key"]
                        result, pending = self._on_dom(snap, loop.time())
                        if result:
                            return result
                        pending = pending or self.fallback
                if not done:
                    if pending is not None and loop.time() >= pending.at:
                        return pending.result
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
            if "crash" in message.lower() or "closed" in message.lower():
                raise
            # A navigation destroyed the page's context: watch again once it has loaded.
            try:
                await self.page.wait_for_load_state()
            except Exception:
                raise exc from None
            return None

    async def _on_network(self, kind: str, obj) -> AttemptResult | None:
        if kind == "frame":
            return None  # WebSocket traffic: the page shows what it carried
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
            if "ERR_ABORTED" in failure and self.reply:
                # The page cancelled its own stream once the answer was on screen: not an error.
                self.stream.done = True
                return None
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
            self.stream.recognised = summary.framed  # a dialect whose normal end we can read
            return None
        outcome, line = decided
        hint = summary.hint or {}
        event = "close" if not hint else "hint" if summary.hint_event == "hint" else "error"
        error = hint.get("error") if isinstance(hint.get("error"), dict) else {}
        reason = hint.get("finish_reason") or error.get("type")  # DeepSeek's, or an API error's type
        sig = Signal("stream", line, url=obj.url, event=event, text=hint_text(hint) if hint else None, extra={"heartbeats": summary.heartbeats, "finish_reason": reason})
        return AttemptResult(outcome, sig, passed=False)

    def _on_dom(self, snap: dict, now: float) -> tuple[AttemptResult | None, _Pending | None]:
        for box in snap["boxes"]:
            hit = self._hit(box["text"], whole=False, loose=box["loose"])
            if hit:
                return self._dom_result(hit, box["where"], box["text"]), None
        self.generating, self.locked = snap["generating"], snap.get("locked")
        self.was_generating = self.was_generating or bool(self.generating)
        replies = [r for r in snap["replies"] if r]
        self.reply = replies[-1] if replies else None
        stream_known = bool(self.turn.paths) or self.stream.opened  # named, or guessed and seen
        # A stream we can read that finished normally is the server saying "answered", even
        # when the answer quotes a busy text; one we only guessed at says nothing of the sort.
        busy = None if self.stream.done and self.stream.recognised else self._busy_text(snap)
        if busy is not None:
            # A normal answer can pass through busy words while it streams in, so an open
            # stream or a page that says it is still generating decides; with neither, the
            # text decides once it has stopped changing for a moment.
            if (stream_known and self.stream.opened and not self.stream.done) or self.generating:
                return None, None
            if self.stream.done:  # a guessed stream ended: its text is final
                return busy, None
            if self.generating is False or not stream_known and not self.turn.frames_received:
                return busy, None
            return None, _Pending(now + BUSY_SETTLE_S, busy, cap=now + SETTLE_S)
        if self.reply is None:
            if self.stream.done or (self.was_generating and self.generating is False):
                return None, _Pending(now + EMPTY_GRACE_S, self._empty())
            return None, None
        # From here the text is an answer: a stream that finished normally, without an
        # error hint, is the server saying so, even when the answer quotes the busy text.
        # A stream the profile names that never came leaves it to the page, once the page
        # says it has finished (its `generating` or `reply_done` element).
        page_done = self.generating is False and bool(self.sel.get("generating") or self.sel.get("done"))
        final = self.stream.done or not stream_known or (not self.stream.opened and page_done)
        if final and self.generating is False:
            return self._answered("dom", "the reply finished" + self._transport()), None
        if self.expect is not None and self.expect(self.reply) and final and self.generating is not True:
            return self._answered("dom", "the reply matched" + self._transport()), None
        if final and self.generating is None:
            return None, _Pending(now + SETTLE_S, self._answered("dom", "the reply stopped changing" + self._transport()))
        return None, None

    def _busy_text(self, snap: dict) -> AttemptResult | None:
        """The reply bubble, or a row of new text outside it, that holds nothing but an error."""
        if self.reply and (hit := self._hit(self.reply, whole=True)):
            return self._dom_result(hit, "reply bubble", self.reply)
        for row in snap.get("rows", ()):
            if row != self.reply and (hit := self._hit(row, whole=True)):
                return self._dom_result(hit, "new row", row)
        return None

    def _transport(self) -> str:
        if self.stream.done:
            return ""
        if self.turn.frames_received:
            return f" (no HTTP stream; {self.turn.frames_received} WebSocket frames from {urlparse(self.turn.socket or '').path or '/'})"
        return " (no stream recognised: the page decided)" if not self.turn.paths else ""

    def _empty(self) -> AttemptResult:
        sig = Signal("dom", "the reply is empty: the page finished without showing an answer" + self._transport(), where="reply bubble")
        return AttemptResult("error", sig, passed=False, reply="")

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
        if self.stream.opened:
            seen = "a stream was open"
        elif self.turn.frames_received:
            seen = f"no HTTP stream; {self.turn.frames_received} WebSocket frames arrived but the page showed no reply"
        else:
            seen = "no stream started, no WebSocket frame arrived" if not self.turn.paths else "no stream started"
        if self.generating:
            seen += "; the page was still generating"
        sig = Signal("timeout", f"no reply within {timeout:g} s ({seen})")
        return AttemptResult("timeout", sig, passed=False, reply=self.reply)

    async def _with_dom(self, result: AttemptResult) -> AttemptResult:
        """Add where the page showed it, when it already does."""
        try:
            snap = await asyncio.wait_for(pagewatch.run(self.page, "watch", [self.sel, None]), 1.0)
        except Exception:
            return result
        shown = [(b["where"], b["text"], hit) for b in snap["boxes"] if (hit := self._hit(b["text"], whole=False, loose=b["loose"]))]
        replies = [r for r in snap["replies"] if r]
        if not shown and replies and (hit := self._hit(replies[-1], whole=True)):
            shown = [("reply bubble", replies[-1], hit)]
        if shown:
            sig = result.signal
            sig.where, sig.text, (outcome, known, how) = shown[0]
            if sig.event == "requestfailed" and outcome in ("busy", "rate_limited"):
                result.outcome = outcome  # the page says why the request failed
            # The page shows what the stream said: name the stream's event, not its text again.
            reason = sig.extra.get("finish_reason")
            network = (f"stream {sig.event}" + (f" {reason}" if reason else "")) if sig.source == "stream" else sig.summary
            sig.summary = f'"{known}" in the {sig.where}{how}; {network}'
        return result
