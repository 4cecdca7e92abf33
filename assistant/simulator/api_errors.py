"""The API's error answers: DeepSeek's documented statuses and bodies, and one foreign overload."""

from __future__ import annotations

import uuid

from aiohttp import web

from assistant.simulator import texts, wire
from assistant.simulator.settings import API_STATUSES

# status -> (message, type, code) in DeepSeek's OpenAI-shaped body. The messages are the
# documented error names; 401 and 402 bodies are copied whole from captures, the other
# type/code fields follow OpenAI's usage (not documented by DeepSeek).
API_ERRORS = {
    400: (texts.API_INVALID_FORMAT, "invalid_request_error", "invalid_request_error"),
    401: (texts.API_AUTH_FAILED, "authentication_error", "invalid_request_error"),
    402: ("Insufficient Balance", "unknown_error", "invalid_request_error"),
    422: ("Invalid Parameters", "invalid_request_error", "invalid_request_error"),
    429: (texts.API_RATE_LIMITED, "rate_limit_error", "rate_limit_exceeded"),
    500: ("Server Error", "server_error", "server_error"),
    503: (texts.API_OVERLOADED, "server_error", "server_overloaded"),
}
# 529 is Anthropic's overload, in its own shape: what a fallback provider may answer.
OVERLOADED_529 = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
assert set(API_ERRORS) | {529} == set(API_STATUSES)


def response(status: int, retry_after: str | None = None) -> web.Response:
    """The error body for `status`; a 429 carries Retry-After when one is set."""
    if status == 529:
        body = {**OVERLOADED_529, "request_id": f"req_sim{uuid.uuid4().hex[:20]}"}
        return wire.json_response(body, status=529)
    message, type_, code = API_ERRORS[status]
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    headers = {"Retry-After": retry_after} if status == 429 and retry_after else None
    return wire.json_response(body, status=status, headers=headers)
