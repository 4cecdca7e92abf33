"""Issue 10 without a browser: hostile playbooks, arguments and report paths end in a
documented exit code and one positioned paragraph, never a traceback, a hang or a secret.

Each bad input is loaded or run through the CLI (CliRunner); those that must not hang
(FIFOs, /dev/zero) run under pytest-timeout's limit.
"""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import EnvironmentProblem
from assistant.report.files import write_report
from tests.conftest import error_of

HEAD = "site: simulator\nsteps:\n"


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def no_traceback(result) -> str:
    assert "Traceback" not in result.output + result.stderr, result.stderr
    return result.stderr


# -- item 7: tracebacks on bad playbooks become positioned errors (exit 2) ------------------

BAD_PLAYBOOKS = [
    pytest.param(HEAD + "  - wait: 1s\x00\n", "pb.yaml:3:13: control character U+0000", id="nul"),
    pytest.param(HEAD + "  - wait: 1s\x7f\n", "pb.yaml:3:13: control character U+007F", id="del"),
    pytest.param(HEAD + "  - wait: " + "9" * 309 + "\n", "pb.yaml:3:11: wait.duration: bad duration", id="309-digit-duration"),
    pytest.param(HEAD + "  - wait: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 100 levels deep (the limit)", id="deep-yaml"),
    pytest.param(HEAD + '  - wait: 1s\n  - wait: {duration: 1s, when: "' + "(" * 200 + "failed" + ")" * 200 + '"}\n',
                 "nested more than 32 levels deep (the limit)", id="deep-when"),
    pytest.param(HEAD + '  - wait: 1s\n  - wait: {duration: 1s, when: "' + "(" * 1000 + "failed" + ")" * 1000 + '"}\n',
                 "past the limit of 1000", id="1000-deep-when"),
    pytest.param(HEAD + '  - wait: 1s\n  - wait: {duration: 1s, when: "steps.' + "9" * 5000 + '.outcome == passed"}\n',
                 "pb.yaml:4:32:", id="5000-digit-when-index"),
    pytest.param(HEAD + '  - expect_reply: {matches: "' + "(" * 1000 + "a" + ")" * 1000 + '"}\n',
                 "regular expression of 2001 characters is past the limit of 1000", id="1000-deep-regex"),
    pytest.param(HEAD + '  - expect_reply: {matches: "^(a|aa)+$"}\n',
                 "pb.yaml:3:29: expect_reply.matches: regular expression '^(a|aa)+$' backtracks catastrophically", id="backtracking-regex"),
    pytest.param(HEAD + "  - retry:\n      schedule: [{x: 1}]\n      steps: [new_chat]\n",
                 "pb.yaml:4:18: retry.schedule[0]: expected a string or a number, got a mapping", id="block-schedule-mapping"),
    # item 8: absurd values refused at load, the limit named
    pytest.param(HEAD + "  - wait: 1000000000\n", "past the limit of 24 h", id="wait-1e9"),
    pytest.param(HEAD + "  - expect_reply: {contains: a, timeout: 1.0e+9}\n", "past the limit of 24 h", id="timeout-1e9"),
    pytest.param(HEAD + "  - expect_reply: {contains: a, retry: {max_attempts: 1000000000000000000}}\n",
                 "max_attempts: must be at most 1000 (the limit)", id="max-attempts-1e18"),
    pytest.param("site: simulator\nbrowser: {viewport: {width: 1000000000, height: 10}}\nsteps: [new_chat]\n",
                 "browser.viewport.width: must be at most 10000 (the limit)", id="viewport-1e9"),
    pytest.param("site: ./s.yaml\nsteps: [new_chat]\n", "s.yaml:1:6: site profile.url: 'http://127.0.0.1:70000/' is not a valid URL (its port is outside 1-65535)", id="url-port-70000"),
    pytest.param("site: ./s0.yaml\nsteps: [new_chat]\n", "port 0 cannot be connected to", id="url-port-0"),
    # item 6: limits
    pytest.param(HEAD + "  - expect_reply: {contains: a, retry: {schedule: [" + ", ".join(["1s"] * 5000) + "]}}\n",
                 "5000 items, past the limit of 1000", id="schedule-5000"),
    # item 16: selectors checked at load
    pytest.param(HEAD + "  - expect_visible: 'div[[['\n", "pb.yaml:3:21: expect_visible.target: 'div[[[' is not a valid selector", id="selector"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_PLAYBOOKS)
def test_a_bad_playbook_is_a_positioned_error(write, text, expected):
    write("url: http://127.0.0.1:70000/\n", "s.yaml")
    write("url: http://127.0.0.1:0/\n", "s0.yaml")
    assert expected in error_of(write(text))


def test_an_alias_bomb_is_refused_at_the_alias(write):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]" for i in range(1, 9)]
    path = write("site: simulator\nx-bomb:\n" + "\n".join("  " + line for line in lines) + "\nsteps: [new_chat]\n")
    message = error_of(path)
    assert "pb.yaml:7:" in message and "past the limit of 100,000" in message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_file_with_a_byte_order_mark_is_decoded(tmp_path, encoding):
    from assistant.playbook import load_playbook

    path = tmp_path / "pb.yaml"
    path.write_bytes((HEAD + "  - wait: 1s\n").encode(encoding))
    assert load_playbook(path).steps[0].params == {"duration": 1.0}


