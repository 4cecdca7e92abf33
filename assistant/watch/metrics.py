"""Feeding the monitors people already run: a Prometheus textfile or endpoint, an Uptime
Kuma push URL, a Gatus external endpoint. Each is optional; a push that fails is kept in
`failures`, never raised.

The textfile is the node_exporter textfile-collector format, written whole to a temporary
file and renamed, so a scrape never reads half a file. `--metrics-port` serves the same
values through `prometheus_client` (the optional extra `metrics`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

from assistant.watch.states import Observation, Reading, Tracker

INDICATOR_VALUE = {"none": 0, "minor": 1, "major": 2, "critical": 3}
UP_VALUE = {"up": 1, "degraded": 1, "down": 0, "unknown": -1}
GATUS_TOKEN_ENV = "ASSISTANT_GATUS_TOKEN"

HELP = {
    "assistant_watch_up": "1 up or degraded, 0 down, -1 unknown (not yet confirmed)",
    "assistant_watch_degraded": "1 when the chat answers but a feature is missing or it is slow",
    "assistant_watch_check_duration_seconds": "duration of the last browser check",
    "assistant_watch_check_attempts": "attempts the last browser check needed (the retry schedule)",
    "assistant_watch_status_indicator": "the status page: 0 none, 1 minor, 2 major, 3 critical, -1 unreadable",
    "assistant_watch_checks_total": "browser checks run",
}


class Metrics:
    """Per-target values, written or pushed after every check."""

    def __init__(self, textfile: Path | None = None, port: int | None = None, kuma: str | None = None,
                 gatus: str | None = None):
        self.textfile, self.kuma, self.gatus = textfile, kuma, gatus
        self.values: dict[str, dict[str, float]] = {}
        self.failures: list[str] = []
        self.server = serve(self, port) if port is not None else None

    def read(self, target, tracker: Tracker, reading: Reading) -> None:
        v = self._of(target.name, tracker)
        v["assistant_watch_status_indicator"] = INDICATOR_VALUE.get(reading.indicator or "", -1)
        self._write()

    async def checked(self, target, tracker: Tracker, obs: Observation) -> None:
        v = self._of(target.name, tracker)
        v["assistant_watch_check_duration_seconds"] = obs.duration_s
        v["assistant_watch_check_attempts"] = obs.attempts
        v["assistant_watch_checks_total"] = v.get("assistant_watch_checks_total", 0) + 1
        self._write()
        await self._push(target.name, tracker, obs)

    def _of(self, name: str, tracker: Tracker) -> dict[str, float]:
        v = self.values.setdefault(name, {})
        v["assistant_watch_up"] = UP_VALUE[tracker.state]
        v["assistant_watch_degraded"] = int(tracker.state == "degraded")
        return v

    def exposition(self) -> str:
        lines = []
        for metric, text in HELP.items():
            kind = "counter" if metric.endswith("_total") else "gauge"
            lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}"]
            lines += [f'{metric}{{target="{_label(name)}"}} {v[metric]:g}' for name, v in sorted(self.values.items()) if metric in v]
        return "\n".join(lines) + "\n"

    def _write(self) -> None:
        if self.textfile is None:
            return
        tmp = self.textfile.with_name(self.textfile.name + ".tmp")
        try:
            tmp.write_text(self.exposition(), encoding="utf-8")
            os.replace(tmp, self.textfile)
        except OSError as exc:
            self.failures.append(f"metrics textfile {self.textfile}: {exc}")

    async def _push(self, name: str, tracker: Tracker, obs: Observation) -> None:
        import aiohttp

        ok = tracker.state in ("up", "degraded") or (tracker.state == "unknown" and obs.kind != "down")
        msg = obs.detail[:200] or obs.outcome
        pushes = []
        if self.kuma:
            sep = "&" if "?" in self.kuma else "?"
            query = urlencode({"status": "up" if ok else "down", "msg": msg, "ping": round(obs.duration_s * 1000)})
            pushes.append(("GET", f"{self.kuma}{sep}{query}", {}))
        if self.gatus:
            query = urlencode({"success": str(ok).lower(), "error": "" if ok else msg, "duration": f"{obs.duration_s:.3f}s"})
            token = os.environ.get(GATUS_TOKEN_ENV, "")
            pushes.append(("POST", f"{self.gatus}?{query}", {"Authorization": f"Bearer {token}"} if token else {}))
        for method, url, headers in pushes:
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client, \
                        client.request(method, url, headers=headers) as response:
                    if response.status >= 400:
                        self.failures.append(f"push to {url.split('?')[0]}: HTTP {response.status}")
            except Exception as exc:
                self.failures.append(f"push to {url.split('?')[0]}: {type(exc).__name__}")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def serve(metrics: Metrics, port: int):
    """`/metrics` on `port` through prometheus_client (optional extra `metrics`)."""
    from assistant.errors import EnvironmentProblem

    try:
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.core import GaugeMetricFamily
    except ImportError:
        raise EnvironmentProblem("--metrics-port needs prometheus_client", hint="pip install 'chat-busy-assistant[metrics]', or use --metrics-textfile FILE") from None

    class Collector:
        def collect(self):
            for metric, text in HELP.items():
                family = GaugeMetricFamily(metric, text, labels=["target"])
                for name, v in sorted(metrics.values.items()):
                    if metric in v:
                        family.add_metric([name], v[metric])
                yield family

    registry = CollectorRegistry()  # its own: a second watch in one process must not collide
    registry.register(Collector())
    try:
        return start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        raise EnvironmentProblem(f"--metrics-port {port}: {exc.strerror or exc}", hint="pick another port") from None
