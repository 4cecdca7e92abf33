"""Scripted playbooks: ${env:NAME}, --vars-file, include: and when:, in the loader and in Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from assistant.cli import cli
from assistant.cli import run as cli_run
from assistant.playbook import load_playbook, load_vars_file
from assistant.playbook.schema import playbook_schema
from tests.conftest import error_of


def sends(playbook) -> list[str]:
    return [s.params["text"] for s in playbook.steps if s.kind == "send"]


# -- ${env:NAME} -----------------------------------------------------------------------


def test_env_values_are_read_at_load_time(write, monkeypatch):
    monkeypatch.setenv("ASSISTANT_T_PROMPT", "say pong")
    monkeypatch.delenv("ASSISTANT_T_UNSET", raising=False)
    monkeypatch.setenv("ASSISTANT_T_EMPTY", "")
    pb = load_playbook(write("""
        site: simulator
        steps:
          - send: "${env:ASSISTANT_T_PROMPT}!"
          - send: "${env:ASSISTANT_T_UNSET:-fallback}"
          - send: "${env:ASSISTANT_T_EMPTY:-shell-like}"
          - send: "[${env:ASSISTANT_T_UNSET:-}] $${env:X}"
    """))
    assert sends(pb) == ["say pong!", "fallback", "shell-like", "[] ${env:X}"]


def test_a_missing_env_variable_is_an_error_that_names_it(write, monkeypatch):
    monkeypatch.delenv("ASSISTANT_T_TOKEN", raising=False)
    message = error_of(write('site: simulator\nsteps:\n  - open: /\n  - send: "${env:ASSISTANT_T_TOKEN}"\n'))
    assert message.startswith("pb.yaml:4:11: environment variable ASSISTANT_T_TOKEN is not set")
    assert "export ASSISTANT_T_TOKEN=" in message and "${env:ASSISTANT_T_TOKEN:-default}" in message


def test_env_values_never_appear_in_errors(write, monkeypatch):
    monkeypatch.setenv("ASSISTANT_T_SECRET", "hunter2-secret")
    message = error_of(write('site: simulator\nsteps:\n  - send: "${env:ASSISTANT_T_SECRET} ${nope}"\n'))
    assert "unknown variable 'nope'" in message and "hunter2" not in message


def test_a_malformed_env_reference_is_an_error(write):
    message = error_of(write('site: simulator\nsteps:\n  - send: "${env:9lives}"\n'))
    assert "pb.yaml:3:11: '${env:9lives}' is not an environment variable reference" in message


# -- --vars-file -----------------------------------------------------------------------

PLAYBOOK_WITH_VARS = """
    site: simulator
    vars: {a: playbook, b: playbook, c: playbook}
    steps:
      - send: "${a} ${b} ${c}"
