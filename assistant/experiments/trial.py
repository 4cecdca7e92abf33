"""A trial: one browser context set up like the person's (or with one thing changed),
and the check run in it: open the chat, send, expect the reply, for a few turns."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Result:
    """How a check went: the attempt, where it stopped (open or reply) and at which turn."""

    attempt: AttemptResult
    phase: str = "reply"  # open | reply
    turn: int = 1

    @property
    def passed(self) -> bool:
        return self.attempt.passed

    @property
    def outcome(self) -> str:
        return "unreachable" if self.phase == "open" else self.attempt.outcome

    def describe(self) -> str:
        where = "opening the chat" if self.phase == "open" else f"turn {self.turn}"
        return f"{self.outcome} at {where}: {self.attempt.signal.summary}" if not self.passed else f"answered ({self.attempt.signal.summary})"


class Trial:
    """A context and the chat in it; `close()` when done."""

    def __init__(self, context, site: SiteProfile, check: Check, label: str):
        from assistant.chat.driver import ChatDriver

        self.context, self.site, self.check, self.label = context, site, check, label
        self.page = None
        self.chat: ChatDriver | None = None

    async def start(self) -> None:
        from assistant.chat.driver import ChatDriver

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
            result = await self.ask()
            if not result.passed:
                result.turn = turn
                return result
        return Result(result.attempt, turn=turns)

    async def ask(self) -> Result:
        """Send the check's prompt in the current conversation and judge the reply."""
        try:
            await self.chat.send(self.check.prompt, 10.0)
            attempt = await self.chat.expect_reply(contains=self.check.contains, matches=None, timeout=self.check.timeout)
        except StepFailed as exc:
            attempt = AttemptResult(exc.outcome, Signal("step", exc.detail), passed=False, detail=exc.detail)
        return Result(attempt)

    async def ask_again(self) -> Result:
        """Ask again the way a person would: the page's Retry button, else the same message."""
        try:
            await self.chat.re_ask()
            attempt = await self.chat.expect_reply(contains=self.check.contains, matches=None, timeout=self.check.timeout)
        except StepFailed as exc:
            attempt = AttemptResult(exc.outcome, Signal("step", exc.detail), passed=False, detail=exc.detail)
        return Result(attempt)

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
