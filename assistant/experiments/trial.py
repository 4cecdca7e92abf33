"""A trial: one browser context set up like the person's (or with one thing changed),
and the check run in it: open the chat, send, expect the reply, for a few turns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.chat.detect import AttemptResult, Signal
from assistant.errors import StepFailed
from assistant.playbook.model import SiteProfile


@dataclass(frozen=True)
class Check:
    """What one launch does to see whether the chat works."""

    prompt: str = "Reply with the single word: pong"
    contains: str = "pong"
    timeout: float = 15.0  # for one reply
    open_timeout: float = 30.0  # for loading the chat
    send_timeout: float = 10.0  # for the composer to be there and usable
    # A person's use of the chat, so interference that starts late shows: before typing, the
    # page is still (no DOM change) for settle_quiet s, waited for at most settle_most s; after
    # the reply, in a browser with extensions or a profile, the composer must still be usable
    # once the page is `hold` s old. These are the page's own time (extensions run on it), so
    # the time scale does not shorten them.
    settle_quiet: float = 0.3
    settle_most: float = 3.0
    hold: float = 2.0


@dataclass
class Result:
    """How a check went: the attempt, where it stopped (open or reply) and at which turn."""

    attempt: AttemptResult
    phase: str = "reply"  # open | reply
    turn: int = 1
    new_conversation: bool = False  # asked again in a conversation begun for it

    @property
    def passed(self) -> bool:
        return self.attempt.passed

    @property
    def outcome(self) -> str:
        return "unreachable" if self.phase == "open" else self.attempt.outcome

    def describe(self) -> str:
        where = "opening the chat" if self.phase == "open" else f"turn {self.turn}"
        where += " of a new conversation" if self.new_conversation else ""
        return f"{self.outcome} at {where}: {self.attempt.signal.summary}" if not self.passed else f"answered ({self.attempt.signal.summary})"


GUARD_JS, HOLD_JS, HIDDEN_JS = ((Path(__file__).parent / f"{n}.js").read_text(encoding="utf-8") for n in ("guard", "hold", "hidden"))


def _send_symptom(detail: str) -> str:
    """What a failed send looked like to a person: a locked composer, or a send that never left."""
    if "disabled" in detail or "read-only" in detail:
        return "composer_locked"
    return "send_never_left" if "not sent" in detail else ""


def _failed(exc: StepFailed, symptom: str = "") -> AttemptResult:
    extra = {"symptom": symptom} if symptom else {}
    return AttemptResult(exc.outcome, Signal("step", exc.detail, extra=extra), passed=False, detail=exc.detail)


class Trial:
    """A context and the chat in it; `close()` when done."""

    def __init__(self, context, site: SiteProfile, check: Check, label: str):
        from assistant.chat.driver import ChatDriver

        self.context, self.site, self.check, self.label = context, site, check, label
        self.page = None
        self.chat: ChatDriver | None = None
        self.hold = check.hold
        self.turn = 0  # the turn of the conversation last asked

    async def start(self) -> None:
        from assistant.chat.driver import ChatDriver

        await self.context.add_init_script(GUARD_JS)  # every document: when a text field locks
        # A browser of its own (extensions, a profile copy) comes with a page open, a clean
        # context in the shared browser without one: only the former can hold an extension.
        self.hold = self.check.hold if self.context.pages else 0.0
        self.page = self.context.pages[0] if self.context.pages else await self.context.new_page()
        self.chat = ChatDriver(self.page, self.site)

    async def reproduce(self, turns: int) -> Result:
        """Open the chat and hold a short conversation of `turns` messages."""
        opened = await self.open_chat()
        return opened if opened is not None else await self.converse(turns)

    async def open_chat(self) -> Result | None:
        """Load the chat; a Result only when that fails."""
        try:
            await self.chat.open("/", self.check.open_timeout)
        except StepFailed as exc:
            return Result(AttemptResult(exc.outcome, Signal("step", exc.detail), passed=False), phase="open")
        return None

    async def converse(self, turns: int) -> Result:
        """`turns` messages in the current conversation; the first failure ends it."""
        for turn in range(1, turns + 1):
            self.turn = turn
            result = await self.ask()
            if not result.passed:
                result.turn = turn
                return result
        return Result(result.attempt, turn=turns)

    async def ask(self) -> Result:
        """Send the check's prompt in the current conversation and judge the reply, as a
        person would: once the page is still, and still able to take the next message."""
        try:
            await self.chat.settle(self.check.settle_quiet, self.check.settle_most)
            await self.chat.send(self.check.prompt, self.check.send_timeout)
        except StepFailed as exc:
            return Result(_failed(exc, _send_symptom(exc.detail)))
        try:
            attempt = await self.chat.expect_reply(contains=self.check.contains, matches=None, timeout=self.check.timeout)
        except StepFailed as exc:
            attempt = _failed(exc)
        return Result(await self._as_seen(attempt))

    async def _as_seen(self, attempt: AttemptResult) -> AttemptResult:
        """A passed reply stands only if the composer is still usable after the hold; a
        failed one says whether the reply was there, hidden."""
        try:
            if attempt.passed:
                seen = await self.page.evaluate(HOLD_JS, self.hold * 1000)
                if seen["locked"]:
                    lock = seen["locks"][0] if seen["locks"] else {"what": "locked", "t": seen["age"]}
                    line = f"the composer turned {lock['what']} {lock['t'] / 1000:.1f} s after the page began loading, after the reply came"
                    return AttemptResult("error", Signal("dom", line, where="composer", extra={"symptom": "composer_locked", "locks": seen["locks"]}),
                                         passed=False, detail=line)
            elif self.check.contains and (hidden := await self.page.evaluate(HIDDEN_JS, [self.check.contains, self.check.prompt])):
                line = f"the reply arrived but the page hides it ({hidden!r} is in the page, not visible); {attempt.signal.summary}"
                return AttemptResult(attempt.outcome, Signal("dom", line, where="reply bubble", extra={"symptom": "reply_hidden"}),
                                     passed=False, detail=line)
        except Exception:  # the page went away (a crash, a navigation): the attempt stands as it is
            pass
        return attempt

    async def ask_again(self) -> Result:
        """Ask again the way a person would: the page's Retry button, else the same message."""
        how = ""
        try:
            how = await self.chat.re_ask()
        except StepFailed as exc:
            attempt = _failed(exc, _send_symptom(exc.detail))
        else:
            try:
                attempt = await self._as_seen(await self.chat.expect_reply(contains=self.check.contains, matches=None, timeout=self.check.timeout))
            except StepFailed as exc:
                attempt = _failed(exc)
        if "new chat" in how:  # the asking began a new conversation: its first turn
            self.turn = 1
            return Result(attempt, turn=1, new_conversation=True)
        return Result(attempt, turn=max(self.turn, 1))  # the same turn, asked again

    async def missing_features(self) -> list[str]:
        """The site profile's named features that are not visible."""
        missing = []
        for name in self.site.features:
            try:
                await self.chat.expect_visible(name, 2.0)
            except StepFailed:
                missing.append(name)
        return missing

    async def close(self) -> None:
        try:
            await self.context.close()
        except Exception:  # already gone with the browser (Ctrl-C)
            pass
