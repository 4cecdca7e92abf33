"""`--json FILE`: the run as JSON, written when the run ends (also when it fails or is interrupted).

Every JSON report the tool writes carries `schema_version` (MAJOR.MINOR). Fields are added
in a minor version and never renamed or removed without a new major one, so a script that
checks the major number keeps working. `report_schema()` is the run report's JSON Schema,
committed as playbooks/report.schema.json (`assistant schema --report`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant import events as ev
from assistant.errors import EnvironmentProblem
from assistant.report.files import write_report
from assistant.report.redact import redact_all

SCHEMA_VERSION = "1.0"


class JsonReporter:
    """Writes the RunResult to a file, atomically, when the run ends; `error` says why it could not."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.written = False
        self.error: EnvironmentProblem | None = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunEnded) and event.result is not None:
            try:
                write_json(self.path, event.result.to_dict())
                self.written = True
            except EnvironmentProblem as exc:
                self.error = exc


def versioned(data: dict) -> dict:
    """`data` with `schema_version` (and `tool`) first, as every JSON report has them."""
    return {"schema_version": SCHEMA_VERSION, "tool": "assistant", **data}


def write_json(path: Path, data: dict, what: str = "the --json report") -> None:
    """Write `data` (versioned, URL passwords redacted) to `path` (see `write_report`); raises EnvironmentProblem."""
    text = json.dumps(redact_all(versioned(data)), ensure_ascii=False, indent=2) + "\n"
    write_report(Path(path), text.encode("utf-8"), what)


# --- the run report's schema -------------------------------------------------------------

def _obj(properties: dict[str, Any], required: tuple[str, ...] | None = None, description: str = "",
         extra: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    if description:
        schema["description"] = description
    schema["properties"] = properties
    schema["required"] = list(properties if required is None else required)
    schema["additionalProperties"] = extra
    return schema


def _t(types: str | list[str], description: str, **more: Any) -> dict[str, Any]:
    return {"type": types, "description": description, **more}


_SECONDS = {"type": "number", "minimum": 0}
_OUTCOME_RUN = ["passed", "failed", "error", "interrupted"]
_OUTCOME_STEP = ["passed", "failed", "tolerated", "skipped"]


def _signal() -> dict[str, Any]:
    return _obj({
        "source": _t("string", "What decided: dom, http, stream, timeout, step, page (the page crashed) (or diagnosis, experiment)."),
        "summary": _t("string", "One line a person can read."),
        "where": _t("string", "Where the text showed: reply bubble, error row, toast, alert."),
        "text": _t("string", "The text that decided."),
        "status": _t("integer", "The HTTP status."),
        "event": _t("string", "The stream event."),
        "url": _t("string", "The request's URL."),
        "retry_after": {**_SECONDS, "description": "The server's Retry-After, in seconds."},
        "extra": _t("object", "More about the signal (recovery, verdict, ...)."),
    }, required=("source", "summary"), description="The evidence that decided an attempt's outcome.", extra=True)


def _attempt() -> dict[str, Any]:
    return _obj({
        "number": _t("integer", "1 for the first attempt.", minimum=1),
        "outcome": _t("string", "answered, busy, rate_limited, error, timeout; ok for steps that are not replies."),
        "signal": {"$ref": "#/$defs/signal"},
        "started_at": _t("string", "ISO 8601 time the attempt started."),
        "waited_s": {**_SECONDS, "description": "The nominal wait before the attempt."},
        "duration_s": {**_SECONDS, "description": "How long the attempt took."},
        "detail": _t("string", "Why it passed or failed, when more than the signal."),
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}, "description": "A retry block's inner steps."},
    }, required=("number", "outcome", "signal", "started_at", "waited_s", "duration_s"), description="One attempt of a step.")


def _step() -> dict[str, Any]:
    return _obj({
        "index": _t("string", "The step's position: 4, 2.1 inside a block, tokyo/3 on a route."),
        "name": _t("string", "The step's kind: open, send, expect_reply, ..."),
        "label": _t("string", "The step as a person reads it."),
        "line": _t(["integer", "null"], "The step's line in the playbook."),
        "outcome": _t("string", "How the step ended.", enum=_OUTCOME_STEP),
        "detail": _t("string", "Why."),
        "duration_s": _SECONDS,
        "attempts": {"type": "array", "items": {"$ref": "#/$defs/attempt"}},
    }, description="One step and every attempt it took.")


def _route() -> dict[str, Any]:
    return _obj({
        "name": _t("string", "The route's name."),
        "proxy": _t("string", "The proxy, without credentials."),
        "outcome": _t("string", "passed or failed.", enum=["passed", "failed"]),
        "summary": _t("string", "One line."),
        "duration_s": _SECONDS,
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
    }, description="The same steps run again through another network path.")


def _finding() -> dict[str, Any]:
    return _obj({
        "probe": _t("string", "status_page, api, dns, connect, streams, windows, route."),
        "subject": _t("string", "What was looked at."),
        "outcome": _t("string", "ok, degraded, down, busy, rate_limited, queued, error, timeout, unknown."),
        "summary": _t("string", "One line."),
        "data": _t("object", "Numbers and details (timings in seconds)."),
    }, description="One observation from outside the browser.")


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the run report (`assistant run --json`)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "assistant run report",
        "description": (f"The JSON report of `assistant run --json FILE`, schema_version {SCHEMA_VERSION}. Fields are "
                        "added in a minor version, never renamed or removed without a new major version."),
        **_obj({
            "schema_version": _t("string", "MAJOR.MINOR of this schema; check the major number.", pattern=r"^1\.[0-9]+$"),
            "tool": {"const": "assistant"},
            "version": _t("string", "The tool's version."),
            "playbook": _t("string", "The playbook's name."),
            "path": _t(["string", "null"], "The playbook file."),
            "site": _t("string", "The site profile's name."),
            "url": _t("string", "The site's base URL (a password shown as ***)."),
            "browser": _t("string", "Which browser ran it."),
            "outcome": _t("string", "How the run ended.", enum=_OUTCOME_RUN),
            "summary": _t("string", "One line."),
            "started_at": _t("string", "ISO 8601 time the run started (empty when it never started)."),
            "duration_s": _SECONDS,
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "probes": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
            "routes": {"type": "array", "items": {"$ref": "#/$defs/route"}},
            "verdict": _t(["object", "null"], "The diagnose step's verdict: category, summary, evidence, remedies."),
            "notes": {"type": "array", "items": {"type": "string"}},
            "artifacts": {"type": "array", "items": {"type": "string"}, "description": "Files kept: screenshots, traces, videos."},
            "error": _t(["string", "null"], "Bad input or environment, when outcome is error."),
        }),
        "$defs": {"step": _step(), "attempt": _attempt(), "signal": _signal(), "route": _route(), "finding": _finding()},
    }


def other_report_schema() -> dict[str, Any]:
    """What every other JSON report (probe, diagnose, selftest, bisect, probe-site, guide) has in common."""
    return _obj({"schema_version": {"type": "string", "pattern": r"^1\.[0-9]+$"}, "tool": {"const": "assistant"}},
                extra=True, description="Any JSON report of the tool.")
