"""An API key planted in the environment appears in no output, report, artifact or log."""

from __future__ import annotations

import logging
import uuid

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from tests.conftest import TEST_TIME_SCALE, write_playbook

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("api_status", [pytest.param(None, id="api-answers"), pytest.param(401, id="api-rejects-key"), pytest.param(429, id="api-rate-limited")])
def test_a_planted_key_is_nowhere(tmp_path, sim, monkeypatch, caplog, api_status):
    canary = f"sk-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("SIMULATOR_API_KEY", canary)
    sim.configure(scenario="always-busy", api_status=api_status)
    caplog.set_level(logging.DEBUG)
    playbook = write_playbook(
        tmp_path,
        """
        site: simulator
        probes: [api, status_page, windows]
        steps:
          - open: /
          - send: "Reply with the single word: pong"
          - expect_reply: {contains: pong, retry: {max_attempts: 1}}
        """,
    )
    artifacts = tmp_path / "artifacts"
    runner = CliRunner()
    run = runner.invoke(cli, ["run", str(playbook), "--url", sim.url, "--time-scale", str(TEST_TIME_SCALE),
                              "--json", str(tmp_path / "run.json"), "--artifacts", str(artifacts)])
    probe = runner.invoke(cli, ["probe", "simulator", "--url", sim.url, "--only", "api,status_page",
                                "--json", str(tmp_path / "probe.json")])
    assert run.exit_code == 1 and probe.exit_code in (0, 1)
    assert "probe api" in run.stderr  # the API really was probed with the key
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "playbook.yaml"]
    assert any(p.suffix == ".png" for p in written) and len(written) >= 3
    for path in written:
        assert canary.encode() not in path.read_bytes(), path
    for text in (run.stdout, run.stderr, probe.stdout, probe.stderr, caplog.text):
        assert canary not in text
