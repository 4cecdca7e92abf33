"""The chat as the steps see it: open, new chat, send, wait for the reply, look for features.

Selectors come from the site profile as lists of alternatives; the first that matches
wins. Network listeners stay on the page for its lifetime and feed each sent message's
`Turn`, so a reply's evidence is collected from the moment it is sent.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from assistant.chat.detect import AttemptResult
from assistant.chat.pagewatch import MARK_JS, watch_selectors
from assistant.chat.watch import ReplyWatch, Turn
from assistant.errors import BadSelector, StepFailed
from assistant.playbook.model import SiteProfile


def first_line(exc: BaseException) -> str:
    """The useful first line of a Playwright error, without its API-name prefix and URL suffix."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    line = re.sub(r"^[A-Z]\w*\.\w+: ", "", line)
    return re.sub(r" at https?://\S+$", "", line)


def _reraise_selector(exc: Exception, selector: str) -> None:
    message = str(exc)
    if "not a valid selector" in message or "Unexpected token" in message or "SyntaxError" in message:
        raise BadSelector(selector, first_line(exc)) from None


class ChatDriver:
    """Drives one chat page according to a site profile."""

    def __init__(self, page, site: SiteProfile):
        self.page, self.site = page, site
        self.turn: Turn | None = None
        self.last_text: str | None = None
        page.on("request", lambda r: self.turn and self.turn.on_request(r))
        page.on("response", lambda r: self.turn and self.turn.on_response(r))
        page.on("requestfinished", lambda r: self.turn and self.turn.on_finished(r))
        page.on("requestfailed", lambda r: self.turn and self.turn.on_failed(r))

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
        return loc.first

    async def open(self, url: str, timeout: float) -> str:
        target = urljoin(self.site.url.rstrip("/") + "/", url.lstrip("/")) if not re.match(r"^https?://", url) else url
        try:
            response = await self.page.goto(target, timeout=timeout * 1000, wait_until="load")
        except Exception as exc:
            reason = first_line(exc)
            raise StepFailed(
                f"could not open {target}: {reason}. Is the chat reachable from here? "
                "(For the simulator: is `assistant simulate` running on that port? Use --url to point elsewhere.)",
                outcome="timeout" if "Timeout" in reason else "error",
            ) from None
        status = response.status if response else None
        if status is not None and status >= 400:
            raise StepFailed(f"{target} answered HTTP {status}")
        return f"{target} loaded (HTTP {status})"

    async def new_chat(self) -> str:
        control = self.locator("new_chat")
        await self._act(control.click(timeout=10_000), "new_chat")
        self.turn = None
        return "started a new conversation"

    async def send(self, text: str, timeout: float) -> str:
        composer = self.locator("composer")
        await self._act(composer.wait_for(state="visible", timeout=timeout * 1000), "composer")
        await composer.fill(text)
        await self._begin_turn(text)
        self.last_text = text
        await self._press_send(composer)
        return f"sent {len(text)} characters"

    async def _press_send(self, composer) -> None:
        if self.site.selectors.get("send"):
            button = self.locator("send")
            try:
                if await button.is_visible() and await button.get_attribute("aria-disabled") != "true":
                    await button.click(timeout=5_000)
                    return
            except Exception as exc:
                _reraise_selector(exc, ", ".join(self.site.selectors["send"]))
        await composer.press("Enter")  # every chat of this kind also sends on Enter

    async def _begin_turn(self, prompt: str | None) -> None:
        """Mark what the page shows before the send; the reply is what comes after."""
        selectors = watch_selectors(self.site, prompt)
        try:
            await self.page.evaluate(MARK_JS, selectors)
        except Exception as exc:
            _reraise_selector(exc, str(selectors))
            raise
        self.turn = Turn(self.site.stream.paths, prompt)

    async def re_ask(self) -> str:
        """Ask again: the page's own Retry button when it shows one, else send the message again."""
        if self.site.selectors.get("retry_button"):
            button = self.locator("retry_button")
            if await button.is_visible():
                await self._begin_turn(self.last_text)
                await button.click(timeout=5_000)
                return "clicked the page's Retry button"
        if self.last_text is None:
            raise StepFailed("nothing to ask again: no message was sent before this step")
        await self.send(self.last_text, 10.0)
        return "sent the message again"

    async def expect_reply(self, *, contains: str | None, matches: str | None, timeout: float) -> AttemptResult:
        if self.turn is None:
            raise StepFailed("expect_reply has no message to wait for: put a send step before it")

        def expected(text: str) -> bool:
            if contains is not None and contains.casefold() not in text.casefold():
                return False
            return matches is None or re.search(matches, text) is not None

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

    async def _act(self, awaitable, key: str):
        try:
            return await awaitable
        except Exception as exc:
            _reraise_selector(exc, ", ".join(self.site.selectors.get(key, ())))
            raise StepFailed(
                f"the {key} control did not respond ({first_line(exc)}); its selectors in the site "
                f"profile {self.site.name!r} may be out of date",
                outcome="timeout" if "Timeout" in str(exc) else "error",
            ) from None
