"""The playbooks shipped in playbooks/: each validates without a browser and does what its
header says against the simulator (real Chromium, waits scaled by the clock)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.events import Emitter
from assistant.playbook import load_playbook
from assistant.runner import Runner
from assistant.timing.clock import Clock
from tests.conftest import TEST_TIME_SCALE

ROOT = Path(__file__).resolve().parent.parent
READY = ["deepseek-smoke", "wait-for-recovery", "extension-check", "cookies-and-cache", "off-peak"]


def run(name: str, sim, tmp_path):
    playbook = load_playbook(ROOT / "playbooks" / f"{name}.yaml", site="simulator", url=sim.url)
    runner = Runner(playbook, emit=Emitter(), clock=Clock(TEST_TIME_SCALE), artifacts_dir=tmp_path / "artifacts")
    return asyncio.run(runner.run())


def outcomes(result) -> list[str]:
    return [s.outcome for s in result.steps]


def test_every_shipped_playbook_validates_without_a_browser_and_a_broken_one_fails_with_positions(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: simulator\nsteps:\n  - open: /\n  - expct_reply: {contains: pong}\n", encoding="utf-8")
    shipped = sorted(str(p) for p in (ROOT / "playbooks").glob("*.yaml"))
    assert all(any(p.endswith(f"/{name}.yaml") for p in shipped) for name in READY)
    # A fresh interpreter, to see what the command imports: no Playwright, so no browser.
    probe = ("import sys; from assistant.cli import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n"
             "    print('playwright' in sys.modules, exit.code, file=sys.stderr)\n")
    ok = subprocess.run([sys.executable, "-c", probe, "validate", "--json", str(tmp_path / "ok.json"), *shipped],
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.stderr.rstrip().endswith("False 0"), ok.stderr
    assert f"{len(shipped)} of {len(shipped)} playbooks valid" in ok.stderr
    bad = subprocess.run([sys.executable, "-c", probe, "validate", "--json", "-", shipped[0], str(broken)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.stderr.rstrip().endswith("False 2"), bad.stderr
    assert "broken.yaml:4:5: unknown step 'expct_reply'" in bad.stderr and "Did you mean 'expect_reply'?" in bad.stderr
    data = json.loads(bad.stdout)
    assert data["schema_version"].startswith("1.") and data["valid"] is False
    assert [p["valid"] for p in data["playbooks"]] == [True, False]
    assert data["playbooks"][1]["problems"][0] | {"file": None} == {"file": None, "line": 4, "column": 5, "message": "unknown step 'expct_reply'"}


@pytest.mark.browser
def test_the_smoke_check_and_the_off_peak_retry_back_off_to_the_answer(sim, tmp_path):
    for name in ("deepseek-smoke", "off-peak"):
        sim.configure(scenario="busy-twice")
        result = run(name, sim, tmp_path)
        reply = next(s for s in result.steps if s.name == "expect_reply")
        assert result.outcome == "passed", result.summary
        assert [a.outcome for a in reply.attempts] == ["busy", "busy", "answered"] and [a.waited_s for a in reply.attempts] == [0, 5, 10]


@pytest.mark.browser
def test_wait_for_recovery_repeats_whole_rounds_until_the_chat_answers(sim, tmp_path):
    sim.configure(scenario="busy-twice")
    result = run("wait-for-recovery", sim, tmp_path)
    block = result.steps[1]
    assert result.outcome == "passed", result.summary
    assert [a.outcome for a in block.attempts] == ["busy", "busy", "ok"] and [a.waited_s for a in block.attempts] == [0, 30, 60]


@pytest.mark.browser
@pytest.mark.parametrize(("scenario", "expected"), [
    pytest.param("bad-cookie", ["passed", "passed", "tolerated", "passed", "passed", "passed", "passed"] + ["skipped"] * 4, id="cookies-fix-it"),
    pytest.param("stale-cache", ["passed", "passed", "tolerated", "passed", "passed", "passed", "tolerated"] + ["passed"] * 4, id="cache-fixes-it"),
])
def test_cookies_and_cache_shows_the_fault_then_the_remedy_that_flips_it(sim, tmp_path, scenario, expected):
    sim.configure(scenario=scenario)
    result = run("cookies-and-cache", sim, tmp_path)
    assert outcomes(result) == expected, result.summary
    assert result.outcome == "passed"


@pytest.mark.browser
def test_the_extension_check_compares_then_bisects_to_the_culprit(sim, tmp_path):
    result = run("extension-check", sim, tmp_path)
    assert outcomes(result) == ["tolerated", "failed"], result.summary
    found = result.steps[1].attempts[-1].signal["extra"]
    assert [c["name"] for c in found["culprits"]] == ["Block Stream (fixture)"] and found["acquitted"] == []
