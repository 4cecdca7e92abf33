"""The watch file: several targets with their intervals, thresholds, alerts and maintenance
windows, validated like a playbook (positions, the lines around, did-you-mean) before any
browser starts. `WATCH_SCHEMA` is its JSON Schema, next to the code that reads it;
`playbooks/watch.schema.json` is a copy for editors (a test keeps the two equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from assistant.playbook import yamlsrc
from assistant.playbook.validate import check
from assistant.watch.alerts import MaintenanceWindow, Webhook
from assistant.watch.states import Policy

DURATION = {"type": ["string", "number"], "format": "duration"}
COUNT = {"type": "integer", "minimum": 1, "maximum": 100}
WINDOW = {
    "type": "object", "additionalProperties": False,
    "description": "No alerts inside: absolute (start, end: ISO 8601 times) or daily (HH:MM-HH:MM, UTC).",
    "properties": {"start": {"type": "string"}, "end": {"type": "string"}, "daily": {"type": "string"}},
}
SETTINGS = {
    "every": DURATION | {"description": "Browser check interval (default 5m)."},
    "probe_every": DURATION | {"description": "Status page and API probe interval (default 1m)."},
    "max_every": DURATION | {"description": "Cap of the back-off while down (default 1h)."},
    "down_after": COUNT | {"description": "Failed checks that confirm down (default 2)."},
    "up_after": COUNT | {"description": "Good checks that confirm up (default 2)."},
    "slow": DURATION | {"description": "An answer slower than this is degraded."},
    "remind": DURATION | {"description": "While down, alert again this long after the last alert."},
    "webhooks": {"type": "array", "items": {"type": "string", "minLength": 1},
                 "description": "URL (plain JSON), slack:URL or ntfy:URL."},
    "maintenance": {"type": "array", "items": WINDOW},
}
TARGET = {
    "type": "object", "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1}, "site": {"type": "string", "minLength": 1},
                   "playbook": {"type": "string", "minLength": 1}, "url": {"type": "string", "format": "url"},
                   **SETTINGS},
}
WATCH_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "assistant watch file",
    "type": "object", "additionalProperties": False, "required": ["targets"],
    "properties": {**SETTINGS, "on_change": {"type": "array", "items": {"type": "string", "minLength": 1}},
                   "targets": {"type": "array", "minItems": 1, "items": TARGET}},
}
_DAILY = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass
class TargetSpec:
    """One target as written: a site or a playbook, and its own settings over the file's."""

    ref: str
    is_playbook: bool
    name: str | None = None
    url: str | None = None
    policy: Policy = field(default_factory=Policy)
    webhooks: tuple[str, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()


@dataclass
class WatchFile:
    targets: list[TargetSpec]
    on_change: list[str] = field(default_factory=list)


def policy_from(values: dict, base: Policy) -> Policy:
    keys = ("every", "probe_every", "max_every", "down_after", "up_after", "slow", "remind")
    return replace(base, **{k: values[k] for k in keys if values.get(k) is not None})


def load_watch_file(path: Path, base: Policy) -> WatchFile:
    """Read and validate a watch file; PlaybookError (exit 2) with every positioned problem."""
    text = yamlsrc.read(path, "watch file")
    root, issues = yamlsrc.parse(path, text)
    if root is None or root.type != "object":
        issues.add(root.pos if root else yamlsrc.Pos(issues.file, 1, 1), "a watch file is a mapping with `targets:`",
                   "Example:\n  every: 5m\n  targets:\n    - site: deepseek")
        issues.raise_if_any()
    data = check(root, WATCH_SCHEMA, issues, "watch file")
    items = root.value.get("targets")
    specs, on_change = [], []
    if data and isinstance(data.get("targets"), list) and items is not None:
        policy = policy_from(data, base)
        windows = _windows(data.get("maintenance") or [], root.value.get("maintenance"), issues)
        hooks = _hooks(data.get("webhooks") or [], root.value.get("webhooks"), issues)
        for t, y in zip(data["targets"], items.value, strict=False):
            if not isinstance(t, dict):
                continue
            if ("site" in t) == ("playbook" in t):
                issues.add(y.pos, "a target names either `site:` or `playbook:`", "e.g. - site: deepseek, or - playbook: smoke.yaml")
                continue
            ref = t.get("site") or t.get("playbook")
            if "playbook" in t and not Path(ref).is_absolute():
                ref = str(path.parent / ref)
            specs.append(TargetSpec(
                ref, "playbook" in t, t.get("name"), t.get("url"), policy_from(t, policy),
                hooks + _hooks(t.get("webhooks") or [], y.value.get("webhooks"), issues),
                windows + _windows(t.get("maintenance") or [], y.value.get("maintenance"), issues)))
        on_change = list(data.get("on_change") or [])
    issues.raise_if_any()
    return WatchFile(specs, on_change)


def _hooks(values: list, ys, issues) -> tuple[str, ...]:
    out = []
    for value, y in zip(values, ys.value if ys else [], strict=False):
        try:
            Webhook.parse(value)
            out.append(value)
        except Exception as exc:
            issues.add(y.pos, str(exc))
    return tuple(out)


def _windows(values: list, ys, issues) -> tuple[MaintenanceWindow, ...]:
    out = []
    for value, y in zip(values, ys.value if ys else [], strict=False):
        try:
            out.append(window(value))
        except ValueError as exc:
            issues.add(y.pos, f"maintenance window: {exc}", "Write {daily: '01:00-02:00'} (UTC) or {start: 2026-12-02T01:00:00Z, end: ...}")
    return tuple(out)


def window(value: dict) -> MaintenanceWindow:
    """A maintenance window from its mapping; ValueError saying what is wrong."""
    if "daily" in value:
        m = _DAILY.match(str(value["daily"]))
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            raise ValueError(f"daily {value['daily']!r} is not HH:MM-HH:MM")
        return MaintenanceWindow(daily=(int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])))
    if "start" not in value or "end" not in value:
        raise ValueError("needs `daily`, or both `start` and `end`")
    start, end = (_time(value[k]) for k in ("start", "end"))
    if end <= start:
        raise ValueError("`end` is not after `start`")
    return MaintenanceWindow(start, end)


def _time(text: str) -> float:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z for UTC)")
    return when.timestamp()
