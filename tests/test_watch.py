"""The watch without a browser: the state machine, the back-off, the clock several tasks share,
the history database, the watch file's errors, maintenance windows, alert formats, metrics;
and `watch --once` rounds through the CLI against the simulator."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import PlaybookError
from assistant.watch.alerts import Alerter, MaintenanceWindow, Webhook, _body, event_of
from assistant.watch.config import load_watch_file
from assistant.watch.history import History
from assistant.watch.loop import WatchClock
from assistant.watch.metrics import Metrics
from assistant.watch.states import Observation, Policy, Reading, Tracker

POLICY = Policy(every=300.0, probe_every=60.0, max_every=1200.0)


def feed(tracker: Tracker, kinds: str, start: float = 0.0, policy: Policy = POLICY):
    """Observe one check per letter (u up, d down, g degraded) at the times the tracker schedules."""
    changes, at = [], start
    for letter in kinds:
        kind = {"u": "up", "d": "down", "g": "degraded"}[letter]
        change = tracker.observe(Observation(at, kind, "answered" if kind != "down" else "busy",
                                             missing=["image_upload"] if kind == "degraded" else []), policy)
        if change:
            changes.append(change)
        at = tracker.next_check_at
    return changes


@pytest.mark.parametrize("kinds, events", [
    pytest.param("uu", ["up"], id="up-after-two-good"),
    pytest.param("uudu", ["up"], id="one-failure-no-change"),
    pytest.param("uududu", ["up"], id="alternating-no-change"),
    pytest.param("uudd", ["up", "down"], id="two-failures-down"),
    pytest.param("uuddgg", ["up", "down", "degraded"], id="back-but-degraded"),
    pytest.param("uuddggu", ["up", "down", "degraded"], id="one-good-after-degraded-no-change"),
    pytest.param("uuddgguu", ["up", "down", "degraded", "recovered"], id="full-recovery"),
    pytest.param("uuddug", ["up", "down", "degraded"], id="answering-counts-leaving-down"),
    pytest.param("dd", ["down"], id="down-from-unknown"),
])
def test_states_change_only_after_the_confirmation_thresholds(kinds, events):
    assert [c.event for c in feed(Tracker("t"), kinds)] == events


def test_thresholds_are_settable():
    policy = Policy(down_after=3, up_after=1)
    assert [c.event for c in feed(Tracker("t"), "udd", policy=policy)] == ["up"]
    assert [c.event for c in feed(Tracker("t"), "uddd", policy=policy)] == ["up", "down"]


def test_the_first_confirmation_raises_no_alert_and_every_later_change_does():
    changes = feed(Tracker("t"), "uuddgguu")
    assert [c.alerts for c in changes] == [False, True, True, True]


def test_while_down_the_browser_checks_back_off_to_the_cap():
    tracker = Tracker("t")
    feed(tracker, "uudd")
    gaps, at = [], tracker.next_check_at
    for _ in range(5):
        tracker.observe(Observation(at, "down", "busy"), POLICY)
        gaps.append(tracker.next_check_at - at)
        at = tracker.next_check_at
    assert gaps == [600.0, 1200.0, 1200.0, 1200.0, 1200.0]  # every x2 (the confirming check took the x1), capped
    assert tracker.skip == 3  # `--once` rounds (one per `every`) skipped before the next check


def test_a_green_status_page_or_an_answering_api_makes_one_browser_check_due_now():
    tracker = Tracker("t")
    tracker.read(Reading(0.0, indicator="critical", api="busy"))
    feed(tracker, "dd")
    assert tracker.state == "down" and tracker.next_check_at == 360.0
    assert tracker.read(Reading(200.0, indicator="critical", api="busy")) is False
    assert tracker.read(Reading(260.0, indicator="critical", api="ok")) is True
    assert tracker.next_check_at == 260.0
    assert tracker.read(Reading(320.0, indicator="critical", api="ok")) is False  # once, not every round
    other = Tracker("o")
    other.read(Reading(0.0, indicator="major", api=None))
    feed(other, "dd")
    assert other.read(Reading(300.0, indicator="none")) is True


def test_the_incident_records_the_status_page_lag_and_each_feature_back():
    tracker = Tracker("t")
    tracker.read(Reading(0.0, indicator="none", api="ok"))
    feed(tracker, "uu")
    tracker.observe(Observation(1000.0, "down", "busy"), POLICY)
    tracker.read(Reading(1030.0, indicator="none", api="busy"))
    tracker.observe(Observation(1060.0, "down", "busy"), POLICY)
    tracker.read(Reading(1300.0, indicator="major", api="busy"))
    tracker.read(Reading(1360.0, indicator="critical", api="busy"))
    inc = tracker.incident
    assert (inc.first_failed_at, inc.confirmed_at, inc.status_since, inc.status_indicator) == (1000.0, 1060.0, 1300.0, "critical")
    assert inc.status_lag_s == 300.0 and inc.category == "provider_outage"
    tracker.observe(Observation(2000.0, "degraded", "answered", missing=["image_upload"]), POLICY)
    tracker.observe(Observation(2060.0, "degraded", "answered", missing=["image_upload"]), POLICY)
    assert inc.recovered_at == 2000.0 and inc.features["image_upload"] == {"missing_since": 2000.0, "back_at": None}
    tracker.observe(Observation(3000.0, "up", "answered"), POLICY)
    change = tracker.observe(Observation(3060.0, "up", "answered"), POLICY)
    assert change.event == "recovered" and change.incident is inc and inc.closed_at == 3060.0
    assert inc.features["image_upload"]["back_at"] == 3000.0 and tracker.incident is None


def test_a_status_page_that_said_so_first_has_a_negative_lag():
    tracker = Tracker("t")
    tracker.read(Reading(0.0, indicator="major", api="busy"))
    feed(tracker, "dd", start=600.0)
    assert tracker.incident.status_lag_s == -600.0


@pytest.mark.parametrize("checks, events", [
    pytest.param("uu DD uu", [], id="ends-with-the-maintenance-no-alert"),
    pytest.param("uu DD dd uu", ["down", "recovered"], id="outlasts-it-told-once-when-it-ends"),
    pytest.param("uu dd uu", ["down", "recovered"], id="no-maintenance-as-usual"),
])
def test_an_incident_begun_in_the_providers_maintenance_is_told_only_if_it_outlasts_it(checks, events):
    """Letters are checks, every 60 s: u up, d down, D down inside the provider's maintenance."""
    tracker, sent = Tracker("t"), []
    for i, letter in enumerate(checks.replace(" ", "")):
        obs = Observation(i * 60.0, "down" if letter in "dD" else "up", "busy" if letter in "dD" else "answered")
        maintenance = letter == "D"
        alert = tracker.alert(tracker.observe(obs, POLICY, maintenance), obs, POLICY, maintenance)
        if alert is not None:
            tracker.alerted_at = alert.at
            sent.append(alert)
    assert [a.event for a in sent] == events
    if "D" in checks and events:
        assert sent[0].summary.endswith("(still, after the provider's maintenance)") and sent[0].incident.maintenance


