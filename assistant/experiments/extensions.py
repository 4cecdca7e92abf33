"""Experiments that change one thing and watch the outcome: extensions on or off, and which.

The check is the smallest honest one: open the site, send a prompt, expect the reply
to contain a word. Each launch with extensions is a browser of its own (extensions need
a persistent profile); a clean run is a context in the session's shared browser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant import events as ev
from assistant.chat.detect import AttemptResult, Signal
from assistant.errors import StepFailed
from assistant.experiments.bisect import BisectResult, bisect
from assistant.experiments.trial import Check, Trial
from assistant.playbook.model import Playbook, SiteProfile


async def check_with(session, site: SiteProfile, check: Check, extensions=()) -> AttemptResult:
    """The check (open, send, expect) clean, or in a fresh browser with these extensions."""
    trial = Trial(await session.setup_context(extensions=[e.path for e in extensions]), site, check, "check")
    try:
        await trial.start()
        return (await trial.reproduce(1)).attempt
    finally:
        await trial.close()


def describe(ext) -> str:
    return f"'{ext.name}' ({ext.id}, {ext.version})"


async def compare(session, site: SiteProfile, check: Check, extensions) -> tuple[AttemptResult, AttemptResult]:
    """The check in a clean profile, then with every extension: (clean, with)."""
    clean = await check_with(session, site, check)
    loaded = await check_with(session, site, check, extensions)
    return clean, loaded


async def find_culprits(
    session,
    site: SiteProfile,
    check: Check,
    extensions,
    on_launch: Callable[[int, list, AttemptResult], None] | None = None,
    known_failing: bool = False,
) -> BisectResult:
    """Bisect the extensions: which of them make the check fail."""
    count = 0

    async def fails(subset: list) -> bool:
        nonlocal count
        count += 1
        result = await check_with(session, site, check, subset)
        if on_launch:
            on_launch(count, subset, result)
        return not result.passed

    return await bisect(list(extensions), fails, known_failing=known_failing)


def verdict(result: BisectResult, total: int) -> str:
    """One line: who is to blame, and what it cost."""
    launches = f"{result.launches} launch{'es' if result.launches != 1 else ''} for {total} extension{'s' if total != 1 else ''}"
    if result.culprits:
        names = " and ".join(describe(c) for c in result.culprits)
        verb = "breaks" if len(result.culprits) == 1 else "break"
        cleared = f"; re-tests cleared {', '.join(describe(a) for a in result.acquitted)}" if result.acquitted else ""
        return f"{names} {verb} the chat ({launches}{cleared})"
    return f"no extension breaks the chat: it works with all of them loaded ({launches})"


def listed(ext) -> dict:
    """An extension as reports show it."""
    return {"id": ext.id, "name": ext.name, "version": ext.version, "path": str(ext.path)}


async def run_experiment(kind: str, params: dict, session, playbook: Playbook, emit) -> AttemptResult:
    """The `compare` and `bisect_extensions` steps: extensions from the step or the playbook."""
    from assistant.browser.extensions import load_unpacked

    here = playbook.path.parent if playbook.path else Path.cwd()
    paths = [here / p for p in params["extensions"]] if "extensions" in params else list(playbook.browser.extensions)
    if not paths:
        raise StepFailed("no extensions to test: list them under the step's extensions: or browser.extensions")
    exts = [load_unpacked(p) for p in paths]
    check = Check(**{k: params[k] for k in ("prompt", "contains", "timeout") if k in params})
    if kind == "compare":
        return await _compare_step(session, playbook.site, check, exts)

    def launched(n: int, subset: list, res: AttemptResult) -> None:
        emit(ev.Note(f"      launch {n}: [{', '.join(e.name for e in subset) or 'none'}] {res.outcome}"))

    found = await find_culprits(session, playbook.site, check, exts, launched)
    line = verdict(found, len(exts))
    extra = {
        "culprits": [listed(e) for e in found.culprits],
        "acquitted": [listed(e) for e in found.acquitted],
        "launches": found.launches,
        "trials": [{"extensions": [e.name for e in t.subset], "failed": t.failed, "why": t.why} for t in found.trials],
    }
    outcome = "extension" if found.culprits else "ok"
    return AttemptResult(outcome, Signal("experiment", line, extra=extra), passed=not found.culprits, detail=line)


async def _compare_step(session, site: SiteProfile, check: Check, exts) -> AttemptResult:
    clean, loaded = await compare(session, site, check, exts)
    line = f"clean profile: {clean.outcome}; with {len(exts)} extension(s): {loaded.outcome}"
    extra = {"clean": clean.signal.to_dict(), "with_extensions": loaded.signal.to_dict(), "extensions": [listed(e) for e in exts]}
    if clean.passed == loaded.passed:
        return AttemptResult("ok", Signal("experiment", line, extra=extra), passed=True, detail=f"{line}: the extensions make no difference")
    blame = "the extensions break the chat" if clean.passed else "the chat works only with the extensions"
    return AttemptResult("extension", Signal("experiment", line, extra=extra), passed=False, detail=f"{line}: {blame}")


def bisect_command(site: SiteProfile, exts: list, check: Check, options: dict, skipped=()) -> BisectResult:
    """`assistant bisect`: one session, the bisection narrated, an optional JSON report;
    `skipped`: extensions of the profile the tool cannot read, said and reported, not tested."""
    import asyncio

    from assistant.browser import BrowserSession
    from assistant.report.console import ConsoleReporter
    from assistant.report.json_report import write_json

    console = None if options.get("quiet") else ConsoleReporter()

    def note(text: str) -> None:
        if console:
            console(ev.Note(text))

    async def main() -> BisectResult:
        headless = not options.get("headed")
        async with BrowserSession(headless=headless, browser_path=options.get("browser_path")) as session:
            for ext in skipped:
                note(f"not included: {describe(ext)} at {ext.path}: {ext.problem}")
            note(f"bisecting {len(exts)} extension(s) on {site.url} with {session.info.describe()}")
            return await find_culprits(session, site, check, exts, lambda n, subset, r: note(
                f"  launch {n}: [{', '.join(e.name for e in subset) or 'none'}] {r.outcome}: {r.signal.summary}"))

    found = asyncio.run(main())
    line = verdict(found, len(exts)) + (f"; {len(skipped)} not included (unreadable)" if skipped else "")
    note(("FAILED  " if found.culprits else "PASSED  ") + line)
    if options.get("json_path"):
        write_json(options["json_path"], {
            "site": site.name, "url": site.url, "verdict": line, "launches": found.launches,
            "culprits": [listed(e) for e in found.culprits], "acquitted": [listed(e) for e in found.acquitted],
            "trials": [{"extensions": [e.name for e in t.subset], "failed": t.failed, "why": t.why} for t in found.trials],
            "not_included": [{**listed(e), "problem": e.problem} for e in skipped],
        })
    return found


def login_command(site: SiteProfile, target: Path, *, headless: bool, browser_path: str | None, wait: Callable[[], object]) -> Path:
    """`assistant login`: a window on the site, the person signs in, the session is saved (0600)."""
    import asyncio

    from assistant.browser import BrowserSession
    from assistant.browser.profiles import save_storage_state

    async def main() -> dict:
        async with BrowserSession(headless=headless, browser_path=browser_path) as session:
            context = await session.new_context()
            page = await context.new_page()
            await page.goto(site.url)
            await asyncio.get_running_loop().run_in_executor(None, wait)  # the person signs in meanwhile
            return await context.storage_state()

    return save_storage_state(asyncio.run(main()), target)
