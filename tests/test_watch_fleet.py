"""`assistant watch` with several targets in one watch, in real Chromium, with a scaled clock.

One watch (module fixture) keeps four targets on three simulators: `steady` (healthy),
`smoke` (a playbook on the same healthy chat), `flip` (busy for a while, then back) and
`maint` (busy during the provider's own scheduled maintenance and for a while after it). They share one browser and a bound of two checks at a time; after the
second check of `steady` the kept browser is killed. Alerts go to a JSON webhook and,
through Apprise's `json://` URL, to the same local aiohttp receiver. Each test reads one
gap of issue 13 off what happened. `watch --notify` is also driven through the CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner

from assistant.cli import cli
from assistant.playbook import load_site
from assistant.playbook.site import rebase
from assistant.simulator import Simulator
from assistant.simulator.outage import OutagePlayer, Phase
from assistant.watch.alerts import Alerter
from assistant.watch.checks import BrowserKeeper, Target, playbook_target
from assistant.watch.history import History
from assistant.watch.loop import WatchClock, Watcher
from assistant.watch.metrics import Metrics
from assistant.watch.states import Observation, Policy

pytestmark = pytest.mark.browser

SCALE = 0.001
POLICY = Policy(every=300.0, probe_every=60.0, max_every=1200.0)
SLOW = Policy(every=600.0, probe_every=60.0, max_every=1200.0)  # fewer checks where the tests need fewer
SLOWER = Policy(every=1200.0, probe_every=60.0, max_every=1200.0)
FLIP = (Phase(0.0, "healthy"), Phase(300.0, "busy", {"scenario": "always-busy"}), Phase(700.0, "back"), Phase(950.0, "end"))
MAINTENANCE = "Database upgrade"
MAINT = (Phase(0.0, "maintenance", {"scenario": "always-busy", "maintenance": MAINTENANCE}),
         Phase(270.0, "maintenance over, still busy", {"scenario": "always-busy"}), Phase(700.0, "back"), Phase(950.0, "end"))
SMOKE = """\
name: smoke
site: simulator
steps:
  - open: /
  - new_chat
  - send: "Reply with the single word: pong"
  - expect_reply: {timeout: 30s}
  - expect_visible: image_upload
