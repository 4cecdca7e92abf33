"""The history as people read it: uptime, incidents, and one self-contained HTML page whose
timeline puts the tool's checks, the status page's indicator and the incidents on one
time axis (inline SVG, no external assets).
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from assistant.watch.alerts import iso
from assistant.watch.history import History

WINDOWS = {"24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
COLOURS = {"up": "#2e9e4f", "degraded": "#e69500", "down": "#d23c3c", "unknown": "#9aa0a6"}
INDICATOR_COLOURS = {"none": "#2e9e4f", "minor": "#e6c200", "major": "#e67300", "critical": "#d23c3c", None: "#c7c9cc"}


def uptime(changes: list[dict], now: float) -> dict[str, float | None]:
    """Share of known time (up or degraded over up, degraded and down) in each window; None without data."""
    spans = [(c["at"], c["state"]) for c in changes]
    out: dict[str, float | None] = {}
    for label, width in WINDOWS.items():
        start, good, known = now - width, 0.0, 0.0
        for i, (at, state) in enumerate(spans):
            end = spans[i + 1][0] if i + 1 < len(spans) else now
            lo, hi = max(at, start), min(end, now)
            if hi <= lo or state == "unknown":
                continue
            known += hi - lo
            good += (hi - lo) if state in ("up", "degraded") else 0.0
        out[label] = round(good / known, 5) if known else None
    return out


def summary(history: History, target: str | None = None, now: float | None = None) -> dict:
    """The documented `history --json` shape."""
    names = [target] if target else history.targets()
    out = []
    for name in names:
        changes, checks = history.changes(name), history.checks(name)
        latest = max([c["at"] for c in checks] + [c["at"] for c in changes] + [0.0])
        at = max(now or time.time(), latest)
        tracker = history.tracker(name)
        out.append({
            "name": name, "state": tracker.state, "since": iso(tracker.since),
            "uptime": uptime(changes, at),
            "checks": len(checks),
            "incidents": [_incident(i) for i in history.incidents(name)],
            "changes": [{**c, "at": iso(c["at"])} for c in changes],
        })
    return {"tool": "assistant", "db": str(history.path), "targets": out}


def _incident(inc: dict) -> dict:
    times = ("first_failed_at", "confirmed_at", "status_since", "recovered_at", "closed_at")
    out = {k: (iso(v) if k in times else v) for k, v in inc.items()}
    out["features"] = {k: {"missing_since": iso(v["missing_since"]), "back_at": iso(v["back_at"])} for k, v in inc["features"].items()}
    return out


def write_html(history: History, folder: Path, target: str | None = None) -> Path:
    """`folder/index.html`: every target's timeline, incidents and uptime."""
    from assistant.report.files import check_folder

    check_folder(folder, "the --html folder")
    names = [target] if target else history.targets()
    sections = "\n".join(_section(history, name) for name in names) or "<p>No checks recorded yet.</p>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>assistant watch history</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #202124; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
