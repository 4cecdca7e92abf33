"""The guided run: in-process with --yes, and in a real terminal (tmux) answering the
questions, including Ctrl-C in the middle of a backoff."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from tests.test_cleanup import leftovers

pytestmark = pytest.mark.browser
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_guide_with_defaults_reaches_a_verdict_and_saves_a_repeatable_playbook(tmp_path, sim):
    sim.configure(scenario="busy-twice")
    runner = CliRunner()
    result = runner.invoke(cli, ["guide", "--yes", "--site", "simulator", "--url", sim.url, "--time-scale", "0.001", "--save-to", str(tmp_path)])
    assert result.exit_code == 1, result.stderr
    assert "verdict: transient_overload" in result.stderr
    [playbook] = tmp_path.glob("*.playbook.yaml")
    assert list(tmp_path.glob("assistant-diagnosis-*.json"))
    sim.configure(scenario="healthy")
    again = runner.invoke(cli, ["run", str(playbook), "--url", sim.url, "--time-scale", "0.001"])
    assert again.exit_code == 0, again.stderr


class Terminal:
    """A tmux session running one command; read the screen, type answers."""

    def __init__(self, command: str):
        self.name = f"guide-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", f"{command}; sleep 60"], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.name, "-S", "-500"], capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)  # reading a terminal, not waiting through a backoff
        raise AssertionError(f"{text!r} never appeared:\n{self.screen()}")

    def type(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def answer_the_questions(term: Terminal, symptom: str) -> None:
    """What the person sees, which chat, no own profile, no system change."""
    for prompt, keys in (("Your choice", (symptom,)), ("Which chat", ("simulator",)), ("own browser profile", ()),
                         ("flush this machine's DNS cache", ("n",))):
        term.wait_for(prompt)
        term.type(*keys, "Enter")


def guide_command(sim, save_to: Path, tmpdir: Path, time_scale: str) -> str:
    args = ["guide", "--url", sim.url, "--time-scale", time_scale, "--save-to", str(save_to)]
    return f"env TMPDIR={tmpdir} NO_COLOR=1 {shlex.quote(sys.executable)} -m assistant " + " ".join(map(shlex.quote, args))


@needs_tmux
@pytest.mark.parametrize(("scenario", "choice", "expected"), [
    pytest.param("busy-twice", "1", "transient_overload", id="busy-twice"),
    pytest.param("long-conversation", "1", "session_context", id="long-conversation"),
])
def test_a_guided_run_in_a_terminal_answers_the_questions_and_reaches_the_verdict(tmp_path, sim, scenario, choice, expected):
    sim.configure(scenario=scenario, long_after=2)
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    term = Terminal(guide_command(sim, tmp_path, tmpdir, "0.001"))
    try:
        answer_the_questions(term, choice)
        screen = term.wait_for("Save the report")
        assert f"verdict: {expected}" in screen
        term.type("y", "Enter")
        term.wait_for("Saved ")
    finally:
        term.close()
    assert len(list(tmp_path.glob("*.playbook.yaml"))) == 1
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()


@needs_tmux
def test_ctrl_c_in_the_middle_of_a_guided_run_leaves_nothing(tmp_path, sim):
    sim.configure(scenario="always-busy")
    tmpdir = Path(tempfile.mkdtemp(prefix="asst-"))
    term = Terminal(guide_command(sim, tmp_path, tmpdir, "1"))
    try:
        answer_the_questions(term, "2")
        term.wait_for("waiting")  # the real 5 s backoff has begun
        term.type("C-c")
        screen = term.wait_for("Stopped.")
        assert "Traceback" not in screen
    finally:
        term.close()
    assert leftovers(tmpdir) == []
    tmpdir.rmdir()