"""
NAMES = ("steady", "smoke", "flip", "maint")


class Receiver:
    """An aiohttp receiver on loopback, in its own thread (a CLI run blocks the test's thread):
    every POST body, by path."""

    def __init__(self):
        self.got: dict[str, list[bytes]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_post("/{kind}", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    async def _post(self, request: web.Request) -> web.Response:
        self.got.setdefault(request.match_info["kind"], []).append(await request.read())
        return web.Response(text="ok")

    def json(self, kind: str) -> list[dict]:
        return [json.loads(body) for body in self.got.get(kind, [])]


def _browser_pids() -> list[int]:
    """Our own Chromium browser processes (not renderers): descendants of this test process
    launched by Playwright (which talks to the browser over a pipe)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--remote-debugging-pipe" in cmdline and not any(a.startswith(b"--type=") for a in cmdline):
            found.append(pid)
    return found


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SIMULATOR_API_KEY", "sim-test-key")
    tmp = tmp_path_factory.mktemp("fleet")
    history = History(tmp / "watch.sqlite3")
    clock = WatchClock(SCALE)
    keeper = BrowserKeeper()
    killed: list[int] = []
    steady_checks: list[Observation] = []

    def on_check(name, item) -> None:
        if name == "steady" and isinstance(item, Observation):
            steady_checks.append(item)
            if len(steady_checks) == 2:  # between two checks: the kept browser crashes
                for pid in _browser_pids():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    with Simulator("healthy") as steady, Simulator("healthy") as flip, \
            Simulator("always-busy", maintenance=MAINTENANCE) as maint, Receiver() as receiver:
        targets = [Target(name, rebase(load_site("simulator"), sim.url), policy=policy)
                   for name, sim, policy in (("steady", steady, SLOW), ("flip", flip, POLICY), ("maint", maint, POLICY))]
        (tmp / "smoke.yaml").write_text(SMOKE, encoding="utf-8")
        targets.insert(1, playbook_target(tmp / "smoke.yaml", SLOWER, url=steady.url))
        next(t for t in targets if t.name == "flip").webhooks = (f"{receiver.base}/flip-only",)  # its own, besides the common one
        alerter = Alerter([f"{receiver.base}/hook"], apprise_urls=[f"json://127.0.0.1:{receiver.port}/apprise"])
        metrics = Metrics(textfile=tmp / "watch.prom")
        watcher = Watcher(targets, history, alerter, clock, keeper, concurrency=2, metrics=metrics, on_check=on_check)
        player, maint_player = OutagePlayer(flip.configure, clock, FLIP), OutagePlayer(maint.configure, clock, MAINT)

        async def main():
            await asyncio.gather(watcher.run(FLIP[-1].at), player.run(), maint_player.run())

        asyncio.run(main())
    yield {"history": history, "watcher": watcher, "keeper": keeper, "killed": killed, "receiver": receiver,
           "alerter": alerter, "metrics": tmp / "watch.prom", "player": player, "maint_player": maint_player, "steady_checks": steady_checks}
    history.close()
    mp.undo()


def _changes(fleet, name):
    return [(c["previous"], c["state"]) for c in fleet["history"].changes(name)]


def test_each_target_keeps_its_own_state(fleet):
    history = fleet["history"]
    assert _changes(fleet, "steady") == [("unknown", "up")]
    assert _changes(fleet, "smoke") == [("unknown", "up")]
    assert {c["detail"] for c in history.checks("smoke")} == {"all 5 steps passed"}  # the playbook's own steps ran
    assert _changes(fleet, "flip") == [("unknown", "up"), ("up", "down"), ("down", "up")]
    assert _changes(fleet, "maint") == [("unknown", "down"), ("down", "up")]
    assert {c["kind"] for c in history.checks("steady")} == {"up"}
    (incident,) = history.incidents("flip")
    busy, back = fleet["player"].began("busy"), fleet["player"].began("back")
    assert busy <= incident["first_failed_at"] and back <= incident["recovered_at"] <= back + POLICY.probe_every + 5
    assert history.incidents("steady") == []


def test_the_concurrency_bound_holds_and_is_used(fleet):
    # Four targets are due at once at the start: two run, the others wait for a slot.
    assert fleet["watcher"].peak_running == 2 and fleet["watcher"].running == 0


def test_alerts_go_per_target_once_per_change_through_apprise_too(fleet):
    receiver = fleet["receiver"]
    hooks = receiver.json("hook")
    for name in ("flip", "maint"):
        assert [e["event"] for e in hooks if e["target"] == name] == ["down", "recovered"]
    assert not [e for e in hooks if e["target"] in ("steady", "smoke")]
    notes = receiver.json("apprise")  # Apprise's json:// format: title, message, type
    assert sorted(n["title"] for n in notes) == ["flip: down", "flip: recovered", "maint: down", "maint: recovered"]
    assert sorted(n["message"] for n in notes) == sorted(e["summary"] for e in hooks)
    assert [e["event"] for e in receiver.json("flip-only")] == ["down", "recovered"]  # only its own target's
    assert fleet["alerter"].failures == []


def test_the_metrics_are_per_target(fleet):
    text = fleet["metrics"].read_text()
    for name in NAMES:
        checks = len(fleet["history"].checks(name))
        assert f'assistant_watch_up{{target="{name}"}} 1' in text  # every target ended up
        assert f'assistant_watch_checks_total{{target="{name}"}} {checks}' in text


def test_the_providers_own_maintenance_suppresses_alerts_and_is_marked(fleet):
    history, over = fleet["history"], fleet["maint_player"].began("maintenance over, still busy")
    down, up = history.changes("maint")
    assert down["state"] == "down" and down["maintenance"] is True and up["maintenance"] is False
    (incident,) = history.incidents("maint")
    assert incident["maintenance"] is True and incident["confirmed_at"] < over
    readings = history.readings("maint")
    assert {r["maintenance"] for r in readings if r["at"] < over} == {True}
    assert {r["maintenance"] for r in readings if r["at"] > over + POLICY.probe_every} == {False}
    # Still down once the maintenance is over: told then, once, and saying so.
    told = next(e for e in fleet["receiver"].json("hook") if e["target"] == "maint")
    assert told["event"] == "down" and told["summary"].endswith("(still, after the provider's maintenance)")
    assert over < datetime.fromisoformat(told["at"]).timestamp() <= over + POLICY.every + POLICY.probe_every
    assert all(not c["maintenance"] for name in ("steady", "smoke", "flip") for c in history.changes(name))


def test_a_crashed_browser_is_restarted_and_is_no_outage_of_the_chat(fleet):
    assert fleet["killed"], "no browser process of this test was found to kill"
    assert fleet["keeper"].crashes == 1
    after = fleet["steady_checks"][2:]
    assert after and all(o.kind == "up" for o in after)  # the next check ran, in a new browser
    checks = [c for name in NAMES for c in fleet["history"].checks(name)]
    assert not [c for c in checks if c["outcome"] == "error"]  # no check of any target blamed the chat


def test_watch_notify_sends_one_apprise_notification_per_change(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", "sim-test-key")
    db = str(tmp_path / "w.sqlite3")
    with Receiver() as receiver:
        args = ["watch", "simulator", "--url", sim.url, "--once", "--db", db, "--time-scale", "0.001", "-q",
                "--down-after", "1", "--up-after", "1", "--notify", f"json://127.0.0.1:{receiver.port}/notify"]
        sim.configure(scenario="always-busy")
        first = CliRunner().invoke(cli, args)
        sim.configure(scenario="healthy")
        second = CliRunner().invoke(cli, args)
    assert first.exit_code == 1 and "unknown -> down" in first.output, first.output
    assert second.exit_code == 0 and "down -> up" in second.output, second.output
    assert "warning" not in first.output + second.output
    assert [(n["title"], n["type"]) for n in receiver.json("notify")] == [("simulator: down", "info"), ("simulator: recovered", "info")]
