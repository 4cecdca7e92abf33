"""Shared fixtures: one simulator for the session, reset before each test; a playbook runner."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import textwrap
from pathlib import Path

import pytest

from assistant.events import Emitter
from assistant.playbook import load_playbook
from assistant.runner import Runner
from assistant.simulator import Simulator
from assistant.simulator.settings import Settings
from assistant.timing.clock import Clock


def pytest_configure(config) -> None:
    """The stop-signal tests send SIGINT and SIGHUP to child processes; a suite started
    under `nohup` or as a background job of a script would pass them an ignored SIGHUP or
    SIGINT (ignoring is inherited across exec), and the tool rightly leaves an ignored
    signal alone. Give the children the dispositions a terminal gives them."""
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


pytest_plugins = ["pytester"]  # the pytest plugin is tested in a real inner pytest

# Real Chromium, real simulator; only the backoff waits are scaled (5 s -> 5 ms).
TEST_TIME_SCALE = 0.001

# Send a prompt, expect "pong" on the default 5/10/30 s schedule.
SMOKE = """
    site: simulator
    vars: {prompt: "Reply with the single word: pong"}
    steps:
      - open: /
      - send: "${prompt}"
      - expect_reply: {contains: pong, retry: {schedule: [5s, 10s, 30s]}}
"""


@pytest.fixture(autouse=True)
def _reports_match_their_schema(request):
    """Every JSON report a test writes into its tmp_path (or pytester folder) matches
    playbooks/report.schema.json (tests/report_check.py)."""
    names = [n for n in ("tmp_path", "pytester") if n in request.fixturenames]
    folder = None
    if names:
        value = request.getfixturevalue(names[0])
        folder = value if names[0] == "tmp_path" else value.path
    yield
    if folder is not None:
        from tests.report_check import problems

        assert problems(folder) == [], ("a JSON report does not match playbooks/report.schema.json: a new field goes into "
                                        "report_schema() in assistant/report/json_report.py (then assistant schema --report -o ...)")


@pytest.fixture(scope="session")
def simulator():
    with Simulator() as sim:
        yield sim


@pytest.fixture
def sim(simulator):
    """The simulator, back to its defaults (healthy, inline, en) with fresh counters."""
    return simulator.configure(**dataclasses.asdict(Settings()))


def write_playbook(folder: Path, text: str, name: str = "playbook.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@dataclasses.dataclass
class Ran:
    result: object
    events: list

    def step(self, name: str):
        return next(s for s in self.result.steps if s.name == name)


@pytest.fixture
def run_text(tmp_path, sim):
    """Write a playbook, run it against the simulator in real Chromium, return result and events."""

    def run(text: str, *, time_scale: float = TEST_TIME_SCALE, variables=None) -> Ran:
        path = write_playbook(tmp_path, text)
        playbook = load_playbook(path, variables=variables or {}, url=sim.url)
        events: list = []
        runner = Runner(playbook, emit=Emitter(events.append), clock=Clock(time_scale), artifacts_dir=tmp_path / "artifacts")
        return Ran(asyncio.run(runner.run()), events)

    return run


@pytest.fixture
def write(tmp_path, monkeypatch):
    """Write a dedented file under tmp_path (the working folder, so messages say `pb.yaml:`)."""
    monkeypatch.chdir(tmp_path)

    def write(text: str, name: str = "pb.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def error_of(path, **kwargs) -> str:
    """The message of the PlaybookError that loading `path` raises (exit code 2)."""
    from assistant.errors import ExitCode, PlaybookError

    with pytest.raises(PlaybookError) as info:
        load_playbook(path, **kwargs)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    return str(info.value)
