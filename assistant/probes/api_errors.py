"""What an API's error answer means: the outcome for its HTTP status, its message, what to do."""

from __future__ import annotations

from assistant.probes import http
from assistant.timing.retry import parse_retry_after

# status -> (outcome, what DeepSeek's documentation calls it); others fall back by class.
ERRORS = {
    400: ("error", "invalid format"),
    401: ("error", "authentication fails"),
    402: ("error", "insufficient balance"),
    403: ("error", "forbidden"),
    404: ("error", "not found"),
    408: ("timeout", "request timeout"),
    422: ("error", "invalid parameters"),
    429: ("rate_limited", "rate limit reached"),
    500: ("error", "server error"),
    503: ("busy", "server overloaded"),
    529: ("busy", "overloaded"),  # Anthropic's overload, met on fallback routes
}
HINTS = {
    400: "check the base URL and the model",
    401: "check the key in ${env}",
    402: "top up the account's balance",
    404: "check the base URL",
    422: "check the model name '{model}'",
}
# outcome -> how a route's state reads after its name
VERBS = {
    "ok": "answered",
    "busy": "is busy",
    "rate_limited": "is rate limited",
    "queued": "is queued",
    "timeout": "timed out",
    "error": "failed",
    "unknown": "was not probed",
}


def describe(reply: http.Reply, key_env: str | None, model: str | None) -> tuple[str, str, dict]:
    """(outcome, what happened, data) for a non-200 reply; `what` reads after the route's name."""
    status = reply.status
    outcome, meaning = ERRORS.get(
        status, ("error", "server error" if status >= 500 else "client error")
    )
    doc = reply.json()
    err = doc.get("error") if isinstance(doc, dict) else None
    # OpenAI and Anthropic nest {"error": {"message": ...}}; some gateways send a bare string.
    message = err.get("message") if isinstance(err, dict) else err if isinstance(err, str) else None
    if doc is None:
        message = reply.not_json()
    what = f"{VERBS[outcome]}: HTTP {status} {meaning}"
    if message and str(message).lower() != meaning:  # "Server Overloaded" twice says nothing new
        what += f" ({message})"
    data = {
        "status": status,
        "error_message": message,
        "ttfb_s": round(reply.ttfb_s, 3),
        "total_s": round(reply.total_s, 3),
    }
    if isinstance(err, dict):
        data.update(error_type=err.get("type"), error_code=err.get("code"))
    if status == 429:
        data["retry_after_s"] = wait = _retry_after(reply.headers)
        what += (
            f"; the server asks to wait {wait:g} s"
            if wait is not None
            else "; no Retry-After header"
        )
    hint = HINTS.get(status, "")
    if status == 401 and not key_env:
        hint = "the API wants a key: set key_env for it in the site profile"
    if hint:
        what += "; " + hint.replace("{env}", str(key_env)).replace("{model}", str(model))
    return outcome, what, data


def _retry_after(headers) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date), else OpenAI's retry-after-ms."""
    wait = parse_retry_after(headers.get("Retry-After"))
    if wait is None and headers.get("retry-after-ms"):
        ms = parse_retry_after(headers["retry-after-ms"])
        wait = None if ms is None else ms / 1000
    return wait
