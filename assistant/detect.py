"""Busy signals: what a text, an HTTP status or a stream says about one attempt.

Pure functions, no browser: `watch.py` feeds them what the page and the network show.
Every attempt at a reply ends in exactly one outcome, with the signal that decided it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

OUTCOMES = ("answered", "busy", "rate_limited", "error", "timeout")
BUSY_STATUSES = {502: "busy", 503: "busy", 504: "busy", 529: "busy"}  # overload, per provider docs


@dataclass
class Signal:
    """The evidence that decided an outcome."""

    source: str  # dom | http | stream | timeout | step
    summary: str  # one line a person can read
    where: str | None = None  # reply bubble | error row | toast | alert
    text: str | None = None
    status: int | None = None
    event: str | None = None
    url: str | None = None
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, "")}


@dataclass
class AttemptResult:
    """How one attempt ended; `passed` also covers the step's own check (contains, ...)."""

    outcome: str
    signal: Signal
    passed: bool
    detail: str = ""
    reply: str | None = None


def normalize(text: str) -> str:
    """Fold width and case, collapse spaces, unify apostrophes: for comparing UI texts."""
    folded = unicodedata.normalize("NFKC", text).replace("\u2019", "'").casefold()
    return re.sub(r"\s+", " ", folded).strip()


def classify_text(text: str, busy_texts: dict[str, tuple[str, ...]], *, whole: bool) -> tuple[str, str] | None:
    """(outcome, matched text) when `text` is (whole=True) or holds (whole=False) a known busy text.

    A reply bubble must *be* the busy text: a normal answer that talks about "server busy"
    is an answer. Error rows, toasts and alerts only need to *hold* it (they carry buttons).
    """
    norm = normalize(text)
    if not norm:
        return None
    for outcome in ("rate_limited", "busy", "error"):
        for known in busy_texts.get(outcome, ()):
            k = normalize(known)
            if k and (norm == k if whole else k in norm):
                return outcome, known
    return None


def classify_status(status: int) -> str | None:
    """The outcome an HTTP status decides by itself, or None for success."""
    if status < 400:
        return None
    if status == 429:
        return "rate_limited"
    return BUSY_STATUSES.get(status, "error")


@dataclass
class StreamSummary:
    """What a finished SSE body held."""

    heartbeats: int = 0
    events: list[tuple[str, str]] = field(default_factory=list)  # (event name, data)
    content: bool = False
    hint: dict[str, Any] | None = None
    json_error: dict[str, Any] | None = None


def parse_sse(body: bytes) -> StreamSummary:
    """Read an SSE body: heartbeat comments, named events, data payloads, error hints."""
    text = body.decode("utf-8", errors="replace")
    summary = StreamSummary()
    stripped = text.strip()
    if stripped.startswith("{"):  # JSON where a stream was expected: an error envelope
        try:
            summary.json_error = json.loads(stripped)
        except ValueError:
            pass
        return summary
    for block in re.split(r"\r?\n\r?\n", text):
        event, data = "message", []
        for line in block.splitlines():
            if line.startswith(":"):
                summary.heartbeats += 1
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if not data:
            continue
        payload = "\n".join(data)
        summary.events.append((event, payload))
        _note_payload(summary, event, payload)
    return summary


def _note_payload(summary: StreamSummary, event: str, payload: str) -> None:
    try:
        value = json.loads(payload)
    except ValueError:
        value = None
    if event == "hint" and isinstance(value, dict) and value.get("type") == "error":
        summary.hint = value
    elif event in ("message", "delta") and payload and payload != "[DONE]":
        summary.content = True


def classify_stream(summary: StreamSummary) -> tuple[str, str] | None:
    """(outcome, summary line) when the stream decides the attempt; None when it answered."""
    if summary.hint is not None:
        reason = str(summary.hint.get("finish_reason") or "")
        outcome = "rate_limited" if "rate_limit" in reason else "busy"
        content = summary.hint.get("content") or ""
        return outcome, f'stream hint "{content}" ({reason or "no finish_reason"})'
    if summary.json_error is not None:
        err = summary.json_error
        code, msg = err.get("code"), err.get("msg") or err.get("error")
        return "error", f"JSON instead of a stream: code {code}, {msg!r}"
    if not summary.content:
        beats = summary.heartbeats
        return "error", f"stream ended without an answer after {beats} heartbeat{'s' if beats != 1 else ''}"
    return None
