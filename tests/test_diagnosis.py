"""The fault matrix in the test suite: every verdict staged, diagnosed in real Chromium,
decided by evidence the report lists, with remedies; and the commands around it."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.diagnosis import CATEGORIES
from assistant.diagnosis.selftest import ROWS, run_matrix
from assistant.timing.clock import Clock

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def matrix():
    """The whole matrix once (one simulator, one browser), by expected verdict."""
    events: list = []
    results = asyncio.run(run_matrix(ROWS, clock=Clock(0.001), emit=events.append))
    return {r.row.expected: r for r in results}


def test_the_matrix_stages_every_category():
    assert sorted(r.expected for r in ROWS) == sorted(CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_staged_fault_gets_its_verdict_with_evidence_and_remedies(matrix, category):
    result = matrix[category]
    assert result.error is None, result.error
    assert result.got == category, result.verdict.summary if result.verdict else result.error
    verdict = result.verdict
    assert verdict.evidence and verdict.evidence[0].source == "reproduce"
    assert verdict.remedies and all(r.strip() for r in verdict.remedies)
    report = verdict.to_dict()
    assert report["category"] == category and report["evidence"]


def test_verdict_details(matrix):
    assert matrix["transient_overload"].verdict.recovered_at == 3
    assert [c["name"] for c in matrix["extension"].verdict.culprit] == ["Block Stream (fixture)"]
    assert "Disable 'Block Stream (fixture)'" in matrix["extension"].verdict.remedies[0]
    assert matrix["feature_missing"].verdict.missing_features == ["image_upload"]
    assert "Wait 7 s" in matrix["rate_limited"].verdict.remedies[0]
    assert matrix["web_outage"].verdict.remedies[0].startswith("Use the API instead of the web chat: the API ('api') answered in")
    assert "SIMULATOR_API_KEY" in " ".join(matrix["inconclusive"].verdict.remedies)
    assert "backing off on the schedule" in " ".join(matrix["inconclusive"].verdict.tried)


def test_a_green_status_page_under_a_busy_chat_is_said_plainly(matrix):
    notes = " ".join(matrix["provider_outage"].verdict.notes + matrix["web_outage"].verdict.notes)
    assert "capacity limits often never reach a status page" in notes
    assert not matrix["healthy"].verdict.notes


def test_no_browser_experiment_when_the_api_fails_the_same_way(matrix):
    tried = matrix["provider_outage"].verdict.tried
    assert "a new chat" not in tried and any("skipped" in t for t in tried)


def test_selftest_command_prints_the_table_and_exits_0_when_rows_match(tmp_path):
    report = tmp_path / "selftest.json"
    result = CliRunner().invoke(cli, ["selftest", "--only", "healthy,cookies", "--time-scale", "0.001", "--json", str(report)])
    assert result.exit_code == 0, result.stderr
    assert "2 of 2 rows match" in result.stderr
    rows = json.loads(report.read_text())["rows"]
    assert [(r["expected"], r["got"]) for r in rows] == [("healthy", "healthy"), ("cookies", "cookies")]


def test_diagnose_command_reports_the_verdict(tmp_path, sim):
    sim.configure(scenario="busy-twice")
    report = tmp_path / "verdict.json"
    result = CliRunner().invoke(cli, ["diagnose", "simulator", "--url", sim.url, "--time-scale", "0.001", "--timeout", "5", "--json", str(report)])
    assert result.exit_code == 1, result.stderr
    assert "verdict: transient_overload" in result.stderr
    data = json.loads(report.read_text())
    assert data["verdict"]["category"] == "transient_overload" and data["verdict"]["recovered_at"] == 3


def test_the_diagnose_step_puts_the_verdict_in_the_run_report(tmp_path, sim, run_text):
    sim.configure(scenario="long-conversation", long_after=2)
    ran = run_text("""
        site: simulator
        steps:
          - diagnose: {turns: 3, timeout: 5s}
        """)
    assert ran.result.verdict["category"] == "session_context"
    assert ran.result.outcome == "failed" and "session_context" in ran.result.steps[0].detail


def test_the_shipped_diagnose_playbook_runs_healthy(sim, tmp_path):
    from assistant.playbook.resources import playbooks_dir

    report = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["run", str(playbooks_dir() / "diagnose.yaml"), "--url", sim.url, "--time-scale", "0.001", "--json", str(report)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(report.read_text())["verdict"]["category"] == "healthy"
