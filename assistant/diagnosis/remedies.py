"""What to do, per verdict: concrete, ranked, and for this person and this site."""

from __future__ import annotations

import sys
from typing import Any

from assistant.probes.dnsflush import ADVICE, this_os


def _hard_reload_keys() -> str:
    return "Cmd+Shift+R" if sys.platform == "darwin" else "Ctrl+Shift+R (or Ctrl+F5)"


def remedies_for(category: str, host: str, facts: dict[str, Any]) -> list[str]:
    """Ranked remedies; `facts` carries what the diagnosis measured (waits, routes, names)."""
    quiet = facts.get("quiet")  # "next quiet window 01:00-05:00 UTC, in 3 h (09:00 your time)"
    api = facts.get("api_answered")  # "the API ('api') answered in 1.2 s"
    wait_quiet = [f"Or wait for the quiet hours: {quiet}."] if quiet else []
    table: dict[str, list[str]] = {
        "healthy": [f"The chat answers from here now; if it was busy before, it has recovered. Nothing to change on your side for {host}."],
        "provider_outage": [
            f"The provider itself is overloaded or down ({facts.get('outage_why', 'web and API fail alike')}): nothing on your side will fix it.",
            *([f"Use another route to a model: {facts['fallback']}."] if facts.get("fallback") else []),
            "Wait and try again in a few minutes, backing off 5 s, 10 s, 30 s instead of pressing Regenerate repeatedly.",
            *wait_quiet,
        ],
        "web_outage": [
            f"Use the API instead of the web chat: {api}." if api else "Use the API instead of the web chat: it answers while the web chat does not.",
            f"The web chat at {host} is what is failing; try it again later.",
            *wait_quiet,
        ],
        "rate_limited": [
            f"Wait {facts['retry_after']:g} s before sending again (the server said so with Retry-After)." if facts.get("retry_after") is not None else "Wait a minute before sending again: the server is limiting how often you send.",
            "Do not press Regenerate repeatedly: each press counts against the limit (an SDK-based client may retry on its own as well).",
        ],
        "transient_overload": [
            f"It recovered at attempt {facts.get('attempt')} after waiting {facts.get('waited', '?')}: when it is busy, wait 5 s, 10 s, then 30 s before asking again, instead of hammering Regenerate.",
            *wait_quiet,
        ],
        "session_context": [
            "Start a new chat: this conversation is what the server refuses (long conversations get busy first). Paste a short summary of the old one into the new chat if you need its context.",
        ],
        "stale_cache": [
            f"Hard-reload the page with {_hard_reload_keys()}, or clear cached images and files for {host}: your browser keeps an outdated copy of the site's code.",
            "Cookies and sign-in do not need clearing for this.",
        ],
        "cookies": [
            f"Clear the cookies for {host} (site settings, or the lock icon in the address bar > Cookies), then reload. Clearing cookies alone keeps you signed in here: the sign-in lives in localStorage.",
        ],
        "extension": [
            *(f"Disable '{c['name']}' (id {c['id']}) for {host}, or turn it off while you use the chat." for c in facts.get("culprits", [])),
            "Or use a browser profile without it (a private window usually runs without extensions).",
        ],
        "dns": [
            f"Your DNS cannot resolve {facts.get('dns_host', host)}: flush the DNS cache ({ADVICE[this_os()]}), or switch to another resolver (1.1.1.1 or 8.8.8.8).",
            "Check that no hosts-file entry or filtering DNS blocks the site.",
        ],
        "streams_blocked": [
            "Something on your network path buffers or drops streaming replies (server-sent events or WebSockets) while ordinary pages load: a proxy, a VPN, a firewall or antivirus HTTPS scanning.",
            "Try another network (a phone hotspot), or turn off the proxy, VPN or HTTPS scanning for this site.",
        ],
        "network_route": [
            f"Use the route '{facts.get('route')}': the chat works through it and not through your usual path (switching region or VPN endpoint is a real remedy here).",
        ],
        "feature_missing": [
            f"The chat answers, but {', '.join(facts.get('missing', [])) or 'a feature'} is gone: the provider has only partly recovered. Check the status page and try the feature again later.",
        ],
        "profile_mismatch": [
            f"Run `assistant probe-site {facts.get('url', host)} --save site.yaml`: it learns this chat's composer, send control and reply by using it once and drafts a site profile that fits; then `assistant diagnose ./site.yaml`.",
            "Nothing was concluded about the chat itself: the tool could not drive the page.",
        ],
        "inconclusive": [
            *(["The page crashed in the browser (its renderer died: out of memory, or killed): that says nothing about the chat. Close other heavy tabs or programs and run the diagnosis again."] if facts.get("crashed") else []),
            *([f"Set {facts['api_key_env']} to an API key so the next run can compare the web chat with the API."] if facts.get("api_key_env") else []),
            "Try again later and compare; if the status page reports nothing, capacity limits often never reach it.",
            *wait_quiet,
        ],
    }
    return table[category]