def test_the_tracker_survives_a_round_trip_through_the_database(tmp_path):
    history = History(tmp_path / "w.sqlite3")
    tracker = history.tracker("t")
    for change_at, kind in ((0.0, "up"), (60.0, "up"), (360.0, "down"), (420.0, "down")):
        obs = Observation(change_at, kind, "busy" if kind == "down" else "answered")
        history.record_check(tracker, obs, tracker.observe(obs, POLICY))
    history.close()
    again = History(tmp_path / "w.sqlite3")
    restored = again.tracker("t")
    assert restored.state == "down" and restored.incident.id == 1 and restored.next_check_at == tracker.next_check_at
    assert [c["event"] for c in again.changes("t")] == ["up", "down"]
    assert [i["first_failed_at"] for i in again.incidents("t")] == [360.0]
    db = sqlite3.connect(tmp_path / "w.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_unwritable_database_is_an_environment_error(tmp_path):
    from assistant.errors import EnvironmentProblem

    (tmp_path / "file").write_text("x")
    with pytest.raises(EnvironmentProblem, match="cannot be opened"):
        History(tmp_path / "file" / "w.sqlite3")


def test_the_clock_counts_overlapping_waits_once_and_real_work_at_real_speed():
    async def main():
        clock = WatchClock(0.0001)
        start = clock.now()
        woke: list[tuple[str, float]] = []

        async def waiter(name, seconds, times):
            clock.join()
            for _ in range(times):
                await clock.sleep(seconds)
                woke.append((name, round(clock.now() - start)))

        await asyncio.gather(waiter("slow", 300, 2), waiter("fast", 60, 10))
        return woke, clock.now() - start

    woke, total = asyncio.run(main())
    assert total == pytest.approx(600, abs=1)  # not 600 + 600
    assert ("slow", 300) in woke and ("fast", 300) in woke and ("fast", 600) in woke


def test_a_task_at_work_holds_the_scaled_time_back():
    async def main():
        clock = WatchClock(0.0001)
        start = clock.now()

        async def worker():
            clock.join()
            await asyncio.sleep(0.2)  # real work: 0.2 nominal seconds, whatever the scale
            return clock.now() - start

        async def sleeper():
            await clock.sleep(3600)
            return clock.now() - start

        return await asyncio.gather(worker(), sleeper())

    worked_until, slept_until = asyncio.run(main())
    assert worked_until < 5 and slept_until == pytest.approx(3600, abs=5)


WATCH_FILE = """\
every: 5m
probe_every: 1m
webhooks: ["slack:https://hooks.example.org/x"]
maintenance:
  - {daily: "01:00-02:00"}
targets:
  - site: simulator
    name: sim
    url: http://127.0.0.1:8765
    down_after: 3
  - site: simulator
    name: sim-eu
    url: http://127.0.0.1:8766
    every: 10m
"""


def test_a_watch_file_lists_targets_with_their_own_settings(write):
    loaded = load_watch_file(write(WATCH_FILE, "w.yaml"), Policy())
    sim, eu = loaded.targets
    assert (sim.name, sim.policy.down_after, sim.policy.every) == ("sim", 3, 300.0)
    assert (eu.policy.every, eu.policy.down_after, eu.webhooks) == (600.0, 2, ("slack:https://hooks.example.org/x",))
    assert sim.maintenance[0].daily == (60, 120)


@pytest.mark.parametrize("text, expected", [
    pytest.param("targets:\n  - site: simulator\n    evry: 5m\n", "w.yaml:3:5: unknown key 'evry'", id="unknown-key"),
    pytest.param("every: soon\ntargets:\n  - site: simulator\n", "w.yaml:1:8: watch file.every: bad duration", id="bad-duration"),
    pytest.param("targets:\n  - site: a\n    playbook: b.yaml\n", "w.yaml:2:5: a target names either", id="site-and-playbook"),
    pytest.param("targets:\n  - site: a\n    maintenance: [{daily: '25:00-01:00'}]\n", "w.yaml:3:19: maintenance window: daily", id="bad-window"),
    pytest.param("targets:\n  - site: a\n    webhooks: [ftp://x]\n", "w.yaml:3:16: the webhook 'ftp://x' is not", id="bad-webhook"),
    pytest.param("every: 5m\n", "w.yaml:1:1: watch file needs 'targets'", id="no-targets"),
])
def test_watch_file_errors_are_positioned(write, text, expected):
    with pytest.raises(PlaybookError) as caught:
        load_watch_file(write(text, "w.yaml"), Policy())
    assert expected in str(caught.value)


def test_a_bad_watch_file_is_exit_2_before_any_browser(write, tmp_path):
    path = write("targets:\n  - site: simulator\n    evry: 5m\n", "w.yaml")
    result = CliRunner().invoke(cli, ["watch", "-f", str(path), "--db", str(tmp_path / "w.db")])
    assert result.exit_code == 2 and "Did you mean 'every'?" in result.output and "Traceback" not in result.output


def test_maintenance_windows_cover_their_time():
    daily = MaintenanceWindow(daily=(23 * 60, 60))  # over midnight
    assert daily.covers(1_767_225_600 + 23.5 * 3600) and daily.covers(1_767_225_600 + 1800)
    assert not daily.covers(1_767_225_600 + 2 * 3600)
    assert MaintenanceWindow(100.0, 200.0).covers(150.0) and not MaintenanceWindow(100.0, 200.0).covers(200.0)


def test_alert_formats():
    tracker = Tracker("chat")
    (change,) = [c for c in feed(tracker, "uudd") if c.event == "down"]
    event = event_of("chat", change)
    assert json.loads(_body(Webhook("http://x"), event)[0]) == event
    assert json.loads(_body(Webhook.parse("slack:http://x"), event)[0]) == {"text": "🔴 " + event["summary"]}
    body, headers = _body(Webhook.parse("ntfy:http://x/topic"), event)
    assert body.decode() == event["summary"] and headers["Title"] == "chat: down" and headers["Priority"] == "high"
    with pytest.raises(Exception, match="not an http"):
        Webhook.parse("mailto:x")


def test_a_dead_webhook_is_a_warning_not_a_crash():
    alerter = Alerter(["http://127.0.0.1:9/nothing"], ["exit 3"], timeout=2.0)
    asyncio.run(alerter.deliver({"summary": "s", "event": "down", "target": "t"}))
    assert len(alerter.failures) == 2 and "exited 3" in alerter.failures[1] and len(alerter.sent) == 1


def test_the_metrics_textfile(tmp_path):
    from assistant.playbook import load_site
    from assistant.watch.checks import Target

    metrics = Metrics(textfile=tmp_path / "watch.prom")
    tracker = Tracker("sim")
    target = Target("sim", load_site("simulator"))
    metrics.read(target, tracker, Reading(0.0, indicator="major"))
    feed(tracker, "uu")
    asyncio.run(metrics.checked(target, tracker, Observation(0.0, "up", "answered", duration_s=1.5, attempts=2)))
    text = (tmp_path / "watch.prom").read_text()
    for line in ('assistant_watch_up{target="sim"} 1', 'assistant_watch_status_indicator{target="sim"} 2',
                 'assistant_watch_check_duration_seconds{target="sim"} 1.5', 'assistant_watch_check_attempts{target="sim"} 2',
                 "# TYPE assistant_watch_checks_total counter"):
        assert line in text
    assert not (tmp_path / "watch.prom.tmp").exists()


@pytest.mark.browser
def test_watch_once_keeps_the_state_between_rounds(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", "sim-test-key")
    db = str(tmp_path / "w.sqlite3")
    args = ["watch", "simulator", "--url", sim.url, "--once", "--db", db, "--time-scale", "0.001", "-q"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0 and "simulator: unknown" in first.output
    sim.configure(scenario="always-busy")
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0 and "simulator: unknown" in second.output  # one failure confirms nothing
    third = CliRunner().invoke(cli, args)
    assert third.exit_code == 1 and "unknown -> down" in third.output
    history = History(tmp_path / "w.sqlite3")
    assert [c["kind"] for c in history.checks("simulator")] == ["up", "down", "down"]
    assert len(history.readings("simulator")) == 3 and history.tracker("simulator").state == "down"
    history.close()


@pytest.mark.browser
def test_sigterm_mid_watch_leaves_the_history_consistent(sim, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    db = tmp_path / "w.sqlite3"
    env = {**os.environ, "SIMULATOR_API_KEY": "sim-test-key"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "watch", "simulator", "--url", sim.url, "--db", str(db),
                             "--time-scale", "0.01"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stderr:  # the first check is written: stop the watch in the middle of what follows
            if "browser check" in line:
                break
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143 and "Traceback" not in err
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    checks = con.execute("SELECT COUNT(*) FROM checks").fetchone()[0]
    state = json.loads(con.execute("SELECT data FROM targets WHERE name = 'simulator'").fetchone()[0])
    assert checks >= 1 and state["last"] is not None  # the target's state was saved with its last check


def test_the_metrics_endpoint_when_prometheus_client_is_installed():
    pytest.importorskip("prometheus_client")
    import urllib.request

    from assistant.playbook import load_site
    from assistant.watch.checks import Target

    metrics = Metrics(port=0)
    server, thread = metrics.server
    try:
        tracker = Tracker("sim")
        feed(tracker, "uu")
        asyncio.run(metrics.checked(Target("sim", load_site("simulator")), tracker, Observation(0.0, "up", "answered", duration_s=0.5)))
        text = urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10).read().decode()
    finally:
        server.shutdown()
    assert 'assistant_watch_up{target="sim"} 1.0' in text and 'assistant_watch_check_duration_seconds{target="sim"} 0.5' in text


def test_the_committed_watch_schema_is_the_one_the_loader_uses():
    from pathlib import Path

    from assistant.watch.config import WATCH_SCHEMA

    committed = Path(__file__).resolve().parents[1] / "playbooks" / "watch.schema.json"
    regenerate = ("regenerate with: python -c \"import json; from assistant.watch.config import WATCH_SCHEMA; "
                  "print(json.dumps(WATCH_SCHEMA, indent=2, ensure_ascii=False))\" > playbooks/watch.schema.json")
    assert json.loads(committed.read_text(encoding="utf-8")) == WATCH_SCHEMA, regenerate


def test_the_watch_schema_accepts_the_readme_example_and_rejects_a_typo():
    import re
    from pathlib import Path

    import jsonschema
    import yaml

    from assistant.watch.config import WATCH_SCHEMA

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = yaml.safe_load(re.search(r"```yaml\n(every: 5m\nprobe_every.*?)```", readme, re.S).group(1))
    jsonschema.validate(example, WATCH_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**example, "evry": "5m"}, WATCH_SCHEMA)


def test_no_browser_is_exit_3_not_an_outage(sim, tmp_path):
    result = CliRunner().invoke(cli, ["watch", "simulator", "--url", sim.url, "--once", "--db", str(tmp_path / "w.db"),
                                      "--browser-path", str(tmp_path / "no-such-browser")])
    assert result.exit_code == 3 and "no such browser executable" in result.output
    history = History(tmp_path / "w.db")
    assert history.checks("simulator") == [] and history.tracker("simulator").state == "unknown"
    history.close()
