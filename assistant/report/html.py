"""`--html DIR`: one self-contained index.html, written when the run ends, however it ends.

Inline CSS, no scripts, no external assets: screenshots are embedded as data: URIs, so
the file can be mailed or attached to a ticket on its own. Each step's attempts are
drawn on a timeline in nominal seconds (the waits as the schedule meant them, also
under --time-scale, where the real gaps between started_at times shrink).
"""

from __future__ import annotations

import base64
import json
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
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;color:#fff;font-weight:600}
.passed,.ok{background:#2e7d32}.failed,.error,.down,.timeout{background:#c62828}
.busy,.rate_limited,.queued,.degraded,.tolerated{background:#ef6c00}.skipped,.interrupted,.unknown{background:#757575}
.meta{color:#555}.step{border:1px solid #ddd;border-radius:.4rem;padding:.5rem .8rem;margin:.5rem 0}
.step .detail{margin:.2rem 0;white-space:pre-wrap}.inner{margin-left:1.5rem}
.timeline{position:relative;height:1.6rem;background:#f4f4f4;border-radius:.3rem;margin:.4rem 0}
.timeline .attempt{position:absolute;top:.2rem;bottom:.2rem;min-width:4px;border-radius:.2rem}
.timeline .wait{position:absolute;top:.7rem;height:.2rem;background:repeating-linear-gradient(90deg,#999 0 4px,transparent 4px 8px)}
.axis{display:flex;justify-content:space-between;color:#777;font-size:.8rem}
ul.attempts{margin:.2rem 0;padding-left:1.2rem;font-size:.9rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
figure{margin:.5rem 0}figure img{max-width:100%;border:1px solid #ccc}
.verdict{border-left:4px solid #1565c0;padding:.3rem .8rem;background:#f3f7fc}
"""
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
        body.append(f'<div class="detail">{escape(step.detail)}</div>')
    if step.attempts:
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


def _verdict(verdict: dict) -> str:
    parts = [f"<h2>Verdict</h2><div class='verdict'><p><b>{escape(str(verdict.get('category', '')))}</b>: {escape(str(verdict.get('summary', '')))}</p>"]
    for key in ("evidence", "remedies", "tried"):
        items = verdict.get(key) or []
        if items:
            lines = [_evidence(i) if isinstance(i, dict) else escape(str(i)) for i in items]
            parts.append(f"<p>{key}</p><ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")
    rest = {k: v for k, v in verdict.items() if k not in ("category", "summary", "evidence", "remedies", "tried")}
    if rest:
        parts.append(f"<pre>{escape(json.dumps(rest, indent=2, ensure_ascii=False, default=str))}</pre>")
    return "".join(parts) + "</div>"


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
