"""`--html DIR`: one self-contained index.html, written when the run ends, however it ends.

Inline CSS, no scripts, no external assets: screenshots are embedded as data: URIs, so
the file can be mailed or attached to a ticket on its own. Each step's attempts are
drawn on a timeline in nominal seconds (the waits as the schedule meant them, also
under --time-scale, where the real gaps between started_at times shrink).
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from assistant import events as ev
from assistant.errors import EnvironmentProblem
from assistant.report.files import write_report
from assistant.report.junit import attempt_lines
from assistant.report.redact import redact

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;color:#fff;font-weight:600;background:#455a64}
.meta{color:#555}.step{border:1px solid #ddd;border-radius:.4rem;padding:.5rem .8rem;margin:.5rem 0}
.step .detail{margin:.2rem 0;white-space:pre-wrap}.inner{margin-left:1.5rem}
.timeline{position:relative;height:1.6rem;background:#f4f4f4;border-radius:.3rem;margin:.4rem 0}
.timeline .attempt{position:absolute;top:.2rem;bottom:.2rem;min-width:6px;border-radius:.2rem;background:#455a64}
.timeline .wait{position:absolute;top:.7rem;height:.2rem;background:repeating-linear-gradient(90deg,#999 0 4px,transparent 4px 8px)}
.axis{display:flex;justify-content:space-between;color:#777;font-size:.8rem}
ul.attempts{margin:.2rem 0;padding-left:1.2rem;font-size:.9rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
figure{margin:.5rem 0}figure img{max-width:100%;border:1px solid #ccc}
.verdict{border-left:4px solid #1565c0;padding:.3rem .8rem;background:#f3f7fc;overflow-wrap:anywhere}
.verdict dl{margin:.2rem 0}.verdict dt{font-weight:600;margin-top:.4rem}.verdict dd{margin:0 0 0 1.2rem}
.skip-reason{color:#555;font-style:italic}
"""
# Every outcome a step, an attempt or a probe can have, and every verdict category, gets a
# colour (a class of its own name); anything else falls back to the slate of .badge.
GOOD, BAD, WARN, NEUTRAL = "#2e7d32", "#c62828", "#ef6c00", "#757575"
STYLES = {
    GOOD: ("passed", "ok", "answered", "healthy"),
    BAD: ("failed", "error", "down", "timeout", "unreachable", "provider_outage", "web_outage", "dns", "streams_blocked"),
    WARN: ("busy", "rate_limited", "queued", "degraded", "tolerated", "maintenance", "transient_overload",
           "session_context", "stale_cache", "cookies", "extension", "network_route", "feature_missing"),
    NEUTRAL: ("skipped", "interrupted", "unknown", "inconclusive", "profile_mismatch"),
}
_CSS += "".join(f".{name},.timeline .{name}{{background:{colour}}}" for colour, names in STYLES.items() for name in names) + "\n"
INSTANT_S = 0.05  # a step quicker than this gets no timeline: a bar would say nothing
_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class HtmlReporter:
    """Writes DIR/index.html from the RunResult when the run ends."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.written = False
        self.error: EnvironmentProblem | None = None  # why the file could not be written

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunEnded) and event.result is not None:
            try:
                write_report(self.folder / "index.html", redact(render(event.result)).encode("utf-8"), "the --html report")
                self.written = True
            except EnvironmentProblem as exc:
                self.error = exc


def render(result) -> str:
    """The whole page."""
    parts = [
        f"<h1>{escape(result.playbook)} {_badge(result.outcome)}</h1>",
        f"<p>{escape(result.summary)}</p>",
        f'<p class="meta">site {escape(result.site)} ({escape(result.url)}), {escape(result.browser or "")},'
        f" started {escape(result.started_at or '')}, {result.duration_s:.1f}s</p>",
    ]
    if result.error:
        parts.append(f'<p class="detail"><b>error:</b> {escape(result.error)}</p>')
    if result.verdict:
        parts.append(_verdict(result.verdict))
    parts.append("<h2>Steps</h2>" + "".join(_step(s) for s in result.steps))
    if result.probes:
        rows = [(escape(f.probe), escape(f.subject), _badge(f.outcome), escape(f.summary)) for f in result.probes]
        parts.append("<h2>Probes</h2>" + _table(("probe", "subject", "outcome", "finding"), rows))
    if result.routes:
        rows = [(escape(r.name), escape(r.proxy), _badge(r.outcome), escape(r.summary)) for r in result.routes]
        parts.append("<h2>Routes</h2>" + _table(("route", "proxy", "outcome", "summary"), rows))
    if result.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in result.notes) + "</ul>")
    shots = [_figure(Path(a)) for a in result.artifacts if Path(a).suffix.lower() in _IMAGES and Path(a).is_file()]
    if shots:
        parts.append("<h2>Screenshots</h2>" + "".join(shots))
    title = escape(f"{result.outcome.upper()} {result.playbook}")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def _badge(outcome: str) -> str:
    return f'<span class="badge {escape(outcome)}">{escape(outcome)}</span>'


def _step(step) -> str:
    head = f"<b>{escape(step.index)}</b> {escape(step.label)} {_badge(step.outcome)} <span class='meta'>{step.duration_s:.1f}s"
    head += f", line {step.line}</span>" if step.line else "</span>"
    body = [f'<div class="step" id="step-{escape(step.index)}">{head}']
    if step.detail:
        css = "detail skip-reason" if step.outcome == "skipped" else "detail"
        body.append(f'<div class="{css}">{escape(step.detail)}</div>')
    elif step.outcome == "skipped":
        body.append('<div class="detail skip-reason">not run</div>')
    if step.attempts:
        nominal = sum(a.waited_s + a.duration_s for a in step.attempts)
        if len(step.attempts) > 1 or nominal >= INSTANT_S:
            body.append(_timeline(step))
        body.append("<ul class='attempts'>" + "".join(f"<li>{escape(line)}</li>" for line in attempt_lines(step)) + "</ul>")
        inner = step.attempts[-1].steps
        if inner:
            body.append('<div class="inner">' + "".join(_step(s) for s in inner) + "</div>")
    return "".join(body) + "</div>"


def _timeline(step) -> str:
    """Attempt boxes and the waits between them, on one axis of nominal seconds."""
    spans, t = [], 0.0
    for a in step.attempts:
        if a.waited_s > 0:
            spans.append(("wait", t, a.waited_s, f"wait {a.waited_s:g}s before attempt {a.number}"))
            t += a.waited_s
        summary = a.signal.get("summary", "") if isinstance(a.signal, dict) else ""
        tip = f"attempt {a.number}: {a.outcome}, {a.duration_s:.2f}s, started {a.started_at}. {summary}"
        spans.append((f"attempt {a.outcome}", t, a.duration_s, tip))
        t += a.duration_s
    total = t or 1.0
    boxes = "".join(
        f'<div class="{kind}" style="left:{100 * start / total:.3f}%;width:{100 * length / total:.3f}%"'
        f' title="{escape(tip)}"></div>'
        for kind, start, length, tip in spans
    )
    return f'<div class="timeline">{boxes}</div><div class="axis"><span>0s</span><span>{t:.1f}s</span></div>'


_VERDICT_LISTS = (("evidence", "Evidence"), ("remedies", "What to do"), ("notes", "Notes"), ("tried", "Tried"))


def _verdict(verdict: dict) -> str:
    category = str(verdict.get("category", ""))
    parts = [f"<h2>Verdict</h2><div class='verdict'><p>{_badge(category)} {escape(str(verdict.get('summary', '')))}</p>"]
    for key, title in _VERDICT_LISTS:
        items = verdict.get(key) or []
        if items:
            lines = [_evidence(i) if isinstance(i, dict) else escape(str(i)) for i in items]
            tag = "ol" if key == "remedies" else "ul"
            parts.append(f"<p><b>{title}</b></p><{tag}>" + "".join(f"<li>{line}</li>" for line in lines) + f"</{tag}>")
    rest = {k: v for k, v in verdict.items() if k not in ("category", "summary", *(k for k, _ in _VERDICT_LISTS)) and v not in (None, "", [], {})}
    if rest:
        parts.append("<dl>" + "".join(f"<dt>{escape(k.replace('_', ' '))}</dt><dd>{_readable(v)}</dd>" for k, v in rest.items()) + "</dl>")
    return "".join(parts) + "</div>"


def _readable(value) -> str:
    """A JSON value as a person reads it: lists as lists, mappings as `key: value` lines."""
    if isinstance(value, dict):
        return "<ul>" + "".join(f"<li><b>{escape(str(k).replace('_', ' '))}</b>: {_readable(v)}</li>" for k, v in value.items()) + "</ul>"
    if isinstance(value, (list, tuple)):
        return "<ul>" + "".join(f"<li>{_readable(v)}</li>" for v in value) + "</ul>"
    return escape(str(value))


def _evidence(item: dict) -> str:
    outcome = f" {_badge(item['outcome'])}" if item.get("outcome") else ""
    return f"<b>{escape(str(item.get('source', '')))}</b>{outcome}: {escape(str(item.get('observation', '')))}"


def _table(header, rows) -> str:
    """A table of cells that are markup already (escaped by the caller)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    src = f"data:{_IMAGES[path.suffix.lower()]};base64,{data}"
    return f'<figure><img src="{src}" alt="{escape(path.name)}"><figcaption>{escape(path.name)}</figcaption></figure>'
