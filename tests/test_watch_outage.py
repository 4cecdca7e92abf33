"""`assistant watch` on the simulator's outage timeline, in real Chromium, with a scaled clock.

One watch plays the whole timeline once (module fixture): healthy; web and API busy; the
status page red only minutes later; recovery with the image upload missing; back to
full. A local aiohttp receiver takes the webhooks in each format and a command gets the
events on standard input. Each test then reads one "Done when" line off what happened.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace

import pytest
from aiohttp import web
from click.testing import CliRunner

from assistant.cli import cli
from assistant.playbook import load_site
from assistant.playbook.model import RetryPolicy
from assistant.playbook.site import rebase
from assistant.simulator import Simulator
from assistant.simulator.outage import FlakyState, OutagePlayer, outage_timeline
from assistant.watch.alerts import Alerter
from assistant.watch.checks import SCHEDULE, BrowserKeeper, Target
from assistant.watch.history import History
from assistant.watch.loop import WatchClock, Watcher
from assistant.watch.states import Policy

pytestmark = pytest.mark.browser

SCALE = 0.001  # 75 nominal minutes of waiting in about 4.5 s
POLICY = Policy(every=300.0, probe_every=60.0, max_every=1200.0)
TIMELINE = dict(outage_at=600.0, status_lag=360.0, outage_for=2400.0, status_green_after=300.0,
                feature_back_after=900.0, end_after=600.0)


class Receiver:
    """A webhook receiver on loopback: every POST body, by path."""

    def __init__(self):
        self.got: dict[str, list] = {"json": [], "slack": [], "ntfy": []}

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{kind}", self._post)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got[request.match_info["kind"]].append((dict(request.headers), body))
        return web.Response(text="ok")


def _watch(sim, tmp, *, timeline, policy=POLICY, seconds=None, on_change=None, retry=SCHEDULE):
    """Run one watch (with the timeline player when given) and return what it left."""
    site = rebase(load_site("simulator"), sim.url)
    clock = WatchClock(SCALE)
    history = History(tmp / "watch.sqlite3")
    receiver = Receiver()
    seen: list = []

    async def main():
        base = await receiver.start()
        alerter = Alerter([f"{base}/json", f"slack:{base}/slack", f"ntfy:{base}/ntfy"], [on_change] if on_change else [])
        watcher = Watcher([Target("sim", site, policy=policy, retry=retry)], history, alerter, clock, BrowserKeeper(),
                          on_check=lambda name, item: seen.append(item))
        player = OutagePlayer(sim.configure, clock, timeline) if timeline else None
        jobs = [watcher.run(timeline[-1].at if timeline else seconds)]
        jobs += [player.run()] if player else []
        await asyncio.gather(*jobs)
        await receiver.runner.cleanup()
        return alerter, player, watcher

    alerter, player, watcher = asyncio.run(main())
    return {"history": history, "alerter": alerter, "player": player, "receiver": receiver, "seen": seen,
            "tracker": watcher.trackers["sim"], "clock": clock}


@pytest.fixture(scope="module")
def outage(tmp_path_factory, monkeypatch_module):
    tmp = tmp_path_factory.mktemp("watch")
    monkeypatch_module.setenv("SIMULATOR_API_KEY", "sim-test-key")
    events = tmp / "events.jsonl"
    with Simulator("healthy") as sim:
        ran = _watch(sim, tmp, timeline=outage_timeline(**TIMELINE), on_change=f"cat >> {events}; echo >> {events}")
    ran["events_file"], ran["tmp"] = events, tmp
    yield ran
    ran["history"].close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _checks(ran):
    return ran["history"].checks("sim")


def _began(ran, name):
    return ran["player"].began(name)


def test_the_outage_is_confirmed_within_n_intervals_of_its_start(outage):
    (incident,) = outage["history"].incidents("sim")
    start = _began(outage, "web and API busy")
    assert start <= incident["first_failed_at"] <= incident["confirmed_at"]
    assert incident["confirmed_at"] - start <= POLICY.down_after * POLICY.every
    assert incident["kind"] == "down" and incident["category"] == "provider_outage"
    assert any("busy" in e for e in incident["evidence"])


def test_the_status_page_lag_is_recorded_and_shown(outage, tmp_path):
    (incident,) = outage["history"].incidents("sim")
    red = _began(outage, "status page: major outage")
    assert incident["status_indicator"] == "critical"
    assert red <= incident["status_since"] <= red + POLICY.probe_every + 5
    lag = incident["status_since"] - incident["first_failed_at"]
    assert incident["status_lag_s"] == pytest.approx(lag, abs=0.01) and lag > 0
    shown = CliRunner().invoke(cli, ["history", "--db", str(outage["tmp"] / "watch.sqlite3")])
    assert shown.exit_code == 0, shown.output
    assert f"status page said critical {abs(lag) / 60:.0f} min after the first failure" in shown.output


def test_recovery_is_seen_within_one_probe_interval_of_the_api_coming_back(outage):
    (incident,) = outage["history"].incidents("sim")
    back = _began(outage, "recovered, image upload missing")
    half_open = [c for c in _checks(outage) if c["half_open"]]
    assert half_open and back <= half_open[0]["at"] <= back + POLICY.probe_every + 5
    assert back <= incident["recovered_at"] <= back + POLICY.probe_every + 5
    assert incident["recovered_at"] - back < POLICY.every


def test_the_missing_image_upload_is_degraded_until_it_returns(outage):
    (incident,) = outage["history"].incidents("sim")
    returned = _began(outage, "back to full")
    feature = incident["features"]["image_upload"]
    assert _began(outage, "recovered, image upload missing") <= feature["missing_since"] < returned
    assert returned <= feature["back_at"] <= returned + POLICY.every + 5
    between = [c for c in _checks(outage) if incident["recovered_at"] <= c["at"] < returned]
    assert between and all(c["kind"] == "degraded" and c["missing"] == ["image_upload"] for c in between)
    states = [(c["previous"], c["state"]) for c in outage["history"].changes("sim")]
    assert states == [("unknown", "up"), ("up", "down"), ("down", "degraded"), ("degraded", "up")]
    assert incident["closed_at"] >= feature["back_at"]


def test_the_webhooks_get_exactly_one_alert_per_state_change(outage):
    got = outage["receiver"].got
    events = [json.loads(body) for _headers, body in got["json"]]
    assert [e["event"] for e in events] == ["down", "degraded", "recovered"]
    assert events[0]["incident"]["category"] == "provider_outage" and events[2]["incident"]["closed_at"]
    assert [json.loads(b)["text"].split(" ", 1)[0] for _h, b in got["slack"]] == ["🔴", "🟠", "🟢"]
    assert [h["Title"] for h, _b in got["ntfy"]] == ["sim: down", "sim: degraded", "sim: recovered"]
    assert [b.decode() for _h, b in got["ntfy"]] == [e["summary"] for e in events]
    lines = [json.loads(line) for line in outage["events_file"].read_text().splitlines() if line.strip()]
    assert [e["event"] for e in lines] == ["down", "degraded", "recovered"]
    assert outage["alerter"].failures == []


def test_browser_checks_during_the_outage_stay_within_the_back_off(outage):
    start, back = _began(outage, "web and API busy"), _began(outage, "recovered, image upload missing")
    during = [c for c in _checks(outage) if start <= c["at"] < back]
    assert during and all(c["kind"] == "down" for c in during)
    # N to confirm, then one per doubling interval (every, 2 every, ... capped): the bound.
    budget, waited, k = back - start, 0.0, 0
    while waited < budget:
        waited += min(POLICY.every * 2 ** k, POLICY.max_every)
        k += 1
    bound = POLICY.down_after + k
    assert len(during) <= bound
    assert len(during) < math.ceil(budget / POLICY.every)  # fewer than checking on the interval would cost
    readings = [r for r in outage["history"].readings("sim") if start <= r["at"] < back]
    assert len(readings) >= budget / POLICY.probe_every - 1  # the cheap probes went on
    assert {r["api"] for r in readings} == {"busy"}
    (incident,) = outage["history"].incidents("sim")
    assert incident["answering"] == ["API 'api'"]  # the API, once back, before the browser check said so


def test_while_down_the_watch_says_which_routes_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", "sim-test-key")
    with Simulator("always-busy", api_healthy=True) as sim:
        ran = _watch(sim, tmp_path, timeline=None, seconds=500.0, policy=replace(POLICY, remind=300.0))
    event, reminder = [json.loads(body) for _h, body in ran["receiver"].got["json"]]
    assert reminder["event"] == "reminder" and "still down" in reminder["summary"]  # --remind-every, once due
    assert event["event"] == "down" and event["summary"].endswith("answering now: API 'api'")
    assert event["incident"]["category"] == "web_outage" and event["incident"]["answering"] == ["API 'api'"]
    ran["history"].close()


def test_history_json_has_its_documented_shape(outage, tmp_path):
    out = tmp_path / "history.json"
    result = CliRunner().invoke(cli, ["history", "sim", "--db", str(outage["tmp"] / "watch.sqlite3"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    (target,) = data["targets"]
    assert set(target) == {"name", "state", "since", "uptime", "checks", "incidents", "changes"}
    assert target["state"] == "up" and set(target["uptime"]) == {"24h", "7d", "30d"}
    assert 0 < target["uptime"]["24h"] < 1
    (incident,) = target["incidents"]
    assert {"id", "kind", "first_failed_at", "confirmed_at", "category", "evidence", "status_indicator",
            "status_since", "status_lag_s", "recovered_at", "closed_at", "features", "answering",
            "maintenance"} <= set(incident)
    assert incident["first_failed_at"].endswith("+00:00")


def test_history_html_opens_in_chromium_and_shows_the_timeline(outage, tmp_path):
    result = CliRunner().invoke(cli, ["history", "--db", str(outage["tmp"] / "watch.sqlite3"), "--html", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    page_file = tmp_path / "h" / "index.html"
    text = page_file.read_text()
    assert "http" not in text.split("<svg", 1)[0].replace("http://www.w3.org", "")  # no external assets

    async def shoot():
        from assistant.browser import BrowserSession

        async with BrowserSession() as session:
            context = await session.new_context()
            page = await context.new_page()
            await page.goto(page_file.as_uri())
            counts = {kind: await page.locator(f"svg circle.check.{kind}").count() for kind in ("up", "down", "degraded")}
            incidents = await page.locator("svg rect.incident").count()
            indicator = await page.locator("svg rect.indicator").count()
            box = await page.locator("svg").bounding_box()
            await page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
            return counts, incidents, indicator, box

    counts, incidents, indicator, box = asyncio.run(shoot())
    kinds = [c["kind"] for c in _checks(outage)]
    assert counts == {k: kinds.count(k) for k in ("up", "down", "degraded")}
    assert incidents == 1 and indicator == len(outage["history"].readings("sim"))
    assert box["width"] >= 900 and (tmp_path / "history.png").stat().st_size > 10_000


def test_a_flaky_target_raises_no_alert(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMULATOR_API_KEY", "sim-test-key")
    sim = Simulator("healthy")
    sim._state = FlakyState(sim.settings, seed=3)  # before start(): the app is built on it
    sim.start()
    try:
        # One retry per check keeps it short: a check of a busy conversation fails whatever the schedule.
        ran = _watch(sim, tmp_path, timeline=None, seconds=1200.0, retry=RetryPolicy(schedule=(5.0,)))
        flaky = sim._state.flaky_chats
    finally:
        sim.stop()
    kinds = [c["kind"] for c in ran["history"].checks("sim")]
    assert flaky >= 2 and kinds.count("down") == flaky  # it did fail, one check in about three
    assert "down,down" not in ",".join(kinds)  # each failure alone: below the threshold of 2
    assert ran["alerter"].sent == [] and ran["receiver"].got["json"] == []
    assert [c["state"] for c in ran["history"].changes("sim")] == ["up"]
    ran["history"].close()
