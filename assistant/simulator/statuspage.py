"""A Statuspage-style status API (Atlassian public API v2 shapes), green unless told otherwise.

Busy scenarios leave it green on purpose: capacity errors rarely reach a real status
page, and the diagnosis must cope with "status page green, chat busy". The `status`
setting (none | minor | major | critical) turns it amber or red with one open incident.
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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/status.json", status)
    app.router.add_get("/api/v2/summary.json", summary)
    app.router.add_get("/api/v2/components.json", components)
    app.router.add_get("/api/v2/incidents/unresolved.json", unresolved)


def _now() -> str:
    # Statuspage writes local time with offset and milliseconds: 2025-01-28T10:12:31.123+08:00
    return datetime.now(SHANGHAI).isoformat(timespec="milliseconds")


def _page(request: web.Request, updated_at: str) -> dict:
    return {
        "id": PAGE_ID,
        "name": "Simulated Chat Service",
        "url": str(request.url.origin()),
        "time_zone": "Asia/Shanghai",
        "updated_at": updated_at,
    }


def _parts(request: web.Request) -> dict:
    """Everything summary.json holds, built from the current `status` setting."""
    indicator = request.app[STATE].settings.status
    description, component_status = STATUS_LEVELS[indicator]
    now = _now()
    comps = [
        {
            "id": cid,
            "name": name,
            "status": component_status,
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
    incidents = [] if indicator == "none" else [_incident(indicator, comps, now)]
    return {
        "page": _page(request, now),
        "components": comps,
        "incidents": incidents,
        "scheduled_maintenances": [],
        "status": {"indicator": indicator, "description": description},
    }


def _incident(impact: str, comps: list[dict], now: str) -> dict:
    body = "We are investigating degraded performance of the service."
    return {
        "id": "sim0incident",
        "name": "Degraded performance",
        "status": "investigating",
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
                "id": "sim0update01",
                "status": "investigating",
                "body": body,
                "incident_id": "sim0incident",
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