"""


@pytest.fixture
def loaded(monkeypatch):
    """Run `assistant run` in-process, stopping before the browser: the loaded playbook."""
    seen = []
    monkeypatch.setattr(cli_run, "_execute", lambda playbook, **_: seen.append(playbook) or 0)
    return seen


@pytest.mark.parametrize("name", ["vars.yaml", "vars.json"])
def test_vars_file_sits_between_playbook_vars_and_var(write, loaded, name):
    write(PLAYBOOK_WITH_VARS)
    data = {"b": "file", "c": "file", "n": 3}
    write(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data), name)
    result = CliRunner().invoke(cli, ["run", "pb.yaml", "--vars-file", name, "--var", "c=flag"])
    assert result.exit_code == 0, result.output
    assert loaded[0].vars == {"a": "playbook", "b": "file", "c": "flag", "n": "3"}
    assert sends(loaded[0]) == ["playbook file flag"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("- a\n- b\n", "vars.yaml:1:1: a vars file is a mapping of names to values", id="a-list"),
        pytest.param("a: 1\nb: {nested: 2}\n", "vars.yaml:2:4: vars file.b: expected", id="nested-value"),
        pytest.param("a: [1\n", "vars.yaml:2:1: invalid YAML", id="malformed"),
        pytest.param("", "vars.yaml:1:1: a vars file is a mapping", id="empty"),
        pytest.param(None, "vars file not found: vars.yaml", id="missing"),
    ],
)
def test_a_bad_vars_file_exits_2_with_a_clear_error(write, loaded, content, expected):
    write(PLAYBOOK_WITH_VARS)
    if content is not None:
        write(content, "vars.yaml")
    result = CliRunner().invoke(cli, ["run", "pb.yaml", "--vars-file", "vars.yaml"])
    assert result.exit_code == 2 and loaded == []
    assert expected in result.output


def test_load_vars_file_gives_text(write):
    assert load_vars_file(write("x: 1.5\ny: true\nz: null\n", "v.yaml")) == {"x": "1.5", "y": "true", "z": ""}


# -- include: --------------------------------------------------------------------------


def test_included_steps_run_first_and_the_including_vars_win(write):
    write("vars: {who: common, greeting: hello}\nsteps:\n  - open: /\n  - send: '${greeting} ${who}'\n", "parts/common.yaml")
    write("include: [common.yaml]\nvars: {extra: deeper}\nsteps:\n  - send: '${extra}'\n", "parts/setup.yaml")
    pb = load_playbook(write("""
        site: simulator
        include: [parts/setup.yaml]
        vars: {who: main}
        steps:
          - send: "${who} last"
    """))
    assert [s.kind for s in pb.steps] == ["open", "send", "send", "send"]
    assert sends(pb) == ["hello main", "deeper", "main last"]
    assert pb.vars == {"who": "main", "greeting": "hello", "extra": "deeper"}
    assert str(pb.steps[0].pos) == str(Path("parts/common.yaml")) + ":3:5"


def test_a_playbook_of_includes_only_needs_no_steps_of_its_own(write):
    write("site: deepseek\nsteps: [open]\n", "whole.yaml")  # a whole playbook: its site is not used
    pb = load_playbook(write("site: simulator\ninclude: [whole.yaml]\n"))
    assert [s.kind for s in pb.steps] == ["open"] and pb.site.name == "simulator"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({}, ["pb.yaml:2:11: included playbook not found: nowhere.yaml", "relative to the including file"], id="missing"),
        pytest.param(
            {"nowhere.yaml": "include: [pb.yaml]\nsteps: [open]\n"},
            ["nowhere.yaml:1:11: include cycle: pb.yaml -> nowhere.yaml -> pb.yaml"],
            id="cycle",
        ),
        pytest.param(
            {"nowhere.yaml": "steps:\n  - open: /\n  - expct_reply: pong\n"},
            ["nowhere.yaml:3:5: unknown step 'expct_reply'", ">   3 |   - expct_reply: pong", "Did you mean 'expect_reply'?"],
            id="error-inside-points-at-its-line",
        ),
        pytest.param(
            {"nowhere.yaml": "steps: [open]\nbrowser: {headless: false}\n"},
            ["nowhere.yaml:2:1: `browser:` of an included playbook would not be used"],
            id="unused-key",
        ),
        pytest.param({"nowhere.yaml": "steps: [open\n"}, ["nowhere.yaml:2:1: invalid YAML"], id="malformed"),
        pytest.param({"nowhere.yaml": "- open\n"}, ["nowhere.yaml:1:1: an included playbook is a mapping"], id="not-a-mapping"),
    ],
)
def test_include_errors_have_positions(write, files, expected):
    for name, text in files.items():
        write(text, name)
    message = error_of(write("site: simulator\ninclude: [nowhere.yaml]\nsteps: [new_chat]\n"))
    for fragment in expected:
        assert fragment in message


def test_include_must_be_a_list_of_paths(write):
    assert "pb.yaml:2:10: include: expected a list" in error_of(write("site: simulator\ninclude: other.yaml\nsteps: [open]\n"))


# -- when: (loading) ---------------------------------------------------------------------


def test_when_is_parsed_on_steps_and_blocks(write):
    pb = load_playbook(write("""
        site: simulator
        vars: {mode: full}
        steps:
          - open: /
          - expect_reply: {contains: pong, optional: true}
          - clear: {what: [cookies], when: "previous.outcome == 'tolerated'"}
          - retry:
              when: steps.2.outcome != 'passed' and vars.mode == 'full'
              steps:
                - reload
                - send: {text: hi, when: failed}
    """))
    assert pb.steps[0].when is None
    assert pb.steps[2].when.text == "previous.outcome == 'tolerated'" and "when" not in pb.steps[2].params
    assert pb.steps[3].when.text.startswith("steps.2.outcome") and pb.steps[3].steps[1].when.text == "failed"


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        pytest.param(
            "{send: {text: hi, when: \"previous.outcome = 'failed'\"}}",
            ["pb.yaml:5:29: when: cannot parse \"previous.outcome = 'failed'\": unexpected character '=' (column 18)",
             "\n  previous.outcome = 'failed'\n" + " " * 19 + "^\nExamples:"],
            id="syntax-error",
        ),
        pytest.param("{send: {text: hi, when: steps.2.outcome == 'failed'}}",
                     ["pb.yaml:5:29: when: steps.2 in \"steps.2.outcome == 'failed'\" is not an earlier step (this is step 2)"], id="not-earlier"),
        pytest.param("{send: {text: hi, when: vars.mdoe == 'x'}}",
                     ["when: unknown variable 'vars.mdoe'", "Did you mean 'mode'?"], id="unknown-variable"),
        pytest.param("{send: {text: hi, when: true}}", ["pb.yaml:5:29: send.when: expected a string"], id="not-text"),
    ],
)
def test_when_errors_at_load_time(write, step, expected):
    message = error_of(write(f"site: simulator\nvars: {{mode: full}}\nsteps:\n  - open: /\n  - {step}\n"))
    for fragment in expected:
        assert fragment in message


def test_previous_of_the_first_step_is_an_error(write):
    message = error_of(write("site: simulator\nsteps:\n  - open: {url: /, when: previous.outcome == 'passed'}\n"))
    assert "pb.yaml:3:26: when: 'previous.outcome == 'passed'' reads `previous`" in message.replace('"', "'")


def test_the_schema_knows_when_and_include():
    validator = jsonschema.Draft202012Validator(playbook_schema())
    good = {"include": ["a.yaml"], "steps": [{"reload": {"when": "failed"}}, {"retry": {"when": "passed", "steps": ["reload"]}}]}
    assert list(validator.iter_errors(good)) == []
    assert not validator.is_valid({"steps": [{"reload": {"when": 3}}]})


# -- when: in real Chromium ----------------------------------------------------------------

REMEDY_WHEN_NEEDED = """
    site: simulator
    steps:
      - open: /
      - send: "Reply with the single word: pong"
      - expect_reply: {contains: pong, timeout: 5s, retry: {max_attempts: 1}, optional: true}
      - clear: {what: [cookies], when: "steps.3.outcome == 'tolerated'"}
      - reload
      - send: "Reply with the single word: pong"
      - expect_reply: {contains: pong, timeout: 5s, retry: {max_attempts: 1}}
"""


def test_a_remedy_runs_only_when_the_first_attempt_failed(sim, run_text):
    sim.configure(scenario="bad-cookie")
    ran = run_text(REMEDY_WHEN_NEEDED)
    outcomes = [(s.name, s.outcome) for s in ran.result.steps]
    assert outcomes[2:4] == [("expect_reply", "tolerated"), ("clear", "passed")]
    assert ran.result.steps[-1].outcome == "passed" and ran.result.outcome == "passed"


def test_a_false_condition_skips_the_step_and_the_run_passes(sim, run_text):
    ran = run_text(REMEDY_WHEN_NEEDED)  # healthy: the first attempt passes, no remedy
    clear = ran.step("clear")
    assert clear.outcome == "skipped" and clear.attempts == []
    assert clear.detail == "when: \"steps.3.outcome == 'tolerated'\" is false"
    assert ran.result.outcome == "passed" and ran.result.steps[-1].outcome == "passed"
    ended = [e for e in ran.events if type(e).__name__ == "StepEnded" and e.index == clear.index]
    assert [e.outcome for e in ended] == ["skipped"]