table {{ border-collapse: collapse; margin: 8px 0; }} td, th {{ border: 1px solid #dadce0; padding: 4px 8px; text-align: left; }}
.state {{ font-weight: 600; }} .legend span {{ display: inline-block; margin-right: 14px; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }}
</style></head><body>
<h1>Watch history</h1>
{sections}
</body></html>
"""
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _section(history: History, name: str) -> str:
    data = summary(history, name)["targets"][0]
    checks, readings = history.checks(name), history.readings(name)
    incidents, changes = history.incidents(name), history.changes(name)
    up = ", ".join(f"{k}: {'-' if v is None else f'{v * 100:.2f} %'}" for k, v in data["uptime"].items())
    rows = "".join(_incident_row(i) for i in incidents) or "<tr><td colspan=8>none</td></tr>"
    legend = "".join(f'<span><i class="swatch" style="background:{c}"></i>{s}</span>' for s, c in COLOURS.items())
    legend += '<span>ringed check: half-open (the provider looked back)</span><span>status page: green none, yellow minor, orange major, red critical</span>'
    return f"""<section id="target-{html.escape(name)}">
<h2>{html.escape(name)}: <span class="state" style="color:{COLOURS[data['state']]}">{data['state']}</span></h2>
<p>Uptime {up}. {len(checks)} browser checks, {len(readings)} probe rounds.</p>
<div class="legend">{legend}</div>
{timeline_svg(checks, readings, incidents, changes)}
<table><tr><th>first failed</th><th>confirmed</th><th>kind</th><th>category</th><th>status page said</th><th>lag</th><th>recovered</th><th>features back</th></tr>{rows}</table>
</section>"""


def _incident_row(inc: dict) -> str:
    lag = inc.get("status_since")
    lag_text = "never" if lag is None else _lag(lag - inc["first_failed_at"])
    features = "; ".join(f"{k} at {_hm(v['back_at']) if v['back_at'] else 'not yet'}" for k, v in inc["features"].items()) or "-"
    cells = [_hm(inc["first_failed_at"]), _hm(inc["confirmed_at"]), inc["kind"], inc["category"],
             f"{inc['status_indicator'] or 'nothing'}" + (f" at {_hm(lag)}" if lag else ""), lag_text,
             _hm(inc["recovered_at"]) if inc.get("recovered_at") else "not yet", features]
    return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"


def _lag(seconds: float) -> str:
    word = "late" if seconds >= 0 else "early"
    return f"{abs(seconds) / 60:.0f} min {word}"


def _hm(at: float | None) -> str:
    return "" if at is None else iso(at)[11:16] + " UTC"


def timeline_svg(checks: list[dict], readings: list[dict], incidents: list[dict], changes: list[dict]) -> str:
    """Four rows on one time axis: incidents, state, browser checks, status page indicator."""
    times = [c["at"] for c in checks] + [r["at"] for r in readings]
    if not times:
        return "<p>No checks yet.</p>"
    t0, t1 = min(times), max(times)
    t1 = t1 if t1 > t0 else t0 + 60
    width, left, right = 1000, 120, 40
    span = width - left - right

    def x(at: float) -> float:
        return round(left + (min(max(at, t0), t1) - t0) / (t1 - t0) * span, 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="200" role="img" aria-label="timeline">',
             '<rect width="100%" height="100%" fill="#fff"/>']
    for label, y in (("incidents", 30), ("state", 70), ("browser checks", 110), ("status page", 150)):
        parts.append(f'<text x="8" y="{y + 4}" font-size="12" fill="#5f6368">{label}</text>')
    for inc in incidents:
        end = inc.get("closed_at") or t1
        parts.append(f'<rect class="incident" x="{x(inc["first_failed_at"])}" y="14" width="{max(2, x(end) - x(inc["first_failed_at"]))}" '
                     f'height="150" fill="#d23c3c" fill-opacity="0.08" stroke="#d23c3c" stroke-opacity="0.4"/>')
        parts.append(f'<text x="{x(inc["first_failed_at"]) + 4}" y="34" font-size="11" fill="#b31412">{html.escape(inc["kind"])}: '
                     f'{html.escape(inc["category"])}</text>')
        if inc.get("status_since"):
            sx = x(inc["status_since"])
            parts.append(f'<line x1="{x(inc["first_failed_at"])}" y1="158" x2="{sx}" y2="158" stroke="#202124" stroke-dasharray="3 2"/>')
            parts.append(f'<text x="{sx + 3}" y="172" font-size="10">status page {_lag(inc["status_since"] - inc["first_failed_at"])}</text>')
    for i, c in enumerate(changes):
        end = changes[i + 1]["at"] if i + 1 < len(changes) else t1
        parts.append(f'<rect class="state {c["state"]}" x="{x(c["at"])}" y="62" width="{max(1, x(end) - x(c["at"]))}" height="16" fill="{COLOURS[c["state"]]}"/>')
    for c in checks:
        ring = ' stroke="#202124" stroke-width="2"' if c["half_open"] else ""
        parts.append(f'<circle class="check {c["kind"]}" cx="{x(c["at"])}" cy="110" r="5" fill="{COLOURS[c["kind"]]}"{ring}>'
                     f'<title>{html.escape(_hm(c["at"]) + " " + c["kind"] + ": " + (c["detail"] or ""))}</title></circle>')
    for i, r in enumerate(readings):
        end = readings[i + 1]["at"] if i + 1 < len(readings) else t1
        parts.append(f'<rect class="indicator" x="{x(r["at"])}" y="142" width="{max(1, x(end) - x(r["at"]))}" height="12" '
                     f'fill="{INDICATOR_COLOURS.get(r["indicator"], "#c7c9cc")}"/>')
    for k in range(6):
        at = t0 + (t1 - t0) * k / 5
        parts.append(f'<text x="{x(at)}" y="192" font-size="10" text-anchor="middle" fill="#5f6368">{_hm(at)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
