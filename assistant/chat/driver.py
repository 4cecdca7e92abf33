"""The chat as the steps see it: open, new chat, send, wait for the reply, look for features.

Selectors come from the site profile as lists of alternatives; the first that matches
wins. Where the profile names none, the in-page reader finds the control the way a person
would (in the document, open shadow roots and same-origin iframes). Every control is
waited for until it is visible and enabled, within the step's time limit. Network and
WebSocket listeners stay on the page for its lifetime and feed each sent message's `Turn`,
so a reply's evidence is collected from the moment it is sent.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urljoin

from assistant.chat import pagewatch
from assistant.chat.detect import AttemptResult, reply_matches
from assistant.chat.pagewatch import watch_selectors
from assistant.chat.watch import ReplyWatch, Turn
from assistant.errors import BadSelector, StepFailed
from assistant.playbook.model import SiteProfile

CONFIRM_S = 5.0  # a send shows in the transcript, or leaves the page, within this
SENT_FAST_S = 0.5  # first wait this long for a request or frame (an event), then look at the page too
POLL_S = 0.1  # how often a missing control is looked for again, within the step's time limit
UNFIT_S = 3.0  # the page shows a text field, the profile's composer is not there this long: it does not fit
SETTLE_QUIET_S, SETTLE_MOST_S = 0.2, 2.0  # without a reply selector: the page is still this long before a send
MARKED = {"composer": "[data-assistant-composer]", "send": "[data-assistant-send]", "control": "[data-assistant-control]"}


def first_line(exc: BaseException) -> str:
    """The useful first line of a Playwright error, without its API-name prefix and URL suffix."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    line = re.sub(r"^[A-Z]\w*\.\w+: ", "", line)
    return re.sub(r" at https?://\S+$", "", line)


def _quiet(task: asyncio.Future) -> asyncio.Future:
    """`task`, whose failure does not matter (a page closing under it): never reported as unretrieved."""
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def _raise(exc: BaseException):
    """An awaitable that raises `exc` (to word a failure through `ChatDriver._act`)."""
    raise exc


def _reraise_selector(exc: Exception, selector: str) -> None:
    message = str(exc)
    if "not a valid selector" in message or "Unexpected token" in message or "SyntaxError" in message:
        raise BadSelector(selector, first_line(exc)) from None


# The first match shows (a box of its own, not visibility: hidden, as Playwright's is_visible)
# and is enabled (no :disabled, as Playwright's is_enabled; no aria-disabled="true" on it or above).
SEND_USABLE_JS = """els => {
  const el = els[0];
  if (!el || !el.isConnected) return false;
  const box = el.getBoundingClientRect();
  if (!(box.width > 0 && box.height > 0) || getComputedStyle(el).visibility !== 'visible') return false;
  if (el.checkVisibility && !el.checkVisibility()) return false;
  return !el.matches(':disabled') && !el.closest('[aria-disabled="true"]');
}"""


class _Pick:
    """The first match of a locator, with `.last` for the newest one instead."""

    def __init__(self, loc):
        self._loc, self.last = loc, loc.last

    def __getattr__(self, name):
        return getattr(self._loc.first, name)


