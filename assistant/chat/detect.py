"""Busy signals: what a text, an HTTP status or a stream says about one attempt.

Pure functions, no browser: `watch.py` feeds them what the page and the network show.
Every attempt at a reply ends in exactly one outcome, with the signal that decided it.
"""

from __future__ import annotations

import json
import re
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


def classify_text(text: str, busy_texts: dict[str, tuple[str, ...]], *, whole: bool) -> tuple[str, str] | None:
    """(outcome, matched text) when `text` is (whole=True) or holds (whole=False) a known busy text.

    A reply bubble must *be* the busy text: a normal answer that talks about "server busy"
    is an answer. Error rows, toasts and alerts only need to *hold* it (they carry buttons).
    """
    # The vocabulary's patterns compile on first use, not at import (start-up cost).
    from assistant.chat.generic import normalize

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
    hint: dict[str, Any] | None = None  # the first error payload: DeepSeek's hint, or {"error": ...}
    hint_event: str | None = None
    json_error: dict[str, Any] | None = None
    done: bool = False  # `data: [DONE]`: the OpenAI-style normal end
    framed: bool = False  # a dialect with an end marker: DeepSeek's `ready`, or OpenAI-style choices
    ended: bool = False  # its end marker came: `finish`/`close`, [DONE], a finish_reason


def _repaired(text: str) -> str:
    """UTF-8 that was read as windows-1252 on the way (an event stream sent without a
    charset, as a browser decodes it), decoded again; any other text as it is."""
    if not re.search("[\u00c2-\u00f4][\u0080-\u00bf\u0152-\u2122]", text):
        return text
    try:
        raw = bytes(_CP1252.get(ch, ord(ch)) for ch in text)
        return raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return text


# windows-1252 as browsers decode it: bytes 0x80-0x9f to these, the rest as Latin-1.
_CP1252 = {bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def parse_sse(body: bytes) -> StreamSummary:
    """Read an SSE body: heartbeat comments, named events, data payloads, error hints."""
    text = _repaired(body.decode("utf-8", errors="replace"))
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
    if payload == "[DONE]":
        summary.done = summary.ended = True
        return
    try:
        value = json.loads(payload)
    except ValueError:
        value = None
    if event == "ready":
        summary.framed = True
    elif event in ("finish", "close", "done", "end", "message_stop"):
        summary.ended = True
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        summary.framed = True
        if any(isinstance(c, dict) and c.get("finish_reason") for c in value["choices"]):
            summary.ended = True
    if isinstance(value, dict) and _is_error(event, value):
        if summary.hint is None:
            summary.hint, summary.hint_event = value, event
    elif event in ("message", "delta") and payload:
        summary.content = True


def _is_error(event: str, value: dict[str, Any]) -> bool:
    """DeepSeek's `event: hint` {"type":"error"}, or any payload that is an error object:
    {"error": {...}} (OpenAI), {"type": "error", "error": {...}} (Anthropic), or a choice
    that finished for want of resources (DeepSeek's API overloaded mid-answer)."""
    if value.get("type") == "error" or value.get("error"):
        return True
    choices = value.get("choices")
    reasons = [c.get("finish_reason") for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
    return "insufficient_system_resource" in reasons


def hint_text(hint: dict[str, Any]) -> str:
    """The words of an error payload, for people: its content or its error's message."""
    error = hint.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "")
    return str(hint.get("content") or hint.get("message") or error or "")


def _hint_reason(hint: dict[str, Any]) -> str:
    error = hint.get("error") if isinstance(hint.get("error"), dict) else {}
    choice = next(iter(hint.get("choices") or []), {})
    parts = (hint.get("finish_reason"), error.get("type"), error.get("code"), choice.get("finish_reason") if isinstance(choice, dict) else None)
    return " ".join(str(p) for p in parts if p)


def classify_hint(hint: dict[str, Any], event: str | None) -> tuple[str, str]:
    """(outcome, summary line) of an error payload. DeepSeek's own hint says which by its
    finish_reason; any other is worded: its message and type run through the vocabulary."""
    reason, text = _hint_reason(hint), hint_text(hint)
    if event == "hint":
        outcome = "rate_limited" if "rate_limit" in reason else "busy"
        return outcome, f'stream hint "{text}" ({reason or "no finish_reason"})'
    from assistant.chat import generic

    worded = generic.classify(f"{text} {reason}")
    words = " ".join(p for p in (f'"{text}"' if text else "", f"({reason})" if reason else "") if p)
    return (worded[0] if worded else "error"), f"stream error {words}".strip()


def classify_stream(summary: StreamSummary) -> tuple[str, str] | None:
    """(outcome, summary line) when the stream decides the attempt; None when it answered."""
    if summary.hint is not None:
        return classify_hint(summary.hint, summary.hint_event)
    if summary.json_error is not None:
        err = summary.json_error
        code, msg = err.get("code"), err.get("msg") or err.get("error")
        return "error", f"JSON instead of a stream: code {code}, {msg!r}"
    if not summary.content:
        beats = summary.heartbeats
        return "error", f"stream ended without an answer after {beats} heartbeat{'s' if beats != 1 else ''}"
    if summary.framed and not summary.ended:
        return "error", "the stream ended before the answer finished (no finish event)"
    return None


MATCH_SLICE_S = 1.0  # the longest one match may hold up the event loop (the page, signals)


def reply_matches(pattern: str, text: str, deadline: float, now: float) -> bool:
    """Whether `text` matches a playbook's `matches:` pattern, within the step's time limit.

    The text comes from the remote chat, so a pattern that backtracks catastrophically
    on it (`^(a|aa)+$` against many `a`) would hang the run: the `regex` package stops a
    match at a timeout, and that is a clear failure of the step, never a hang.
    """
    import regex

    from assistant.errors import StepFailed

    limit = max(0.01, min(deadline - now, MATCH_SLICE_S))
    try:
        return regex.search(pattern, text, timeout=limit) is not None
    except TimeoutError:
        raise StepFailed(
            f"the regular expression /{pattern[:80]}/ did not finish matching the reply ({len(text)} characters) "
            f"within {limit:g} s: it backtracks too much on this text. Use a simpler pattern (no nested "
            "repetition such as (a+)+ or (a|aa)+), or `contains:`") from None
