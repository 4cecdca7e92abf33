"""The generated JSON Schemas: shipped files validate, bad playbooks do not, nothing drifts."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from assistant.cli import cli
from assistant.cli.docs import schema_text
from assistant.errors import PlaybookError
from assistant.playbook import load_playbook
from assistant.playbook.schema import playbook_schema, site_schema
from assistant.steps import registry

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.yaml")) + [ROOT / "bench" / "smoke.yaml"]
SITES = sorted((ROOT / "playbooks" / "sites").glob("*.yaml"))
REGENERATE = "regenerate with: assistant schema -o playbooks/playbook.schema.json && assistant schema --site -o playbooks/site.schema.json"


@pytest.fixture(scope="module")
def validator():
    schema = playbook_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_shipped_playbooks_validate(validator, path):
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert errors == []


@pytest.mark.parametrize("path", SITES, ids=lambda p: p.name)
def test_shipped_sites_validate(path):
    schema = site_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))) == []


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param("[bogus]", id="unknown-step"),
        pytest.param("[send]", id="bare-step-that-needs-a-value"),
        pytest.param("[new_chat: 3]", id="value-for-a-step-without-parameters"),
        pytest.param("[{open: /, send: hi}]", id="two-steps-in-one-item"),
        pytest.param("[{send: {text: hi, retry: {}}}]", id="retry-on-a-step-that-cannot"),
        pytest.param("[{expect_reply: {timeout: fast}}]", id="bad-duration"),
        pytest.param("[{expect_reply: {contans: pong}}]", id="unknown-parameter"),
        pytest.param("[{clear: [cookies, nope]}]", id="bad-enum-in-list"),
        pytest.param("[{retry: {schedule: [5s]}}]", id="retry-block-without-steps"),
        pytest.param("[{retry: {steps: [{wait: soon}]}}]", id="bad-step-inside-a-block"),
        pytest.param("[]", id="no-steps"),
    ],
)
def test_bad_playbooks_are_rejected_by_schema_and_loader(validator, tmp_path, steps):
    text = f"site: simulator\nsteps: {steps}\n"
    assert not validator.is_valid(yaml.safe_load(text))
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlaybookError, match="bad.yaml"):
        load_playbook(path)


def test_good_forms_are_accepted_by_schema_and_loader(validator, tmp_path):
    text = textwrap.dedent("""
        site: simulator
        x-anchors: {t: &t 5s}
        vars: {wait_for: 2s}
        retry: {schedule: [1s]}
        steps:
          - open
          - open: /
          - new_chat
          - send: {text: hi, optional: true}
          - expect_reply: {contains: hi, timeout: *t, retry: false}
          - wait: "${wait_for}"
          - clear: cookies
          - clear: {what: [cookies, cache], scope: site}
          - retry:
              exponential: {initial: 500ms, factor: 2, cap: 1m}
              steps: [reload, {expect_visible: textarea}]
    """)
    assert [e.message for e in validator.iter_errors(yaml.safe_load(text))] == []
    (tmp_path / "good.yaml").write_text(text, encoding="utf-8")
    load_playbook(tmp_path / "good.yaml")


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_step_is_documented(name):
    d = registry()[name]
    assert d.summary.strip() and d.example.strip(), f"step {name} needs a summary and an example"
    assert d.schema.get("type") == "object" and d.schema.get("additionalProperties") is False
    assert d.example.startswith(f"- {name}"), f"the example of {name} shows another step"
    for key, sub in d.schema.get("properties", {}).items():
        assert sub.get("description"), f"parameter {name}.{key} has no description"
    if d.shorthand:
        assert d.shorthand in d.schema["properties"]


def test_every_step_example_validates(validator):
    for d in registry().values():
        item = yaml.safe_load(d.example)
        assert validator.is_valid({"steps": item}), d.example


@pytest.mark.parametrize(
    ("file", "make"),
    [("playbook.schema.json", playbook_schema), ("site.schema.json", site_schema)],
)
def test_committed_schema_is_the_generated_one(file, make):
    committed = (ROOT / "playbooks" / file).read_text(encoding="utf-8")
    assert json.loads(committed) == make(), REGENERATE
    assert committed == schema_text(make()), REGENERATE


@pytest.mark.parametrize("path", sorted((ROOT / "playbooks").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_playbooks_point_editors_at_the_schema(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./playbook.schema.json"


def test_steps_command_lists_every_step():
    out = CliRunner().invoke(cli, ["steps"], catch_exceptions=False).output
    for name, d in registry().items():
        assert f"{name}  {d.summary}" in out
        assert f"example: {d.example}" in out
        for key in d.schema.get("properties", {}):
            assert f"  {key} (" in out


def test_schema_command_prints_the_schema():
    result = CliRunner().invoke(cli, ["schema"], catch_exceptions=False)
    assert json.loads(result.output) == playbook_schema()
    result = CliRunner().invoke(cli, ["schema", "--site"], catch_exceptions=False)
    assert json.loads(result.output)["title"] == "assistant site profile"
