"""Alerts: one per confirmed state change, none inside a maintenance window.

An alert is an event (a JSON object, the shape the README documents) delivered to each
webhook in its format (`json`, the event itself; `slack`, a Slack-compatible `{"text"}`;
`ntfy`, ntfy's plain-text publish with a title and tags), to `--on-change` commands on
standard input, and through Apprise URLs when that optional extra is installed. A
delivery that fails is logged in the result, never raised: a dead webhook must not stop
the watch.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from assistant.errors import UsageError
from assistant.watch.states import Change

FORMATS = ("json", "slack", "ntfy")
EMOJI = {"down": "🔴", "degraded": "🟠", "recovered": "🟢", "reminder": "🔴"}


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "json"

    @classmethod
    def parse(cls, text: str) -> Webhook:
        """`URL`, or `slack:URL` / `ntfy:URL` / `json:URL`."""
        fmt, sep, rest = text.partition(":")
        if sep and fmt in FORMATS and rest.startswith(("http://", "https://")):
            return cls(rest, fmt)
        if not text.startswith(("http://", "https://")):
            raise UsageError(f"the webhook {text!r} is not an http(s) URL; write URL, or slack:URL or ntfy:URL for those formats")
        return cls(text)


@dataclass(frozen=True)
class MaintenanceWindow:
    """A declared window: absolute (`start`, `end` epoch seconds) or daily (`daily` minutes of the UTC day)."""

    start: float | None = None
    end: float | None = None
    daily: tuple[int, int] | None = None

    def covers(self, at: float) -> bool:
        if self.daily is not None:
            when = datetime.fromtimestamp(at, timezone.utc)
            minute = when.hour * 60 + when.minute
            first, last = self.daily
            return first <= minute < last if first <= last else minute >= first or minute < last
        return (self.start or 0) <= at < (self.end or float("inf"))


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")


def event_of(target: str, change: Change) -> dict:
    """The alert's JSON: what changed, when, and the incident so far."""
    inc = change.incident
    return {
        "tool": "assistant", "target": target, "event": change.event, "state": change.state,
        "previous": change.previous, "at": iso(change.at), "summary": change.summary,
        "maintenance": change.maintenance,
        "incident": None if inc is None else {
            "kind": inc.kind, "first_failed_at": iso(inc.first_failed_at), "confirmed_at": iso(inc.confirmed_at),
            "category": inc.category, "evidence": inc.evidence, "status_indicator": inc.status_indicator,
            "status_since": iso(inc.status_since), "status_lag_s": inc.status_lag_s,
            "recovered_at": iso(inc.recovered_at), "closed_at": iso(inc.closed_at),
            "features": {k: {"missing_since": iso(v["missing_since"]), "back_at": iso(v["back_at"])} for k, v in inc.features.items()},
            "answering": inc.answering,
        },
    }


def _body(hook: Webhook, event: dict) -> tuple[bytes, dict]:
    text = f"{EMOJI.get(event['event'], '')} {event['summary']}".strip()
    if hook.format == "slack":
        return json.dumps({"text": text}).encode(), {"Content-Type": "application/json"}
    if hook.format == "ntfy":
        tags = {"down": "rotating_light", "reminder": "rotating_light", "degraded": "warning",
                "recovered": "white_check_mark"}.get(event["event"], "")
        headers = {"Title": f"{event['target']}: {event['event']}", "Tags": tags, "Content-Type": "text/plain; charset=utf-8"}
        headers["Priority"] = "high" if event["event"] == "down" else "default"
        return event["summary"].encode(), headers
    return json.dumps(event).encode(), {"Content-Type": "application/json"}


class Alerter:
    """Delivers each alert everywhere it should go; `sent` keeps what happened, for tests and history."""

    def __init__(self, webhooks=(), commands=(), apprise_urls=(), timeout: float = 10.0):
        self.webhooks = [w if isinstance(w, Webhook) else Webhook.parse(w) for w in webhooks]
        self.commands, self.apprise_urls, self.timeout = list(commands), list(apprise_urls), timeout
        self.sent: list[dict] = []
        self.failures: list[str] = []

    async def deliver(self, event: dict, extra_hooks=()) -> None:
        jobs = [self._post(h, event) for h in [*self.webhooks, *extra_hooks]]
        jobs += [self._run(c, event) for c in self.commands]
        if self.apprise_urls:
            jobs.append(self._apprise(event))
        await asyncio.gather(*jobs)
        self.sent.append(event)

    async def _post(self, hook: Webhook, event: dict) -> None:
        import aiohttp

        body, headers = _body(hook, event)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as client, \
                    client.post(hook.url, data=body, headers=headers) as response:
                if response.status >= 400:
                    self.failures.append(f"webhook {hook.url}: HTTP {response.status}")
        except Exception as exc:
            self.failures.append(f"webhook {hook.url}: {type(exc).__name__}: {exc}")

    async def _run(self, command: str, event: dict) -> None:
        try:
            proc = await asyncio.create_subprocess_shell(command, stdin=asyncio.subprocess.PIPE)
            await asyncio.wait_for(proc.communicate(json.dumps(event).encode()), self.timeout)
            if proc.returncode:
                self.failures.append(f"--on-change {command!r} exited {proc.returncode}")
        except Exception as exc:
            self.failures.append(f"--on-change {command!r}: {type(exc).__name__}: {exc}")

    async def _apprise(self, event: dict) -> None:
        try:
            import apprise
        except ImportError:
            self.failures.append("apprise URLs given, but Apprise is not installed: pip install 'chat-busy-assistant[notify]'")
            return
        notifier = apprise.Apprise()
        for url in self.apprise_urls:
            notifier.add(url)
        ok = await asyncio.to_thread(notifier.notify, body=event["summary"], title=f"{event['target']}: {event['event']}")
        if not ok:
            self.failures.append("apprise: at least one notification failed")
