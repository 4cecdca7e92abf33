"""A Statuspage-style status API (Atlassian public API v2 shapes), green unless told otherwise.

Busy scenarios leave it green on purpose: capacity errors rarely reach a real status
page, and the diagnosis must cope with "status page green, chat busy". The `status`
setting (none | minor | major | critical) turns it amber or red with one open incident;
`component_*`, `incident*` and `maintenance*` stage each part on its own, and
`status_fault` makes the page fail the ways a real one does (a Cloudflare challenge, a
missing summary.json).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiohttp import web

from assistant.simulator import wire
from assistant.simulator.settings import STATUS_LEVELS
from assistant.simulator.web import STATE

PAGE_ID = "sim0status0p"
SHANGHAI = timezone(timedelta(hours=8))
COMPONENTS = (
    ("sim0api0comp", "API 服务 (API Service)"),
    ("sim0web0comp", "网页对话服务 (Web Chat Service)"),
)


# What Cloudflare serves a client it wants to challenge: HTML where JSON was expected.
CHALLENGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="360"></head><body><noscript>Enable JavaScript and '
    "cookies to continue</noscript></body></html>"
)
# Statuspage's own template texts for each unresolved incident status.
UPDATE_TEXTS = {
    "investigating": "We are currently investigating this issue.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
}

MAINTENANCE_TEXTS = {
    True: "Maintenance is scheduled; the service may be briefly unavailable.",
    False: "The scheduled maintenance is in progress.",
}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/status.json", _faulty(status))
    app.router.add_get("/api/v2/summary.json", _faulty(summary))
    app.router.add_get("/api/v2/components.json", _faulty(components))
    app.router.add_get("/api/v2/incidents/unresolved.json", _faulty(unresolved))


def _faulty(handler):
    """`handler`, unless the `status_fault` setting says this request fails instead."""

    async def handle(request: web.Request) -> web.Response:
        fault = request.app[STATE].settings.status_fault
        if fault == "cloudflare":
            headers = {"Server": "cloudflare", "cf-mitigated": "challenge"}
            return web.Response(
                text=CHALLENGE, status=403, content_type="text/html", headers=headers
            )
        if fault == "no-summary" and handler is summary:
            raise web.HTTPNotFound()
        return await handler(request)

    return handle


def _now(offset: float = 0.0) -> str:
    # Statuspage writes local time with offset and milliseconds: 2025-01-28T10:12:31.123+08:00
    when = datetime.now(SHANGHAI) + timedelta(hours=offset)
    return when.isoformat(timespec="milliseconds")


def _page(request: web.Request, updated_at: str) -> dict:
    return {
        "id": PAGE_ID,
        "name": "Simulated Chat Service",
        "url": str(request.url.origin()),
        "time_zone": "Asia/Shanghai",
        "updated_at": updated_at,
    }


def _parts(request: web.Request) -> dict:
    """Everything summary.json holds, built from the current settings."""
    s = request.app[STATE].settings
    indicator = s.status
    description, level_status = STATUS_LEVELS[indicator]
    staged = {"sim0api0comp": s.component_api, "sim0web0comp": s.component_web}
    now = _now()
    comps = [
        {
            "id": cid,
            "name": name,
            "status": staged[cid] or level_status,
            "created_at": "2024-01-01T00:00:00.000+08:00",
            "updated_at": now,
            "position": i,
            "description": None,
            "showcase": True,
            "start_date": None,
            "group_id": None,
            "page_id": PAGE_ID,
            "group": False,
            "only_show_if_degraded": False,
        }
        for i, (cid, name) in enumerate(COMPONENTS, start=1)
    ]
    incidents = []
    if s.incident:
        incidents = [_incident(s.incident, s.incident_impact, s.incident_status, comps, now)]
    elif indicator != "none":
        incidents = [_incident("Degraded performance", indicator, "investigating", comps, now)]
    maintenances = (
        [_maintenance(s.maintenance, s.maintenance_status, comps)] if s.maintenance else []
    )
    return {
        "page": _page(request, now),
        "components": comps,
        "incidents": incidents,
        "scheduled_maintenances": maintenances,
        "status": {"indicator": indicator, "description": description},
    }


def _incident(name: str, impact: str, status_: str, comps: list[dict], now: str) -> dict:
    return _event("sim0incident", name, status_, impact, comps, now, UPDATE_TEXTS[status_])


def _maintenance(name: str, status_: str, comps: list[dict]) -> dict:
    # In progress: began half an hour ago; scheduled: starts in two hours. Both last two hours.
    scheduled = status_ == "scheduled"
    start = 2.0 if scheduled else -0.5
    body = MAINTENANCE_TEXTS[scheduled]
    event = _event("sim0maintain", name, status_, "maintenance", comps, _now(), body)
    return {**event, "scheduled_for": _now(start), "scheduled_until": _now(start + 2)}


def _event(ident, name, status_, impact, comps, now, body) -> dict:
    """An incident or a maintenance: they share Statuspage's shape."""
    return {
        "id": ident,
        "name": name,
        "status": status_,
        "impact": impact,
        "created_at": now,
        "updated_at": now,
        "monitoring_at": None,
        "resolved_at": None,
        "shortlink": "",
        "started_at": now,
        "page_id": PAGE_ID,
        "incident_updates": [
            {
                "id": f"{ident}u1",
                "status": status_,
                "body": body,
                "incident_id": ident,
                "created_at": now,
                "updated_at": now,
                "display_at": now,
                "affected_components": None,
            }
        ],
        "components": comps,
    }


async def status(request: web.Request) -> web.Response:
    parts = _parts(request)
    return wire.json_response({"page": parts["page"], "status": parts["status"]})


async def summary(request: web.Request) -> web.Response:
    return wire.json_response(_parts(request))


async def components(request: web.Request) -> web.Response:
    parts = _parts(request)
    return wire.json_response({"page": parts["page"], "components": parts["components"]})


async def unresolved(request: web.Request) -> web.Response:
    parts = _parts(request)
    return wire.json_response({"page": parts["page"], "incidents": parts["incidents"]})
