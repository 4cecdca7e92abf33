"""Running a diagnosis or the fault matrix from the command line, with a report."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from assistant import events as ev
from assistant.diagnosis.model import Setup, Verdict
from assistant.experiments.trial import Check
from assistant.playbook.model import SiteProfile
from assistant.probes import ProbeContext
from assistant.timing.clock import Clock


def diagnose(site: SiteProfile, setup: Setup, check: Check, *, turns: int, time_scale: float,
             headless: bool, browser_path: str | None, listeners: list, json_path: Path | None,
             allow_system_changes: bool = False) -> Verdict:
    """`assistant diagnose`: one session, events to the listeners, the verdict as JSON if asked."""
    from assistant.browser import BrowserSession
    from assistant.diagnosis.engine import Diagnoser
    from assistant.report.json_report import write_json

    emit = ev.Emitter(*listeners)
    clock = Clock(time_scale)
    started = time.monotonic()
    made: list[Diagnoser] = []

    async def main() -> Verdict:
        async with BrowserSession(headless=headless, browser_path=browser_path) as session:
            emit(ev.Note(f"diagnosing {site.name} at {site.url} with {session.info.describe()}"))
            probe_ctx = ProbeContext(timeout=10.0, proxy=setup.proxy, allow_system_changes=allow_system_changes)
            made.append(Diagnoser(session, site, setup, check, clock=clock, emit=emit, turns=turns, probe_ctx=probe_ctx))
            return await made[0].run()

    def report(**result) -> None:
        if json_path:
            write_json(json_path, {"tool": "assistant", "site": site.name, "url": site.url,
                                   "duration_s": round(time.monotonic() - started, 3), **result})

    try:
        verdict = asyncio.run(main())
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: the report says so, with the evidence so far
        from dataclasses import asdict

        from assistant.errors import interrupted_by

        report(outcome="interrupted", summary=f"interrupted by {interrupted_by()}", verdict=None,
               evidence=[asdict(e) for e in made[0].evidence] if made else [])
        raise
    report(verdict=verdict.to_dict())
    return verdict


def selftest(names: list[str] | None, *, time_scale: float, headless: bool, browser_path: str | None,
             listeners: list, on_row, json_path: Path | None) -> list:
    """`assistant selftest`: the fault matrix, a row reported as each ends."""
    from assistant.diagnosis.selftest import ROWS, run_matrix
    from assistant.report.json_report import write_json

    rows = [r for r in ROWS if not names or r.expected in names or r.name in names]
    started = time.monotonic()
    results = asyncio.run(run_matrix(rows, clock=Clock(time_scale), emit=ev.Emitter(*listeners),
                                     headless=headless, browser_path=browser_path, on_row=on_row))
    if json_path:
        write_json(json_path, {
            "tool": "assistant", "duration_s": round(time.monotonic() - started, 3),
            "rows": [{"scenario": r.row.name, "expected": r.row.expected, "got": r.got, "seconds": round(r.seconds, 3),
                      "matches": r.matches, "error": r.error, "verdict": r.verdict.to_dict() if r.verdict else None} for r in results],
        })
    return results
