"""Steps that do not talk to the chat: waiting and screenshots."""

from __future__ import annotations

from assistant.steps import step
from assistant.timing.retry import DURATION


@step(
    "wait",
    summary="Wait a while (through the clock, so --time-scale applies).",
    example="- wait: 5s",
    shorthand="duration",
    schema={
        "type": "object",
        "properties": {"duration": {**DURATION, "description": "How long."}},
        "required": ["duration"],
        "additionalProperties": False,
    },
)
async def wait(ctx, params):
    return await ctx.wait(params["duration"], reason="wait step")


@step(
    "screenshot",
    summary="Save a screenshot of the page into the run's artifact folder.",
    example="- screenshot: after-reply",
    shorthand="name",
    schema={
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "File name without extension (default step-N)."},
            "full_page": {"type": "boolean", "description": "The whole scrollable page (default false)."},
        },
        "additionalProperties": False,
    },
)
async def screenshot(ctx, params):
    return await ctx.screenshot(params.get("name"), params.get("full_page", False))
