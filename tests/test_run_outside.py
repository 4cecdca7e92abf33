"""A run's outside evidence: probes alongside the browser check, and waiting for a quiet window."""

from __future__ import annotations

import asyncio

import pytest

from assistant import events as ev
from assistant.events import Emitter
from assistant.playbook import load_playbook
from assistant.runner import Runner
from assistant.timing.clock import FakeClock
from tests.conftest import write_playbook

pytestmark = pytest.mark.browser


def test_until_off_peak_waits_for_the_next_quiet_window(tmp_path, sim):
    sim.configure(scenario="always-busy")
    path = write_playbook(
        tmp_path,
        """
        site: simulator
        steps:
          - open: /
          - send: "Reply with the single word: pong"
          - expect_reply: {contains: pong, retry: {schedule: [5s], until: off_peak}}
        """,
    )
    clock = FakeClock(start=1000.0)  # 2026-01-01 00:16:40 UTC: the quiet window opens at 01:00
    events: list = []
    runner = Runner(load_playbook(path, url=sim.url), emit=Emitter(events.append), clock=clock)
    result = asyncio.run(runner.run())
    attempts = result.steps[-1].attempts
    assert [a.waited_s for a in attempts] == [0, 5, 2595]  # 00:16:45 -> 01:00:00
    waits = [e for e in events if isinstance(e, ev.WaitStarted)]
    assert waits[-1].reason.startswith("off-peak: next quiet window 01:00-05:00 UTC")
    ticks = [e.remaining for e in events if isinstance(e, ev.WaitTick) and e.remaining > 120]
    assert ticks and all(b - a == -60 for a, b in zip(ticks, ticks[1:], strict=False))  # a tick a minute, not a second


def test_probes_run_alongside_the_steps_and_land_in_the_report(run_text):
    ran = run_text(
        """
        site: simulator
        probes: [windows]
        steps:
          - open: /
          - send: "Reply with the single word: pong"
          - expect_reply: {contains: pong}
        """
    )
    assert ran.result.outcome == "passed"
    assert {f.subject for f in ran.result.probes} == {"busy window", "quiet window"}
    assert [e for e in ran.events if isinstance(e, ev.ProbeFinding)]
    report = ran.result.to_dict()
    assert report["probes"][0]["probe"] == "windows"


def test_routes_rerun_the_steps_through_each_proxy_and_compare(run_text):
    from assistant.simulator.faultproxy import FaultProxy

    with FaultProxy(latency=0.2) as slow, FaultProxy(faults=("drop_sse",)) as blocked:
        ran = run_text(
            f"""
            site: simulator
            routes:
              - {{name: slow, proxy: "{slow.url}"}}
              - {{name: blocked, proxy: "http://user:secret@{blocked.url.split('//')[1]}"}}
            steps:
              - open: /
              - send: "Reply with the single word: pong"
              - expect_reply: {{contains: pong, timeout: 5s}}
            """
        )
        assert slow.requests > 0 and blocked.requests > 0  # the browser really went through them
    direct = ran.result
    assert direct.outcome == "passed"  # the direct path decides the run
    by_name = {r.name: r for r in direct.routes}
    assert by_name["slow"].outcome == "passed"
    assert by_name["blocked"].outcome == "failed"
    assert by_name["blocked"].steps[-1].attempts[-1].outcome != "answered"  # the stream never got through
    assert "secret" not in str(direct.to_dict())
    assert any("'blocked' failed where the direct path passed" in n for n in direct.notes)