def test_a_file_past_1_mb_is_not_read(write):
    path = write(HEAD + "  - wait: 1s\n" + "# padding\n" * 120_000)
    assert "past the limit of 1,048,576 (1 MB)" in error_of(path)


@pytest.mark.timeout(20)
def test_a_fifo_or_device_is_never_opened(write, tmp_path):
    os.mkfifo(tmp_path / "fifo.yaml")  # opening it for reading would block forever
    assert "not a regular file" in error_of(tmp_path / "fifo.yaml")
    assert "not a regular file" in error_of("/dev/zero")
    message = error_of(write("site: simulator\ninclude: [fifo.yaml, /dev/zero]\nsteps: [new_chat]\n"))
    assert message.count("not a regular file") == 2 and "pb.yaml:2:11" in message


def test_10000_problems_show_20_and_count_the_rest(write):
    message = error_of(write(HEAD + "  - wat\n" * 1000 + "x-a: 1\n"))
    assert message.count("unknown step 'wat'") == 20
    assert "... and 980 more problems" in message and len(message) < 20_000


# -- item 12: secrets ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["wait: \"${env:CANARY}\"", "new_chat: \"${env:CANARY}\"", "expect_reply: {contains: a, timeout: \"${env:CANARY}\"}",
                                   "send: {text: \"${env:CANARY}\", bogus: 1}", "expect_visible: \"${env:CANARY}[[\""])
def test_an_environment_value_never_shows_in_an_error(write, monkeypatch, where):
    monkeypatch.setenv("CANARY", "s3cr3t-canary-value")
    message = error_of(write(HEAD + f"  - {where}\n"))
    assert "s3cr3t-canary-value" not in message
    assert "${env:CANARY}" in message


def test_a_url_password_is_redacted_in_errors(write):
    result = invoke("run", write(HEAD + "  - wait: 1s\n"), "--url", "http://user:hunter22@127.0.0.1:0/")
    assert result.exit_code == 2
    assert "hunter22" not in result.stderr and "user:***@" in result.stderr


# -- item 8: bad arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("run", "pb.yaml", "--url", "http://[::1"), id="run-url"),
        pytest.param(("probe", "simulator", "--url", "http://[::1"), id="probe-url"),
        pytest.param(("diagnose", "simulator", "--url", "http://[::1"), id="diagnose-url"),
        pytest.param(("guide", "--yes", "--url", "http://[::1"), id="guide-url"),
        pytest.param(("simulate", "--port", "65536"), id="port-65536"),
        pytest.param(("simulate", "--port", "-1"), id="port-minus-1"),
        pytest.param(("diagnose", "simulator", "--time-scale", "-1"), id="time-scale-negative"),
        pytest.param(("run", "pb.yaml", "--time-scale", "inf"), id="time-scale-inf"),
        pytest.param(("run", "pb.yaml", "--time-scale", "nan"), id="time-scale-nan"),
        pytest.param(("run", "pb.yaml", "--vars-file", "/dev/zero"), id="vars-file-dev-zero"),
        pytest.param(("run", "pb.yaml", "--vars-file", "big.yaml"), id="vars-file-5000-digits"),
    ],
)
def test_a_bad_argument_exits_2_without_a_traceback(write, args):
    write(HEAD + "  - wait: 1s\n")
    write("v: " + "9" * 5000 + "\n", "big.yaml")
    result = invoke(*args)
    assert result.exit_code == 2, result.stderr
    assert no_traceback(result).strip()


