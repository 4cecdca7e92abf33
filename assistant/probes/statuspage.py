"""The status-page probe: what the provider's Statuspage says, from the first host that answers.

A green page proves little (capacity errors rarely reach it), but a red one explains a
busy chat at once, and an unreachable branded host is evidence too: DeepSeek's mirror on
statuspage.io answered while status.deepseek.com reset connections.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from assistant.playbook.model import SiteProfile
from assistant.probes import Finding, ProbeContext, http

INDICATORS = {"none": "ok", "minor": "degraded", "major": "down", "critical": "down"}
COMPONENTS = {
    "operational": "ok",
    "degraded_performance": "degraded",
    "partial_outage": "down",
    "major_outage": "down",
    "under_maintenance": "maintenance",
}
MAINTENANCE_NOW = ("in_progress", "verifying")
MAINTENANCE_OPEN = ("scheduled", *MAINTENANCE_NOW)  # completed ones are history


async def probe_status_page(site: SiteProfile, ctx: ProbeContext) -> list[Finding]:
    """The page's indicator, components, open incidents and maintenances, within ctx.timeout."""
    if not site.status_page:
        return [Finding("status_page", site.name, "unknown", "no status page configured")]
    deadline = http.Deadline(ctx.timeout)
    tried: list[dict] = []
    async with http.session(ctx) as client:
        for i, base in enumerate(site.status_page):
            # Share what is left among the hosts still to try: a branded host that hangs
            # must leave the mirror time to answer.
            seconds = deadline.left() / (len(site.status_page) - i)
            doc, failure = await _page(client, base.rstrip("/"), seconds, ctx.proxy)
            tried.append({"host": _host(base), **failure})
            if doc is not None:
                return _findings(doc, base, tried)
    kinds = {t["error"] for t in tried}
    outcome = "timeout" if kinds == {"timeout"} else "error"
    text = "; ".join(f"{t['host']} {t['reason']}" for t in tried)
    return [
        Finding(
            "status_page",
            "overall",
            outcome,
            f"no status host answered: {text}",
            {"hosts_tried": tried},
        )
    ]


async def _page(client, base: str, seconds: float, proxy) -> tuple[dict | None, dict]:
    """(document, what happened) from summary.json, or status.json when the summary is unusable."""
    deadline = http.Deadline(seconds)
    failure: dict = {}
    for name in ("summary.json", "status.json"):
        try:
            reply = await http.fetch(
                client, "GET", f"{base}/api/v2/{name}", seconds=deadline.left(), proxy=proxy
            )
        except Exception as exc:  # the host itself failed: its other file will not do better
            kind = http.failure_kind(exc)
            reason = (
                f"timed out after {seconds:.1f} s" if kind == "timeout" else http.FAILURES[kind]
            )
            return None, {"error": kind, "reason": reason, "detail": http.failure_detail(exc)}
        doc = reply.json()
        if reply.status == 200 and isinstance(doc, dict) and isinstance(doc.get("status"), dict):
            return doc, {"ok": True, "source": name, "seconds": round(reply.total_s, 3)}
        what = reply.not_json() if doc is None else "JSON without a status"
        failure = {"error": "http" if reply.status != 200 else "not_json", "status": reply.status}
        failure["reason"] = f"answered HTTP {reply.status} with {what}"
    return None, failure


def _findings(doc: dict, base: str, tried: list[dict]) -> list[Finding]:
    host = _host(base)
    status = doc["status"]
    indicator, description = status.get("indicator"), status.get("description") or ""
    page = (doc.get("page") or {}).get("name") or host
    failed = [f"{t['host']} {t['reason']}" for t in tried if not t.get("ok")]
    via = f" (via {host}; {'; '.join(failed)})" if failed else f" (via {host})"
    overall = Finding(
        "status_page",
        "overall",
        INDICATORS.get(indicator, "unknown"),
        f"{page}: {description or indicator}{via}",
        {
            "indicator": indicator,
            "description": description,
            "page": page,
            "host": base,
            "hosts_tried": tried,
        },
    )
    findings = [overall]
    for comp in _dicts(doc.get("components")):
        state = comp.get("status", "")
        findings.append(
            Finding(
                "status_page",
                comp.get("name", "?"),
                COMPONENTS.get(state, "unknown"),
                f"{comp.get('name', '?')}: {state.replace('_', ' ')}",
                {
                    "component_status": state,
                    "id": comp.get("id"),
                    "group": comp.get("group", False),
                    "host": base,
                },
            )
        )
    for inc in _dicts(doc.get("incidents")):
        findings.append(_event(inc, base, INDICATORS.get(inc.get("impact"), "unknown"), "incident"))
    for mnt in _dicts(doc.get("scheduled_maintenances")):
        if mnt.get("status") in MAINTENANCE_OPEN:
            outcome = "maintenance" if mnt.get("status") in MAINTENANCE_NOW else "ok"
            findings.append(_event(mnt, base, outcome, "maintenance"))
    return findings


def _event(event: dict, base: str, outcome: str, kind: str) -> Finding:
    """An incident or a maintenance: name, status, impact and its latest update."""
    updates = _dicts(event.get("incident_updates"))
    latest = (updates[0].get("body") or "") if updates else ""  # Statuspage lists newest first
    name, status, impact = event.get("name", "?"), event.get("status"), event.get("impact")
    if kind == "maintenance":
        window = f"{_when(event.get('scheduled_for'))} to {_when(event.get('scheduled_until'))}"
        text = f"maintenance '{name}' ({str(status).replace('_', ' ')}, {window})"
    else:
        text = f"incident '{name}' ({status}, impact {impact})"
    data = {
        "kind": kind,
        "id": event.get("id"),
        "status": status,
        "impact": impact,
        "latest_update": latest,
        "host": base,
    }
    for key in ("started_at", "scheduled_for", "scheduled_until", "shortlink"):
        if event.get(key):
            data[key] = event[key]
    return Finding("status_page", name, outcome, f"{text}: {latest}" if latest else text, data)


def _when(iso: str | None) -> str:
    """'2025-01-28 10:12 +0800' from Statuspage's ISO time; the raw text if it is not one."""
    try:
        return datetime.fromisoformat(iso or "").strftime("%Y-%m-%d %H:%M %z").strip()
    except ValueError:
        return iso or "?"


def _dicts(value) -> list[dict]:
    """The dict items of a JSON list: a malformed page yields fewer findings, not an exception."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _host(base: str) -> str:
    return urlsplit(base).netloc or base
