"""Experiment steps: clean profile versus extensions, and bisection to the culprit."""

from __future__ import annotations

from assistant.steps import step
from assistant.timing.retry import DURATION

_CHECK = {
    "extensions": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Unpacked extension folders (default: the playbook's browser.extensions)."},
    "prompt": {"type": "string", "description": "The message of the check (default: 'Reply with the single word: pong')."},
    "contains": {"type": "string", "description": "What the reply must contain (default: pong)."},
    "timeout": {**DURATION, "description": "How long one reply may take (default 15s)."},
}


@step(
    "compare",
    summary="Run the check in a clean profile and with the extensions; fails when the outcome differs.",
    example="- compare: {extensions: [ext/dark-reader, ext/adblock]}",
    schema={"type": "object", "properties": _CHECK, "additionalProperties": False},
)
async def compare(ctx, params):
    return await ctx.runner.experiment("compare", params)


@step(
    "bisect_extensions",
    summary="Find the extension(s) that break the chat by launching with halves of them; fails when one does.",
    example="- bisect_extensions: {extensions: [ext/a, ext/b, ext/c, ext/d]}",
    schema={"type": "object", "properties": _CHECK, "additionalProperties": False},
)
async def bisect_extensions(ctx, params):
    return await ctx.runner.experiment("bisect", params)
