"""The API probe: does the provider's OpenAI-compatible API answer, and do the fallback routes?

A one-token completion costs next to nothing and says what the web chat hides: the HTTP
status (503 overloaded, 429 rate limited, 402 no balance), a request held in the queue,
and how long the first token takes. The key is read from the environment at the moment
of the request, sent only in its Authorization header, and masked in anything a server
or an exception echoes back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from assistant.playbook.model import ApiSpec, SiteProfile
from assistant.probes import Finding, ProbeContext, api_errors, completion, http
from assistant.probes.api_errors import VERBS

log = logging.getLogger(__name__)

MIN_SCRUB = 6  # shorter "keys" are placeholders; replacing them would garble every summary


async def probe_api(site: SiteProfile, ctx: ProbeContext, *, stream: bool = True) -> list[Finding]:
    """The site's API and each fallback, probed concurrently; a `routes` finding when several."""
    routes = [("main", site.api)] if site.api else []
    routes += [("fallback", spec) for spec in site.api_fallbacks]
    if not routes:
        return [Finding("api", site.name, "unknown", "no API configured for this site")]
    async with http.session(ctx) as client:
        jobs = (_route(client, spec, role, ctx, stream) for role, spec in routes)
        findings = list(await asyncio.gather(*jobs))
    if len(findings) > 1:
        findings.append(_routes(findings))
    return findings


async def _route(client, spec: ApiSpec, role: str, ctx: ProbeContext, stream: bool) -> Finding:
    env = os.environ if ctx.env is None else ctx.env
    key = env.get(spec.key_env) if spec.key_env else None
    data = {
        "route": role,
        "base": spec.base,
        "model": spec.model,
        "stream": stream,
        "key_env": spec.key_env,
    }
    if spec.key_env and not key:
        what = f"was not probed: set the environment variable {spec.key_env} to its API key"
        return _finding(spec, "unknown", what, data)
    started = time.monotonic()
    try:
        finding = await _probe(client, spec, key, ctx, stream, data)
    except Exception as exc:  # a failed connection is a finding; so is anything else, scrubbed
        kind = http.failure_kind(exc)
        data.update(
            error=kind, detail=http.failure_detail(exc), total_s=_round(time.monotonic() - started)
        )
        if kind == "timeout":
            finding = _finding(spec, "timeout", f"did not answer within {ctx.timeout:g} s", data)
        else:
            finding = _finding(spec, "error", f"failed: {http.FAILURES[kind]} ({spec.base})", data)
    finding = _scrubbed(finding, key)
    log.debug("api %s: %s", spec.name, finding.summary)
    return finding


async def _probe(
    client, spec: ApiSpec, key, ctx: ProbeContext, stream: bool, data: dict
) -> Finding:
    deadline = http.Deadline(ctx.timeout)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    base = spec.base.rstrip("/")
    models = await http.fetch(
        client, "GET", f"{base}/models", seconds=deadline.left(), proxy=ctx.proxy, headers=headers
    )
    data.update(models_status=models.status, models_s=_round(models.total_s))
    if models.status in (401, 403):  # a refused key fails the completion too: spare the request
        return _error(spec, models, data)
    listed = _model_ids(models.json())
    model = spec.model or (listed[0] if listed else None)
    if model is None:
        return _finding(
            spec, "unknown", "has no model to ask: set `model:` for it in the site profile", data
        )
    data.update(model=model, model_listed=(model in listed) if listed else None)
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
        "stream": stream,
    }
    reading = completion.Reading(time.monotonic())
    async with client.post(
        f"{base}/chat/completions",
        json=body,
        headers=headers,
        proxy=ctx.proxy,
        timeout=http.timeout(deadline.left()),
    ) as resp:
        if resp.status != 200:
            ttfb = reading.now()
            text = await resp.text(errors="replace")
            return _error(
                spec, http.Reply(resp.status, resp.headers, text, ttfb, reading.now()), data
            )
        await completion.read(resp, reading, stream)
    outcome, what = completion.verdict(reading)
    data.update(
        status=200,
        finish_reason=reading.finish_reason,
        heartbeats=reading.heartbeats,
        chunks=reading.chunks,
    )
    data.update(
        ttfb_s=_round(reading.ttfb_s), ttft_s=_round(reading.ttft_s), total_s=_round(reading.now())
    )
    return _finding(spec, outcome, what, data)


def _error(spec: ApiSpec, reply: http.Reply, data: dict) -> Finding:
    outcome, what, details = api_errors.describe(reply, spec.key_env, data.get("model"))
    return _finding(spec, outcome, what, {**data, **details})


def _finding(spec: ApiSpec, outcome: str, what: str, data: dict) -> Finding:
    return Finding("api", spec.name, outcome, f"'{spec.name}' {what}", data)


def _model_ids(doc) -> list[str]:
    """Model ids from an OpenAI-shaped /models answer, [] from anything else."""
    items = doc.get("data") if isinstance(doc, dict) else None
    return (
        [m["id"] for m in items if isinstance(m, dict) and m.get("id")]
        if isinstance(items, list)
        else []
    )


def _routes(findings: list[Finding]) -> Finding:
    """Which routes answered, fastest first, then what the others did."""
    answered = sorted(
        (f for f in findings if f.outcome == "ok"), key=lambda f: f.data.get("total_s") or 0
    )
    parts = [f"{_label(f)} answered in {f.data.get('total_s') or 0:.1f} s" for f in answered]
    parts += [
        f"{_label(f)} {VERBS.get(f.outcome, f.outcome)}" for f in findings if f.outcome != "ok"
    ]
    routes = [
        {"name": f.subject, "route": f.data.get("route"), "outcome": f.outcome} for f in findings
    ]
    outcome = "ok" if answered else findings[0].outcome
    return Finding(
        "api",
        "routes",
        outcome,
        "; ".join(parts),
        {"answered": [f.subject for f in answered], "routes": routes},
    )


def _label(f: Finding) -> str:
    return f"fallback '{f.subject}'" if f.data.get("route") == "fallback" else f"'{f.subject}'"


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _scrubbed(finding: Finding, key: str | None) -> Finding:
    """The finding with the key masked wherever a server or an exception echoed it back."""
    if not key or len(key) < MIN_SCRUB:
        return finding

    def clean(value):
        if isinstance(value, str):
            return value.replace(key, "***")
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(clean(v) for v in value)
        return value

    return Finding(
        finding.probe, finding.subject, finding.outcome, clean(finding.summary), clean(finding.data)
    )