class ChatDriver:
    """Drives one chat page according to a site profile."""

    def __init__(self, page, site: SiteProfile):
        self.page, self.site = page, site
        self.turn: Turn | None = None
        self.last_text: str | None = None
        self.crashed = False
        self.unfit: str | None = None  # why the site profile does not fit this page, once a named control is missing
        self._installed = False  # the in-page reader is registered for every document the page loads
        page.on("request", lambda r: self.turn and self.turn.on_request(r))
        page.on("response", lambda r: self.turn and self.turn.on_response(r))
        page.on("requestfinished", lambda r: self.turn and self.turn.on_finished(r))
        page.on("requestfailed", lambda r: self.turn and self.turn.on_failed(r))
        page.on("websocket", self._on_websocket)
        page.on("crash", lambda _page: setattr(self, "crashed", True))

    def _on_websocket(self, ws) -> None:
        ws.on("framesent", lambda _payload: self.turn and self.turn.on_frame(ws.url, "sent"))
        ws.on("framereceived", lambda _payload: self.turn and self.turn.on_frame(ws.url, "received"))

    def locator(self, key: str, selectors: tuple[str, ...] | None = None):
        """A locator for a site-profile key (or explicit selectors): alternatives, first match."""
        selectors = selectors if selectors is not None else self.site.selectors.get(key, ())
        if not selectors:
            raise StepFailed(
                f"the site profile {self.site.name!r} has no selector for {key!r}: add one under selectors.{key}"
            )
        loc = self.page.locator(selectors[0])
        for alternative in selectors[1:]:
            loc = loc.or_(self.page.locator(alternative))
        return _Pick(loc)

    async def open(self, url: str, timeout: float) -> str:
        target = urljoin(self.site.url.rstrip("/") + "/", url.lstrip("/")) if not re.match(r"^https?://", url) else url
        install = None
        if not self._installed:  # from now on every document starts with the reader (no 18 KB per call)
            install = _quiet(asyncio.ensure_future(pagewatch.install(self.page)))
            self._installed = True
            await asyncio.sleep(0)  # sent before the navigation, whose document then has it; not waited for
        try:
            response = await self.page.goto(target, timeout=timeout * 1000, wait_until="load")
        except Exception as exc:
            reason = first_line(exc)
            local = re.match(r"^https?://(127\.|localhost|\[::1\])", target) is not None
            hint = " (For the simulator: is `assistant simulate` running on that port?)" if local else ""
            raise StepFailed(
                f"could not open {target}: {reason}. Is the chat reachable from here?{hint}",
                outcome="timeout" if "Timeout" in reason else "error",
            ) from None
        if install is not None:
            await asyncio.gather(install, return_exceptions=True)  # a document that missed it gets it on first use
        status = response.status if response else None
        if status is not None and status >= 400:
            raise StepFailed(f"{target} answered HTTP {status}")
        return f"{target} loaded (HTTP {status})" + await self._dialog_note()

    async def _dialog_note(self) -> str:
        """Say so when a dialog covers the page (a "What's new", a cookie banner)."""
        try:
            found = await pagewatch.run(self.page, "dialogs")
        except Exception:
            return ""
        if not found:
            return ""
        buttons = ", ".join(repr(b) for b in found[0]["buttons"]) or "none"
        return (f"; a dialog is open over the page ({found[0]['text'][:80]!r}; its buttons: {buttons}): "
                "add a `click` step to close it before sending")

    async def new_chat(self) -> str:
        control = self.locator("new_chat")
        await self._act(control.click(timeout=10_000), "new_chat")
        self.turn = None
        return "started a new conversation"

    async def send(self, text: str, timeout: float) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        named = bool(self.site.selectors.get("composer"))  # the profile's: typing into it waits for it (_type)
        composer = self.locator("composer") if named else await self._composer(timeout)
        if not self.site.selectors.get("reply"):  # the reply is read as what is new: let late drawing finish first
            await self._find("settle", [SETTLE_QUIET_S * 1000, SETTLE_MOST_S * 1000])
        await self._type(composer, text, timeout, deadline, named)
        # The send control's state is read while the page marks what it shows (two worlds, one wait).
        usable = asyncio.ensure_future(self._send_usable()) if self.site.selectors.get("send") else None
        try:
            await self._begin_turn(text, composer if self.site.selectors.get("composer") else None)
        except BaseException:
            if usable is not None:
                usable.cancel()
                await asyncio.gather(usable, return_exceptions=True)
            raise
        self.last_text = text
        how = await self._press_send(composer, usable)
        await self._confirm_send(how)
        return f"sent {len(text)} characters ({how})"

    async def _type(self, composer, text: str, timeout: float, deadline: float, named: bool = False) -> None:
        """Type into the composer (Playwright waits until it is visible and editable, within the
        step's time limit); a composer that stays disabled or read-only is said so. For the
        profile's own composer (`named`): once the page shows a text field of its own and the
        profile's matches nothing for UNFIT_S, the profile does not fit (no use waiting longer)."""
        loop = asyncio.get_running_loop()
        try:
            if named and timeout > UNFIT_S:
                try:
                    return await self._enter(composer, text, UNFIT_S * 1000)
                except Exception as exc:
                    if "Timeout" not in str(exc):
                        raise
                    if await self._find("findComposer") and await self._missing("composer"):
                        raise StepFailed(self.unfit) from None
            await self._enter(composer, text, max(deadline - loop.time(), 0.001) * 1000)
        except StepFailed:
            raise
        except Exception as exc:
            if ("Timeout" in str(exc) and named and not await self._missing("composer")
                    and not await self._editable(composer)):
                raise StepFailed(f"the composer stays disabled or read-only after {timeout:g} s: the page may be locked after an error", outcome="timeout") from None
            await self._act(_raise(exc), "composer")

    async def _enter(self, composer, text: str, timeout_ms: float) -> None:
        if self.site.typing_delay:  # a person's pace, for pages that react to each key
            await composer.fill("", timeout=timeout_ms)
            await composer.press_sequentially(text, delay=self.site.typing_delay * 1000, timeout=timeout_ms + len(text) * self.site.typing_delay * 1000)
        else:
            await composer.fill(text, timeout=timeout_ms)

    async def settle(self, quiet: float, most: float) -> None:
        """Wait until nothing in the page has changed for `quiet` s, at most `most` s (in the page)."""
        await self._find("settle", [quiet * 1000, most * 1000])

    async def _composer(self, timeout: float):
        """The reader's pick of a composer (visible and enabled), for a profile that names none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        found = None
        while True:
            found = await self._find("findComposer")
            if found and not found["disabled"]:
                return await self._marked("composer")
            if loop.time() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        if found:
            why = await self._dialog_note() or ": the page may be locked after an error"
            raise StepFailed(f"the composer ({found['tag']} {found['label']!r}) stays disabled after {timeout:g} s{why}", outcome="timeout")
        raise StepFailed(
            f"no composer found within {timeout:g} s: no visible text field (textarea, text input, contenteditable, "
            "role=textbox) in the page, its open shadow roots or same-origin iframes. Name it in the site profile "
            "under selectors.composer (`assistant probe-site URL` drafts one)", outcome="timeout")

    async def _marked(self, kind: str):
        """The element the reader marked, in whichever frame it is (CSS pierces shadow roots, not frames)."""
        for frame in self.page.frames:
            loc = frame.locator(MARKED[kind])
            try:
                if await loc.count():
                    return loc.first
            except Exception:  # a frame going away
                continue
        return self.page.locator(MARKED[kind]).first

    async def _find(self, name: str, arg=None):
        """The in-page reader's `name` on `arg`; None while a navigation replaces the document."""
        try:
            return await pagewatch.run(self.page, name, arg)
        except Exception as exc:
            if "closed" in str(exc) or "crash" in str(exc).lower():
                raise
            return None  # a navigation in progress: look again

    @staticmethod
    async def _shows(locator) -> bool:
        try:
            return await locator.is_visible()
        except Exception:
            return False

    @staticmethod
    async def _editable(locator) -> bool:
        try:
            return await locator.is_editable(timeout=1000)
        except Exception:
            return False

    async def _send_usable(self) -> bool:
        """Whether the profile's send control shows and is enabled (not aria-disabled either):
        Playwright's is_visible and is_enabled, read in one round trip instead of three."""
        return bool(await self.locator("send").evaluate_all(SEND_USABLE_JS))

    async def _press_send(self, composer, usable: asyncio.Future | None = None) -> str:
        if self.site.selectors.get("send"):
            try:
                if await (usable or self._send_usable()):
                    await self.locator("send").click(timeout=5_000)
                    return "clicked send"
            except Exception as exc:
                _reraise_selector(exc, ", ".join(self.site.selectors["send"]))
        await self._act(composer.press("Enter", timeout=5_000), "composer")
        return "pressed Enter"

    async def _confirm_send(self, how: str) -> None:
        """The message shows in the transcript, or a request or frame left the page; else
        try the page's send control once, and fail saying the message was not sent."""
        if await self._sent_within(CONFIRM_S):
            return
        if how == "pressed Enter" and await self._find("findSend"):
            try:
                await (await self._marked("send")).click(timeout=3_000)
            except Exception:
                pass
            if await self._sent_within(CONFIRM_S):
                return
        raise StepFailed(
            f"the message was not sent: after {how} nothing showed in the transcript and no request or "
            "WebSocket frame left the page (a dialog over the composer? a send control the profile does not name?)")

    async def _sent_within(self, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:  # most chats send a request or a frame at once: no need to look at the page
            await asyncio.wait_for(self.turn.left.wait(), min(SENT_FAST_S, seconds))
            return True
        except asyncio.TimeoutError:
            pass
        while True:
            if self.turn.left_the_page:
                return True
            snap = await self._find("snap", watch_selectors(self.site, self.last_text))
            if snap and snap.get("sent"):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL_S)

    async def _begin_turn(self, prompt: str | None, composer=None) -> None:
        """Mark what the page shows before the send; the reply is what comes after. With the
        profile's `composer` just typed into, it is marked too (the reader reads it as the
        composer: locked or not, what is under it), by the focus where its selectors are CSS."""
        selectors = watch_selectors(self.site, prompt)
        if composer is not None:
            selectors["composer"] = ", ".join(self.site.selectors["composer"])
        try:
            marked = await pagewatch.run(self.page, "mark", selectors)
            if composer is not None and not (marked or {}).get("composer"):
                await composer.evaluate("el => el.setAttribute('data-assistant-composer', '1')")
        except Exception as exc:
            _reraise_selector(exc, str(selectors))
            raise StepFailed(f"could not read the page before sending: {first_line(exc)}") from None
        self.turn = Turn(self.site.stream.paths, prompt)

    async def re_ask(self) -> str:
        """Ask again, the way a person would: stop a reply still generating, then the page's own
        Retry button; else, with the composer locked, a reload, then a new chat; then send again."""
        done = []
        if await self._control("stop"):
            done.append("stopped the reply still generating")
        if self.site.selectors.get("retry_button"):
            button = self.locator("retry_button").last  # the newest turn's, not an older one's
            if await button.is_visible():
                # Mark before the click (what it draws is new), count texts after it: the page
                # takes its old error row away on the click, and the next one with the same
                # words must count as new.
                await self._begin_turn(self.last_text)
                await self._act(button.click(timeout=5_000), "retry_button")
                await self._find("recount")
                return "; ".join([*done, "clicked the page's Retry button"])
        if self.last_text is None:
            raise StepFailed("nothing to ask again: no message was sent before this step")
        if await self._locked():
            if (name := await self._control("retry")) is not None:
                await self._begin_turn(self.last_text)
                return "; ".join([*done, f"clicked the page's {name!r} button"])
            await self._act(self.page.reload(wait_until="load", timeout=30_000), "reload")
            done.append("reloaded the page (the composer was locked)")
            if await self._locked() and self.site.selectors.get("new_chat") and await self._shows(self.locator("new_chat")):
                await self.new_chat()
                done.append("started a new chat")
        sent = await self.send(self.last_text, 10.0)
        return "; ".join([*done, f"sent the message again ({sent})"])

    async def _control(self, kind: str) -> str | None:
        """Click the page's own stop or retry control when one shows; its name, or None."""
        name = await self._find("control", kind)
        if not name:
            return None
        try:
            await (await self._marked("control")).click(timeout=3_000)
        except Exception:
            return None
        return name

    async def _locked(self) -> bool:
        composer = self.locator("composer") if self.site.selectors.get("composer") else None
        if composer is None:
            found = await self._find("findComposer")
            return bool(found and found["disabled"])
        try:
            return await composer.is_visible() and not await composer.is_editable(timeout=1000)
        except Exception:
            return True

    async def expect_reply(self, *, contains: str | None, matches: str | None, timeout: float) -> AttemptResult:
        if self.turn is None:
            raise StepFailed("expect_reply has no message to wait for: put a send step before it")

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def expected(text: str) -> bool:
            if contains is not None and contains.casefold() not in text.casefold():
                return False
            return matches is None or reply_matches(matches, text, deadline, loop.time())

        check = expected if (contains or matches) else None
        result = await ReplyWatch(self.page, self.site, self.turn, check).run(timeout)
        if result.outcome == "answered" and check and not expected(result.reply or ""):
            want = f"contain {contains!r}" if contains else f"match /{matches}/"
            result.passed = False
            result.detail = f"the reply does not {want}: {(result.reply or '')[:200]!r}"
        return result

    async def expect_visible(self, target: str, timeout: float) -> str:
        feature = self.site.features.get(target)
        loc = self.locator(target, feature) if feature else self.locator(target, (target,))
        try:
            await loc.wait_for(state="visible", timeout=timeout * 1000)
        except Exception as exc:
            _reraise_selector(exc, target)
            what = f"the feature {target!r} ({', '.join(feature)})" if feature else repr(target)
            raise StepFailed(f"{what} is not visible after {timeout:g} s", outcome="timeout") from None
        return f"{target} is visible"

    # -- the page's own controls, for what a person does before chatting ---------------

    def target(self, selector: str | None = None, role: str | None = None, text: str | None = None):
        """A locator from a selector, or a role and its visible name, or a visible text."""
        if selector:
            return self.page.locator(selector).first
        if role:
            return self.page.get_by_role(role, name=text).first if text else self.page.get_by_role(role).first
        return self.page.get_by_text(text, exact=False).first

    async def click(self, where: str, timeout: float, **how) -> str:
        await self._act(self.target(**how).click(timeout=timeout * 1000), where)
        return f"clicked {where}"

    async def fill(self, where: str, value: str, timeout: float, **how) -> str:
        await self._act(self.target(**how).fill(value, timeout=timeout * 1000), where)
        return f"filled {where} with {len(value)} characters"

    async def press(self, where: str | None, key: str, timeout: float, **how) -> str:
        if any(how.values()):
            await self._act(self.target(**how).press(key, timeout=timeout * 1000), where or "control")
            return f"pressed {key} in {where}"
        await self._act(self.page.keyboard.press(key), "keyboard")
        return f"pressed {key}"

    async def _missing(self, key: str) -> bool:
        """Whether the profile's selectors for `key` match nothing at all in the page: then the
        profile does not fit it (another site, another skin, a redesign), and waiting cannot help."""
        selectors = self.site.selectors.get(key, ())
        try:
            if not selectors or await self.locator(key)._loc.count():
                return False
        except Exception:  # a selector a page cannot count, a page going away: not proof
            return False
        self.unfit = (f"the site profile {self.site.name!r} does not fit this page: its {key} selector "
                      f"({', '.join(selectors)}) matches nothing in it. Run `assistant probe-site {self.site.url}` "
                      "to draft a profile that fits")
        return True

    async def _act(self, awaitable, key: str):
        try:
            return await awaitable
        except StepFailed:
            raise
        except Exception as exc:
            _reraise_selector(exc, ", ".join(self.site.selectors.get(key, ())) or key)
            if self.crashed:
                raise StepFailed("the page crashed (its renderer process died)") from None
            if "Timeout" in str(exc) and await self._missing(key):
                raise StepFailed(self.unfit) from None
            raise StepFailed(
                f"the {key} control did not respond ({first_line(exc)}); its selectors in the site "
                f"profile {self.site.name!r} may be out of date",
                outcome="timeout" if "Timeout" in str(exc) else "error",
            ) from None
