"""The `when:` condition language: what it parses, what it refuses, how it evaluates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.playbook.when import WhenSyntaxError, parse


def record(outcome: str, last: str | None = None):
    return SimpleNamespace(outcome=outcome, attempts=[SimpleNamespace(outcome=last)] if last else [])


RECORDS = [record("passed", "ok"), record("tolerated", "busy")]
VARS = {"mode": "full", "n": "3", "prompt": "say pong"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("previous.outcome == 'tolerated'", True, id="previous-outcome"),
        pytest.param("steps.1.outcome == \"passed\"", True, id="step-by-number-double-quotes"),
        pytest.param("steps.2.result in ['busy', 'timeout']", True, id="result-in-list"),
        pytest.param("steps.2.result not in ['busy']", False, id="not-in"),
        pytest.param("failed", True, id="failed-counts-tolerated"),
        pytest.param("passed", False, id="passed-is-not-failed"),
        pytest.param("not failed or vars.mode == 'full'", True, id="or-with-not"),
        pytest.param("vars.mode != 'full' and failed", False, id="and"),
        pytest.param("not (vars.mode == 'quick' or passed)", True, id="parentheses"),
        pytest.param("vars.n == 3", True, id="number-equals-its-text"),
        pytest.param("vars.n == 3.5", False, id="other-number"),
        pytest.param("'pong' in vars.prompt", True, id="substring"),
        pytest.param("vars.mode == true", False, id="boolean-literal"),
        pytest.param("steps.1.outcome == steps.2.outcome", False, id="two-references"),
    ],
)
def test_conditions_evaluate(text, expected):
    assert parse(text).holds(RECORDS, VARS) is expected


def test_the_first_step_has_no_previous_and_nothing_failed():
    assert parse("passed and previous.outcome == ''").holds([], {}) is True


def test_references_are_listed_for_the_loader():
    refs = parse("steps.2.outcome == 'failed' or vars.x == 'y' or previous.result == 'ok'").refs
    assert [(r.kind, r.key, r.attr) for r in refs] == [("steps", 2, "outcome"), ("vars", "x", None), ("steps", -1, "result")]


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        pytest.param("steps.1.outcome ==", "expected a value, found the end", 19, id="missing-right-side"),
        pytest.param("steps.x.outcome", "expected a number", 7, id="step-number"),
        pytest.param("previous.outcme == 'failed'", "expected outcome or result", 10, id="unknown-attribute"),
        pytest.param("failed)", "unexpected ')'", 7, id="stray-parenthesis"),
        pytest.param("(failed", "expected ')', found the end", 8, id="unclosed-parenthesis"),
        pytest.param("outcome == 'failed'", "unknown name 'outcome'", 1, id="unknown-name"),
        pytest.param("previous.outcome = 'failed'", "unexpected character '='", 18, id="single-equals"),
        pytest.param("previous.outcome == 'failed", "unterminated string", 21, id="unterminated-string"),
        pytest.param("failed and", "expected a value, found the end", 11, id="dangling-and"),
        pytest.param("__import__('os')", "unknown name '__import__'", 1, id="no-python"),
    ],
)
def test_syntax_errors_point_at_the_column(text, message, column):
    with pytest.raises(WhenSyntaxError) as info:
        parse(text)
    assert info.value.message.startswith(message) and info.value.column == column
    assert str(info.value).splitlines()[1:] == [f"  {text}", "  " + " " * (column - 1) + "^"]