def test_in_place_without_a_terminal_says_to_pass_yes(write, tmp_path):
    (tmp_path / "profile" / "Default").mkdir(parents=True)
    path = write("site: simulator\nbrowser: {profile: {path: profile/Default}}\nsteps: [new_chat]\n")
    result = invoke("run", path, "--in-place")
    assert result.exit_code == 2
    assert "pass --yes" in no_traceback(result) and "Aborted" not in result.output


# -- item 15: an invalid playbook still writes the requested reports -------------------------


def test_an_invalid_playbook_writes_its_reports_with_outcome_error(write, tmp_path):
    path = write(HEAD + "  - expct_reply: {contains: pong}\n")
    result = invoke("run", path, "--json", "r.json", "--junit", "r.xml", "--html", "html")
    assert result.exit_code == 2
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["outcome"] == "error" and "pb.yaml:3:5: unknown step 'expct_reply'" in data["error"]
    assert (tmp_path / "r.xml").exists() and (tmp_path / "html" / "index.html").exists()


# -- items 2 and 5: report files ----------------------------------------------------------


@pytest.mark.parametrize("output", ["/proc/nope/s.json", "/dev/full"])
def test_schema_output_that_cannot_be_written_exits_3(output):
    result = invoke("schema", "--output", output)
    assert result.exit_code == 3
    assert f"the schema file (--output) {output} was not written" in no_traceback(result)


def test_schema_output_into_a_missing_folder_creates_it(tmp_path):
    result = invoke("schema", "--output", tmp_path / "new" / "s.json")
    assert result.exit_code == 0 and json.loads((tmp_path / "new" / "s.json").read_text())["type"] == "object"


def test_probe_json_that_cannot_be_written_exits_3():
    result = invoke("probe", "simulator", "--only", "windows", "--json", "/proc/nope/x.json")
    assert result.exit_code == 3
    assert "the --json report /proc/nope/x.json was not written" in no_traceback(result)


def test_a_report_is_written_through_a_symlink_to_its_target(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    (tmp_path / "link.json").symlink_to(target)
    write_report(tmp_path / "link.json", b"new", "the --json report")
    assert (tmp_path / "link.json").is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "link.json").symlink_to(tmp_path / "sub" / "real.json")
    write_report(tmp_path / "link.json", b"new", "the --json report")
    assert (tmp_path / "sub" / "real.json").read_text() == "new" and (tmp_path / "link.json").is_symlink()


@pytest.mark.timeout(20)
def test_a_fifo_is_written_in_place_and_one_nobody_reads_fails_at_once(tmp_path):
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    with pytest.raises(EnvironmentProblem, match="a FIFO that nobody is reading"):
        write_report(fifo, b"x", "the --json report")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_report(fifo, b"through the fifo", "the --json report")
        assert os.read(reader, 100) == b"through the fifo"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # never replaced by a regular file


def test_a_folder_is_never_replaced(tmp_path):
    with pytest.raises(EnvironmentProblem, match="it is a folder"):
        write_report(tmp_path, b"x", "the --json report")
    assert tmp_path.is_dir()


def test_a_full_device_is_an_error_and_stays_a_device():
    with pytest.raises(EnvironmentProblem, match="No space left on device"):
        write_report("/dev/full", b"x" * 10, "the --junit report")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_dash_and_dev_stdout_write_to_standard_output(capfd):
    write_report("-", b'{"a": 1}\n', "the --json report")
    sys.stdout.flush()
    write_report("/dev/stdout", b'{"b": 2}\n', "the --json report")
    out = capfd.readouterr().out
    assert '{"a": 1}' in out and '{"b": 2}' in out


def test_an_invalid_playbook_report_on_standard_output_keeps_narration_on_stderr(write):
    result = invoke("run", write(HEAD + "  - wat\n"), "--json", "-")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["outcome"] == "error"
    assert "unknown step 'wat'" in result.stderr
