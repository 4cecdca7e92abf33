"""From evidence to a verdict: the rules, kept apart from the experiments that gather it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.diagnosis.model import Verdict
from assistant.diagnosis.remedies import remedies_for

if TYPE_CHECKING:
    from assistant.diagnosis.engine import Diagnoser
    from assistant.experiments.trial import Result

OVERLOAD = ("busy", "rate_limited", "queued", "down", "timeout")


def _facts(d: Diagnoser, **more) -> dict:
    facts = {"host": d.host, **more}
    quiet = next((f for f in d.findings if f.probe == "windows" and f.subject == "quiet window" and f.outcome != "ok"), None)
    if quiet:
        facts["quiet"] = quiet.summary
    answered = [f for f in d.findings if f.probe == "api" and f.subject != "routes" and f.outcome == "ok"]
    if answered:
        f = answered[0]
        took = f.data.get("total_s") or f.data.get("first_token_s") or f.data.get("probe_s")
        facts["api_answered"] = f"the API ('{f.subject}') answered" + (f" in {_seconds(took)}" if took else "")
        if f.subject != "api":
            facts["fallback"] = f"'{f.subject}' answered"
    unknown = next((f for f in d.findings if f.probe == "api" and f.outcome == "unknown"), None)
    if unknown and d.site.api and d.site.api.key_env:
        facts["api_key_env"] = d.site.api.key_env
    return facts


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def verdict(d: Diagnoser, category: str, why: str, **facts) -> Verdict:
    """A verdict with remedies for this person, and the plain note about green status pages."""
    result = Verdict(category, why, remedies=remedies_for(category, d.host, _facts(d, **facts)))
    # Not on the verdicts that say it is your side (a cookie, a cache, the conversation, an extension).
    yours = ("cookies", "stale_cache", "session_context", "extension")
    if category not in ("healthy", "feature_missing", "profile_mismatch", *yours) and not facts.get("crashed") and _status_green(d):
        result.notes.append(
            "The status page says all systems are operational, yet the chat fails: capacity "
            "limits often never reach a status page, so a green page does not mean it is you."
        )
    return result


def _status_green(d: Diagnoser) -> bool:
    return any(f.probe == "status_page" and f.data.get("indicator") == "none" for f in d.findings)


def answered(d: Diagnoser, missing: list[str]) -> Verdict:
    if missing:
        d.note("feature audit", f"missing: {', '.join(missing)}", "missing")
        result = verdict(d, "feature_missing", f"the chat answers, but {', '.join(missing)} is gone", missing=missing)
        result.missing_features = missing
        return result
    return verdict(d, "healthy", "the chat answers from your setup")


def from_outside(d: Diagnoser, first: Result, findings: list) -> Verdict | None:
    """Verdicts that need no experiment: the evidence already decides."""
    if first.phase == "open":
        failed_dns = [f for f in findings if f.probe == "dns" and f.subject == d.host and f.outcome != "ok"]
        if failed_dns:
            kind = failed_dns[0].data.get("kind", "no answer")
            d.note("probe dns", failed_dns[0].summary, "error")
            return verdict(d, "dns", f"{d.host} does not resolve here ({kind})", dns_host=d.host)
        return None
    if first.outcome == "rate_limited":
        retry_after = first.attempt.signal.retry_after
        return verdict(d, "rate_limited", f"the server limits how often you send ({first.attempt.signal.summary})", retry_after=retry_after)
    blocked = [f for f in findings if f.probe == "streams" and f.outcome in ("down", "degraded")]
    if blocked:
        d.note("probe streams", blocked[0].summary, blocked[0].outcome)
        return verdict(d, "streams_blocked", f"streaming replies do not get through this path: {blocked[0].summary}")
    outage = [f for f in findings if f.probe == "status_page" and f.outcome == "down"]
    if outage:
        d.note("probe status_page", outage[0].summary, "down")
        return verdict(d, "provider_outage", f"the status page reports an outage: {outage[0].summary}", outage_why=outage[0].summary)
    return None


def transient(d: Diagnoser, recovered: tuple[int, list[float]]) -> Verdict:
    attempt, waits = recovered
    waited = " + ".join(f"{w:g}" for w in waits) + " s"
    result = verdict(d, "transient_overload", f"it recovered at attempt {attempt} after waiting {waited}, with nothing changed", attempt=attempt, waited=waited)
    result.recovered_at = attempt
    return result


def api_fails_alike(d: Diagnoser, findings: list) -> bool:
    """The API, outside the browser, is overloaded too: no browser change can be the cause."""
    main = [f for f in findings if f.probe == "api" and f.subject != "routes"]
    return bool(main) and all(f.outcome in OVERLOAD for f in main)


def no_flip(d: Diagnoser, findings: list, unreachable: bool = False) -> Verdict:
    """Nothing in the browser changed the outcome: the API and status page decide, if they can."""
    api = [f for f in findings if f.probe == "api" and f.subject != "routes"]
    if any(f.outcome == "ok" for f in api) and not unreachable:
        ok = next(f for f in api if f.outcome == "ok")
        d.note("probe api", ok.summary, "ok")
        return verdict(d, "web_outage", "the web chat fails while the API answers")
    if api and all(f.outcome in OVERLOAD for f in api):
        d.note("probe api", api[0].summary, api[0].outcome)
        return verdict(d, "provider_outage", "the web chat and the API both fail", outage_why=f"the API: {api[0].summary}")
    what = "the chat cannot be reached" if unreachable else "the chat keeps failing"
    return verdict(d, "inconclusive", f"{what}, and nothing tried changed that: {'; '.join(d.tried) or 'no experiment applied'}")


def extension(d: Diagnoser, found) -> Verdict:
    from assistant.experiments.extensions import listed

    culprits = [listed(e) for e in found.culprits]
    names = " and ".join(f"'{c['name']}'" for c in culprits)
    d.note("bisection", f"{names} in {found.launches} launches", "extension", culprits=culprits)
    result = verdict(d, "extension", f"{names} break{'s' if len(culprits) == 1 else ''} the chat", culprits=culprits)
    result.culprit = culprits
    return result


def unfit(d: Diagnoser, why: str) -> Verdict:
    """The site profile cannot drive the page: a verdict of its own, at once (backing off cannot help)."""
    return verdict(d, "profile_mismatch", why, url=d.site.url)  # the failed step's note already says why


def crashed(d: Diagnoser, where: str) -> Verdict:
    """The page crashed in the browser: nothing can be said of the chat from this run."""
    d.note("browser", f"the page crashed in {where} (its renderer process died)", "error")
    return verdict(d, "inconclusive", f"the page crashed in {where} (its renderer process died: out of memory, or killed), "
                   "so nothing can be said of the chat from this run", crashed=True)
