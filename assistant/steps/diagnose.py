"""The diagnose step: the differential diagnosis inside a playbook run."""

from __future__ import annotations

from assistant.steps import step
from assistant.timing.retry import DURATION


@step(
    "diagnose",
    summary="Reproduce the failure, run the outside probes, change one thing at a time, and give a verdict; fails unless healthy.",
    example="- diagnose: {turns: 3}",
    schema={
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "description": "The message of the check (default: 'Reply with the single word: pong')."},
            "contains": {"type": "string", "description": "What a working reply contains (default: pong)."},
            "turns": {"type": "integer", "minimum": 1, "maximum": 10, "description": "Messages in one conversation (default 1)."},
            "timeout": {**DURATION, "description": "How long one reply may take (default 60s)."},
        },
        "additionalProperties": False,
    },
)
async def diagnose(ctx, params):
    return await ctx.runner.diagnose(params)
