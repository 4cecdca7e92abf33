"""The versioned JSON report: its schema is generated from the code, committed, and strict."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.cli.docs import schema_text
from assistant.report.json_report import SCHEMA_VERSION, report_schema
from tests.report_check import problems

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_report_schema_is_the_generated_one():
    committed = (ROOT / "playbooks" / "report.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(report_schema()), "regenerate with: assistant schema --report -o playbooks/report.schema.json"
    assert CliRunner().invoke(cli, ["schema", "--report"]).stdout == committed
    jsonschema.Draft202012Validator.check_schema(report_schema())


def test_a_playbook_that_does_not_load_still_gets_a_versioned_report_that_matches(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: simulator\nsteps:\n  - sned: hi\n", encoding="utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["run", str(broken), "--json", str(report)])
    assert result.exit_code == 2
    data = json.loads(report.read_text(encoding="utf-8"))
    assert list(data)[:2] == ["schema_version", "tool"] and data["schema_version"] == SCHEMA_VERSION
    assert data["outcome"] == "error" and problems(tmp_path) == []


@pytest.mark.parametrize(("change", "why"), [
    pytest.param(lambda d: d.pop("steps"), "'steps' is a required property", id="a-field-removed"),
    pytest.param(lambda d: d.update(step_count=1), "Additional properties are not allowed", id="a-field-added-without-the-schema"),
    pytest.param(lambda d: d.update(schema_version="2.0"), "does not match", id="another-major-version"),
])
def test_the_schema_catches_drift_between_the_code_and_itself(tmp_path, change, why):
    from assistant.records import RunResult
    from assistant.report.json_report import versioned

    data = versioned(RunResult("p", None, "simulator", "http://127.0.0.1:1", outcome="passed", summary="ok").to_dict())
    assert list(jsonschema.Draft202012Validator(report_schema()).iter_errors(data)) == []
    change(data)
    assert any(why in e.message for e in jsonschema.Draft202012Validator(report_schema()).iter_errors(data))
