"""Bisection arithmetic on a synthetic check: launch counts, two culprits, none, flaky runs."""

from __future__ import annotations

import asyncio

import pytest

from assistant.experiments.bisect import bisect, launch_budget

EXTENSIONS = [f"ext{i}" for i in range(8)]


def check(culprits: set[str], flaky: dict[int, bool] | None = None):
    """A fake launch: fails when a culprit is loaded; `flaky` flips the answer of launch k."""
    launches: list[list[str]] = []

    async def fails(subset: list[str]) -> bool:
        launches.append(subset)
        honest = bool(culprits & set(subset))
        return (not honest) if (flaky or {}).get(len(launches)) else honest

    return fails, launches


@pytest.mark.parametrize("culprit", EXTENSIONS)
def test_one_culprit_among_eight_in_at_most_five_launches(culprit):
    fails, launches = check({culprit})
    result = asyncio.run(bisect(EXTENSIONS, fails))
    assert result.culprits == [culprit]
    assert result.launches == len(launches) <= launch_budget(8) == 5


@pytest.mark.parametrize("n", [2, 3, 5, 13, 16, 31])
def test_the_budget_holds_for_any_count(n):
    items = [f"e{i}" for i in range(n)]
    for culprit in items:
        fails, _ = check({culprit})
        result = asyncio.run(bisect(items, fails))
        assert result.culprits == [culprit] and result.launches <= launch_budget(n)


@pytest.mark.parametrize(("a", "b"), [("ext0", "ext7"), ("ext2", "ext3"), ("ext5", "ext6"), ("ext0", "ext1")])
def test_two_culprits_are_both_named(a, b):
    fails, _ = check({a, b})
    result = asyncio.run(bisect(EXTENSIONS, fails))
    assert sorted(result.culprits) == sorted([a, b])
    assert result.acquitted == []


def test_no_culprit_says_none_in_one_launch():
    fails, launches = check(set())
    result = asyncio.run(bisect(EXTENSIONS, fails))
    assert result.culprits == [] and len(launches) == 1


def test_known_failing_saves_the_first_launch():
    fails, launches = check({"ext6"})
    result = asyncio.run(bisect(EXTENSIONS, fails, known_failing=True))
    assert result.culprits == ["ext6"] and len(launches) == 4


@pytest.mark.parametrize("flaky_launch", [2, 3, 4])
def test_one_flaky_run_during_the_halving_does_not_convict_an_innocent(flaky_launch):
    fails, _ = check({"ext5"}, flaky={flaky_launch: True})
    result = asyncio.run(bisect(EXTENSIONS, fails))
    assert result.culprits == ["ext5"]
    assert all(trial.why for trial in result.trials)


def test_an_innocent_implicated_by_a_flaky_failure_is_acquitted_by_the_re_test():
    fails, _ = check({"ext5"}, flaky={2: True})  # launch 2 (ext0-3) wrongly fails
    result = asyncio.run(bisect(EXTENSIONS, fails))
    assert result.culprits == ["ext5"]
    assert len(result.acquitted) == 1 and result.acquitted[0] in EXTENSIONS[:4]
    assert [t.why for t in result.trials][-2:] == ["re-test", "re-test"]
