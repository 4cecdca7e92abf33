"""Finding the extension(s) that break the chat: adaptive group testing over browser launches.

`fails(subset)` launches a browser with that subset of extensions, runs the check, and
says whether the chat failed. Failures are assumed to come from any culprit present
(one culprit is enough to break the chat).

One culprit among N costs at most ceil(log2 N) + 2 launches: one with everything (the
failure is there), one per halving, and one without the culprit (the failure is gone:
the re-test that stands behind the verdict). More culprits cost more, and when more than
one is found each is re-tested with only itself added back, so a single flaky run
cannot convict an innocent extension.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Trial(Generic[T]):
    """One launch: the extensions it had, and whether the chat failed."""

    subset: list[T]
    failed: bool
    why: str  # what the launch was for


@dataclass
class BisectResult(Generic[T]):
    """The culprits, the launches that found them, and what could not be settled."""

    culprits: list[T] = field(default_factory=list)
    trials: list[Trial[T]] = field(default_factory=list)
    acquitted: list[T] = field(default_factory=list)  # implicated once, cleared by a re-test
    inconclusive: str | None = None

    @property
    def launches(self) -> int:
        return len(self.trials)


def launch_budget(n: int) -> int:
    """The most launches one culprit among n may cost."""
    return math.ceil(math.log2(n)) + 2 if n > 1 else 2


class _Search(Generic[T]):
    def __init__(self, items: Sequence[T], fails: Callable[[list[T]], Awaitable[bool]]):
        self.items, self.fails = list(items), fails
        self.result: BisectResult[T] = BisectResult()

    async def test(self, subset: list[T], why: str) -> bool:
        failed = await self.fails(subset)
        self.result.trials.append(Trial(list(subset), failed, why))
        return failed

    def without(self, excluded: list[T]) -> list[T]:
        return [i for i in self.items if i not in excluded]

    async def descend(self, group: list[T]) -> T:
        """`group` is known to fail: halve it until one extension is left."""
        while len(group) > 1:
            half = group[: len(group) // 2]
            group = half if await self.test(half, "halving") else group[len(half):]
        return group[0]


async def bisect(
    items: Sequence[T],
    fails: Callable[[list[T]], Awaitable[bool]],
    *,
    known_failing: bool = False,
) -> BisectResult[T]:
    """Find which of `items` make `fails` true; `known_failing` skips the launch with all of them."""
    search = _Search(items, fails)
    result = search.result
    if not search.items or (not known_failing and not await search.test(search.items, "all extensions")):
        return result  # no failure with every extension: none is to blame
    suspects = search.items
    while True:
        found = await search.descend(suspects)
        result.culprits.append(found)
        rest = search.without(result.culprits)
        if not rest or not await search.test(rest, "without the culprit(s)"):
            break
        suspects = rest  # still failing without them: another culprit among the rest
        if len(result.culprits) >= len(search.items):
            result.inconclusive = "the chat fails even with every extension removed one by one"
            break
    if len(result.culprits) > 1:
        await _retest(search)
    return result


async def _retest(search: _Search[T]) -> None:
    """Each suspect alone on top of the acquitted rest: guilty only if that breaks the chat."""
    result = search.result
    for suspect in list(result.culprits):
        others = [c for c in result.culprits if c is not suspect]
        if not await search.test(search.without(others), "re-test"):
            result.culprits.remove(suspect)
            result.acquitted.append(suspect)
