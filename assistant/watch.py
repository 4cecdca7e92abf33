"""Waiting for the reply to one message: a race between the page and the network.

Event-driven, no fixed-interval polling: a MutationObserver inside the page resolves as
soon as something relevant changes, and Playwright's network events (response headers,
stream finished, request failed) arrive on a queue. Whichever decides first wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from assistant.detect import (
    AttemptResult,
    Signal,
    classify_status,
    classify_stream,
    classify_text,
    parse_sse,
)
from assistant.errors import BadSelector
from assistant.playbook.model import SiteProfile
from assistant.retry import parse_retry_after

SETTLE_S = 1.0  # with no "generating" indicator: a finished stream's text is final after this
BOX_KEYS = (("error row", "error_row"), ("toast", "toast"), ("alert", "alert"))

_SEEN = "(window.__assistantSeen ||= new WeakSet())"

MARK_JS = f"""(sel) => {{
  const seen = {_SEEN};
  for (const css of [sel.reply, ...sel.boxes.map(b => b[1])])
    if (css) document.querySelectorAll(css).forEach(el => seen.add(el));
}}"""

WATCH_JS = f"""async ([sel, known]) => {{
  const seen = {_SEEN};
  const textOf = (el) => (el.innerText ?? el.textContent ?? '').trim();
  const snap = () => {{
    const taken = new Set(), boxes = [];
    for (const [where, css] of sel.boxes) {{
      if (!css) continue;
      for (const el of document.querySelectorAll(css)) {{
        if (seen.has(el) || taken.has(el)) continue;
        taken.add(el);
        const text = textOf(el);
        if (text) boxes.push({{where, text}});
      }}
    }}
    const replies = sel.reply ? [...document.querySelectorAll(sel.reply)].filter(el => !seen.has(el)).map(textOf) : [];
    const generating = sel.generating ? document.querySelector(sel.generating) !== null : null;
    const s = {{boxes, replies, generating}};
    s.key = JSON.stringify([boxes, replies, generating]);
    return s;
  }};
  const first = snap();
  if (first.key !== known) return first;
  return await new Promise(resolve => {{
    const obs = new MutationObserver(() => {{
      const s = snap();
      if (s.key !== known) {{ obs.disconnect(); resolve(s); }}
    }});
    obs.observe(document.documentElement, {{subtree: true, childList: true, characterData: true, attributes: true}});
  }});
}}"""


def watch_selectors(site: SiteProfile) -> dict:
    """The CSS the in-page watcher uses, alternatives joined into one selector list."""
    css = {key: ", ".join(site.selectors.get(key, ())) or None for key in ("reply", "generating")}
    css["boxes"] = [[where, ", ".join(site.selectors.get(key, ())) or None] for where, key in BOX_KEYS]
    return css


class Turn:
    """The network evidence of one sent message: its stream request's events, queued."""

    def __init__(self, stream_paths: tuple[str, ...]):
        self.paths = stream_paths
        self.queue: asyncio.Queue = asyncio.Queue()

    def wants(self, url: str) -> bool:
        path = urlparse(url).path
        return any(p in path for p in self.paths)

    def on_response(self, response) -> None:
        if self.wants(response.url):
            self.queue.put_nowait(("response", response))

    def on_finished(self, request) -> None:
        if self.wants(request.url):
            self.queue.put_nowait(("finished", request))

    def on_failed(self, request) -> None:
        if self.wants(request.url):
            self.queue.put_nowait(("failed", request))


@dataclass
class _Stream:
    opened: bool = False
    done: bool = False  # finished normally, with content


class ReplyWatch:
    """Decides one attempt from what the page and the network show after a send."""

    def __init__(self, page, site: SiteProfile, turn: Turn, expect: Callable[[str], bool] | None):
        self.page, self.site, self.turn, self.expect = page, site, turn, expect
        self.sel = watch_selectors(site)
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
        sig = Signal("stream", line, url=obj.url, event="hint" if summary.hint else "close", text=(summary.hint or {}).get("content"), extra={"heartbeats": summary.heartbeats, "finish_reason": (summary.hint or {}).get("finish_reason")})
        return AttemptResult(outcome, sig, passed=False)

    def _on_dom(self, snap: dict) -> tuple[AttemptResult | None, bool]:
        texts = self.site.busy_texts
        for box in snap["boxes"]:
            hit = classify_text(box["text"], texts, whole=False)
            if hit:
                return self._dom_result(hit, box["where"], box["text"]), False
        self.generating = snap["generating"]
        replies = [r for r in snap["replies"] if r]
        if not replies:
            return None, False
        self.reply = replies[-1]
        stream_known = bool(self.turn.paths)
        hit = classify_text(self.reply, texts, whole=True)
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

    def _dom_result(self, hit: tuple[str, str], where: str, text: str) -> AttemptResult:
        outcome, known = hit
        sig = Signal("dom", f'"{known}" in the {where}', where=where, text=text)
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
        texts = self.site.busy_texts
        shown = [(b["where"], b["text"], hit[1]) for b in snap["boxes"] if (hit := classify_text(b["text"], texts, whole=False))]
        replies = [r for r in snap["replies"] if r]
        if not shown and replies and (hit := classify_text(replies[-1], texts, whole=True)):
            shown = [("reply bubble", replies[-1], hit[1])]
        if shown:
            sig = result.signal
            sig.where, sig.text, known = shown[0]
            # The page shows what the stream said: name the stream's event, not its text again.
            reason = sig.extra.get("finish_reason")
            network = (f"stream {sig.event}" + (f" {reason}" if reason else "")) if sig.source == "stream" else sig.summary
            sig.summary = f'"{known}" in the {sig.where}; {network}'
        return result
