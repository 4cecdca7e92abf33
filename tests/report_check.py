"""Every JSON report a test leaves behind matches its schema (used by conftest.py for the whole suite)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

from assistant.report.json_report import other_report_schema, report_schema


@cache
def _validators():
    return jsonschema.Draft202012Validator(report_schema()), jsonschema.Draft202012Validator(other_report_schema())


def reports_in(folder: Path) -> list[tuple[Path, dict]]:
    """The tool's JSON reports under `folder`: objects with `tool: assistant` or a `schema_version`."""
    found = []
    for path in folder.rglob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and (data.get("tool") == "assistant" or "schema_version" in data):
            found.append((path, data))
    return found


def problems(folder: Path) -> list[str]:
    """What is wrong with the reports under `folder`, one line each (empty: all match)."""
    run, other = _validators()
    out = []
    for path, data in reports_in(folder):
        validator = run if "steps" in data and "playbook" in data else other
        out += [f"{path.name}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    return out
