"""What a newcomer trips on (issue 12): words that contradict, hints that point the wrong
way, backup messages, the verdict panel at 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.diagnosis.model import Evidence, Verdict
from assistant.records import StepRecord
from assistant.report.console import _took, cells, verdict_panel
from assistant.runner import passed_summary
from tests.conftest import error_of, write_playbook

README = Path(__file__).resolve().parent.parent / "README.md"
SMOKE_RUN = str(README.parent / "bench" / "smoke.yaml")


def invoke(*args: str, **env):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env or None)


def test_a_passed_run_counts_tolerated_and_skipped_steps():
    def steps(*outcomes):
        return [StepRecord(str(n), "open", "open '/'", n, o) for n, o in enumerate(outcomes, 1)]

    assert passed_summary(steps("passed")) == "the 1 step passed"
    assert passed_summary(steps("passed", "passed")) == "all 2 steps passed"
    assert passed_summary(steps(*["passed"] * 8, "tolerated", "skipped")) == "passed: 8 steps, 1 tolerated, 1 skipped"


def test_steps_retry_describes_the_block_and_the_readme_sample_lists_steps_as_the_tool_does(tmp_path):
    result = invoke("steps", "retry")
    assert result.exit_code == 0 and result.stdout.startswith("retry  A block, not a step")
    assert "Did you mean 'retry'?" in invoke("steps", "retyr").stderr
    path = write_playbook(tmp_path, "site: simulator\nsteps:\n  - open: /\n  - expct_reply: {contains: pong}\n", "check.yaml")
    said = re.search(r"Did you mean 'expect_reply'\? Known steps: .*", error_of(path)).group(0)
    assert said in README.read_text(encoding="utf-8")


def test_expect_visible_of_a_feature_the_profile_does_not_name(tmp_path, sim):
    (tmp_path / "bare.yaml").write_text(f"name: bare\nurl: {sim.url}\n", encoding="utf-8")
    path = write_playbook(tmp_path, "site: bare.yaml\nsteps:\n  - open: /\n  - expect_visible: image_upload\n")
    result = invoke("run", str(path), "--json", str(tmp_path / "r.json"))
    step = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["steps"][1]
    assert result.exit_code == 1 and step["outcome"] == "failed"
    assert step["detail"].startswith("the site profile 'bare' names no feature 'image_upload' (its features: none)")


def test_extensions_of_a_missing_folder_and_restore_with_no_backups(tmp_path):
    result = invoke("extensions", str(tmp_path / "no-such-dir"))
    assert result.exit_code == 2 and "no-such-dir does not exist" in result.stderr
    result = invoke("restore", "--list", ASSISTANT_BACKUPS=str(tmp_path / "backups"))
    assert result.exit_code == 0 and result.stdout.startswith(f"No backups in {tmp_path / 'backups'}")


def test_the_verdict_panel_hangs_wrapped_lines_and_groups_repeats():
    busy = '"The server is busy. Please try again later." in the reply bubble; stream hint generation_timeout'
    evidence = [Evidence("reproduce", f"in your setup: busy at turn 3: {busy}", "busy")]
    evidence += [Evidence("back-off", f"attempt {n} of 4 after {w} s: busy at turn 3: {busy}", "busy") for n, w in ((2, 5), (3, 10), (4, 30))]
    evidence.append(Evidence("experiment: a new chat", "answered (the reply finished)", "answered"))
    verdict = Verdict("session_context", "a new chat fixes it: the conversation itself is refused", evidence,
                      remedies=["Start a new chat: this conversation is what the server refuses (long conversations get busy first)."])
    lines = ["".join(text for text, _ in body) for _, body, _ in verdict_panel(verdict, 80)]
    assert all(cells(line) == 76 for line in lines[1:-1])  # every row fills the box, none overflows
    text = [line.rstrip() for line in lines]
    first = next(n for n, line in enumerate(text) if line.startswith("  - reproduce, back-off: busy x4 at turn 3"))
    assert "(after waits of 5, 10, 30 s)" in text[first] and text[first + 1].startswith("    ")  # hangs under its bullet
    assert sum(busy[:20] in line for line in text) == 1  # the busy text once, not four times
    remedy = next(n for n, line in enumerate(text) if line.startswith("  1. "))
    assert text[remedy + 1].startswith("     ") and not text[remedy + 1].startswith("      ")


def test_a_scaled_run_says_its_real_time_too():
    assert _took(17.7, 3.8) == "17.7 s on the run's clock, 3.8 s real time"
    assert _took(1.2, 1.3) == "1.2 s"


def test_a_long_wait_reads_as_the_countdown_said_it():
    from assistant.runner import _waits

    assert _waits([5, 10, 30]) == "5 + 10 + 30 s"
    assert _waits([5, 22490.5]) == "5 s + 6 h 15 min"


def test_a_runs_probe_lines_come_after_its_header(capsys):
    from assistant import events as ev
    from assistant.probes import Finding
    from assistant.report.console import ConsoleReporter

    console = ConsoleReporter(hold_probes=True)
    console(ev.ProbeFinding(Finding("status_page", "simulator", "ok", "all systems operational")))
    console(ev.RunStarted("smoke", "simulator", "http://127.0.0.1:9", "chromium"))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("assistant  smoke") and lines[1].startswith("  probe status_page simulator: ok")


def test_diagnose_rejects_a_missing_profile_before_it_starts(tmp_path):
    result = invoke("diagnose", "simulator", "--profile", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "no such folder" in result.stderr and "diagnosing" not in result.stderr


def test_a_site_named_on_the_command_line_is_an_argument_not_a_playbook():
    for args in (["probe", "nosuchsite"], ["run", SMOKE_RUN, "--site", "nosuch"], ["diagnose", "nosuchsite"]):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 2 and result.stderr.startswith("error (invalid argument): "), args
        assert "unknown site" in result.stderr and "Known sites: " in result.stderr


def test_headed_without_a_display_names_the_display_and_xvfb_run(sim):
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the check is Linux's: macOS and Windows always have a display")
    result = CliRunner().invoke(cli, ["run", SMOKE_RUN, "--url", sim.url, "--headed"], catch_exceptions=False,
                                env={"DISPLAY": None, "WAYLAND_DISPLAY": None})
    assert result.exit_code == 3 and "needs a display" in result.stderr and "xvfb-run -a" in result.stderr


def test_the_guide_says_what_yes_chose_and_takes_the_chat_from_the_url(capsys):
    from assistant.cli.guide import ask, site_for_url

    assert site_for_url("https://chat.deepseek.com/") == "deepseek" and site_for_url("http://127.0.0.1:8765") == "simulator"
    answers = ask(True, None, None, "http://127.0.0.1:8765")
    out = capsys.readouterr().out
    assert (answers.site, answers.profile, answers.allow_system_changes) == ("simulator", None, False)
    assert "Which chat: simulator (the default, taken by --yes)" in out
    assert "own browser profile (its folder, or none for a clean browser): none (the default" in out


def test_the_playbooks_ini_option_takes_several_patterns(pytester):
    body = "site: simulator\nsteps:\n  - open: /\n"
    pytester.makefile(".playbook.yaml", first=body)
    pytester.makefile(".check.yaml", second="name: second\n" + body)
    pytester.makefile(".yaml", ignored=body)
    pytester.makeini("[pytest]\nassistant_playbooks = *.playbook.yaml *.check.yaml\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*first.playbook.yaml::first*", "*second.check.yaml::second*", "*2 tests collected*"])


def test_a_long_conversation_backs_off_at_the_turn_that_was_busy(tmp_path, sim):
    sim.configure(scenario="long-conversation", long_after=2)
    report = tmp_path / "verdict.json"
    result = invoke("diagnose", "simulator", "--url", sim.url, "--turns", "3", "--time-scale", "0.001", "--timeout", "5", "--json", str(report))
    verdict = json.loads(report.read_text(encoding="utf-8"))["verdict"]
    assert result.exit_code == 1 and verdict["category"] == "session_context"
    backoffs = [e["observation"] for e in verdict["evidence"] if e["source"] == "back-off"]
    assert backoffs and all("busy at turn 3:" in o for o in backoffs), backoffs  # asked again, not a turn 1
    assert "busy x4 at turn 3 (after waits of 5, 10, 30 s)" in " ".join(result.stderr.split())
