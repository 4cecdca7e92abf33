"""The README's promises: its commands match CI and the CLI, its lists match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.simulator import SCENARIOS
from assistant.steps import registry

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    test_command = next(b.strip() for b in shell_blocks() if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_every_step_and_scenario_is_in_the_readme():
    missing = [name for name in [*registry(), "retry", *SCENARIOS] if f"`{name}`" not in README]
    assert missing == []


@pytest.mark.parametrize("command", ["run", "demo", "simulate", "probe", "doctor", "extensions", "bisect", "login", "restore", "diagnose", "selftest", "guide", "probe-site"])
def test_every_option_the_readme_names_exists(command):
    help_text = CliRunner().invoke(cli, [command, "--help"]).stdout
    row = next(line for line in README.splitlines() if line.startswith(f"| `assistant {command}"))
    for option in re.findall(r"`(--[a-z-]+)", row):
        assert option in help_text, f"{command} {option}"
