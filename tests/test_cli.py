"""The command line, driven in-process through click's CliRunner."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.browser import find
from assistant.cli import cli
from tests.conftest import SMOKE, TEST_TIME_SCALE, write_playbook


@pytest.fixture
def invoke():
    def run(*args: str):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run


def run_smoke(invoke, tmp_path, sim, *extra):
    path = write_playbook(tmp_path, SMOKE)
    report = tmp_path / "report.json"
    result = invoke("run", path, "--url", sim.url, "--time-scale", TEST_TIME_SCALE, "--json", report,
                    "--var", "prompt=Reply with the single word: pong", *extra)
    return result, json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.browser
def test_always_busy_exits_1_after_four_attempts_with_nominal_waits(invoke, tmp_path, sim):
    sim.configure(scenario="always-busy")
    result, report = run_smoke(invoke, tmp_path, sim)
    assert result.exit_code == 1
    assert report["outcome"] == "failed"
    attempts = report["steps"][2]["attempts"]
    assert [a["waited_s"] for a in attempts] == [0, 5, 10, 30]
    assert [a["outcome"] for a in attempts] == ["busy"] * 4
    assert all(a["signal"]["summary"] and a["started_at"] for a in attempts)
    assert "still busy after 4 attempts" in result.stderr


@pytest.mark.browser
def test_rate_limit_waits_what_retry_after_says(invoke, tmp_path, sim):
    sim.configure(scenario="rate-limit", retry_after="7")
    result, report = run_smoke(invoke, tmp_path, sim)
    assert result.exit_code == 1
    attempts = report["steps"][2]["attempts"]
    assert [a["waited_s"] for a in attempts] == [0, 7, 7, 7]
    assert attempts[0]["signal"]["status"] == 429


@pytest.mark.browser
def test_busy_twice_passes_and_the_report_has_the_documented_shape(invoke, tmp_path, sim):
    sim.configure(scenario="busy-twice")
    result, report = run_smoke(invoke, tmp_path, sim)
    assert result.exit_code == 0, result.stderr
    assert report["outcome"] == "passed"
    assert {"outcome", "steps", "summary", "started_at", "duration_s", "site", "url", "browser"} <= set(report)
    step = report["steps"][2]
    assert {"name", "outcome", "attempts", "detail", "line"} <= set(step)
    assert [a["outcome"] for a in step["attempts"]] == ["busy", "busy", "answered"]
    assert {"outcome", "signal", "started_at", "waited_s"} <= set(step["attempts"][0])
    assert "attempt 3 of 4" in result.stderr


def test_a_misspelt_step_exits_2_with_position_line_and_suggestion(invoke, tmp_path):
    path = write_playbook(tmp_path, "site: simulator\nsteps:\n  - open: /\n  - expct_reply: {contains: pong}\n")
    result = invoke("run", path)
    assert result.exit_code == 2
    assert f"{path}:4:5" in result.stderr
    assert "- expct_reply: {contains: pong}" in result.stderr
    assert "Did you mean 'expect_reply'?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_var_argument_exits_2(invoke, tmp_path):
    path = write_playbook(tmp_path, SMOKE)
    result = invoke("run", path, "--var", "no-equals-sign")
    assert result.exit_code == 2 and "NAME=VALUE" in result.stderr


def test_no_browser_exits_3_and_says_how_to_get_one(invoke, tmp_path, monkeypatch, sim):
    monkeypatch.setattr(find, "SYSTEM_NAMES", ())
    monkeypatch.setattr(find, "SYSTEM_PATHS", ())
    monkeypatch.delenv("ASSISTANT_BROWSER", raising=False)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    path = write_playbook(tmp_path, SMOKE)
    result = invoke("run", path, "--url", sim.url, "--var", "prompt=x")
    assert result.exit_code == 3
    assert "No Chromium or Chrome was found" in result.stderr
    assert "playwright install chromium" in result.stderr
    assert "Traceback" not in result.stderr
    doctor = invoke("doctor")
    assert doctor.exit_code == 3 and "playwright install chromium" in doctor.stdout


def test_a_browser_path_that_does_not_exist_exits_3(invoke, tmp_path, sim):
    path = write_playbook(tmp_path, SMOKE)
    result = invoke("run", path, "--url", sim.url, "--var", "prompt=x", "--browser-path", tmp_path / "nope")
    assert result.exit_code == 3 and "--browser-path" in result.stderr


@pytest.mark.browser
def test_an_unreachable_site_fails_the_check_with_a_clear_message(invoke, tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = write_playbook(tmp_path, SMOKE)
    result = invoke("run", path, "--url", f"http://127.0.0.1:{port}", "--var", "prompt=x")
    assert result.exit_code == 1
    assert f"could not open http://127.0.0.1:{port}/: net::ERR_CONNECTION_REFUSED." in result.stderr
    assert "ERR_CONNECTION_REFUSED" in result.stderr


def test_a_bad_selector_exits_2_with_its_position_before_a_browser_starts(invoke, tmp_path):
    path = write_playbook(tmp_path, "site: simulator\nsteps:\n  - open: /\n  - expect_visible: 'div[[['\n")
    result = invoke("run", path)
    assert result.exit_code == 2
    assert f"{path}:4:21" in result.stderr and "not a valid selector" in result.stderr
    assert "chromium" not in result.stderr  # found at load time: no browser was started


@pytest.mark.browser
def test_doctor_names_the_browser_and_its_version(invoke):
    result = invoke("doctor")
    assert result.exit_code == 0
    assert "Will use:" in result.stdout and "Headless launch: OK" in result.stdout


def test_simulate_rejects_an_unknown_scenario(invoke):
    result = invoke("simulate", "--port", "0", "--scenario", "nope")
    assert result.exit_code == 2 and "busy-twice" in result.stderr


def test_simulate_help_lists_every_scenario(invoke):
    from assistant.simulator import SCENARIOS

    text = " ".join(invoke("simulate", "--help").stdout.split())
    assert all(name in text for name in SCENARIOS)


def test_simulate_on_a_taken_port_exits_3(invoke, sim):
    port = sim.url.rsplit(":", 1)[1]
    result = invoke("simulate", "--port", port)
    assert result.exit_code == 3 and port in result.stderr


def test_help_does_not_import_playwright_or_rich():
    code = "import sys; from assistant.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('playwright', 'rich', 'aiohttp')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "run" in out and "demo" in out and "doctor" in out


def test_the_command_table_matches_each_command_and_loads_only_what_runs():
    from assistant.cli import COMMANDS

    code = ("import sys; from assistant.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('assistant.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"  # --help lists every command from the table alone
    for name, (_, _, short) in COMMANDS.items():
        command = cli.get_command(None, name)
        assert command.name == name and command.get_short_help_str(1000) == short


@pytest.mark.browser
def test_demo_meets_busy_twice_and_passes(invoke, tmp_path):
    report = tmp_path / "demo.json"
    result = invoke("demo", "--time-scale", TEST_TIME_SCALE, "--busy-form", "row", "--json", report)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    reply = next(s for s in data["steps"] if s["name"] == "expect_reply")
    assert [a["outcome"] for a in reply["attempts"]] == ["busy", "busy", "answered"]
    assert [a["waited_s"] for a in reply["attempts"]] == [0, 5, 10]
    assert reply["attempts"][0]["signal"]["where"] == "error row"


def test_the_wheel_carries_the_playbooks_and_the_simulator(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
                   cwd=Path(__file__).resolve().parent.parent, check=True, capture_output=True)
    [wheel] = tmp_path.glob("chat_busy_assistant-*.whl")  # the distribution's own name; `assistant` on PyPI is another tool
    names = set(zipfile.ZipFile(wheel).namelist())
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "assistant = assistant.__main__:main" in entry_points and "assistant = assistant.pytest_plugin" in entry_points
    for needed in ("assistant/playbooks/demo.yaml", "assistant/playbooks/sites/simulator.yaml",
                   "assistant/playbooks/sites/deepseek.yaml", "assistant/simulator/page.html",
                   "assistant/simulator/static/chat.js", "assistant/_fixtures/extensions/block-stream/manifest.json"):
        assert needed in names
    assert not any(n.startswith("fixtures/") for n in names)
