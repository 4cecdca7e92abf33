"""The step registry: every playbook step registers here with its parameter schema.

Validation, `assistant steps` and the JSON Schema all read this registry, so the
schema and the code that runs a step cannot drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

EMPTY_SCHEMA: dict = {"type": "object", "properties": {}, "additionalProperties": False}

# Keys every step's mapping may carry besides its own parameters.
COMMON_KEYS: dict[str, dict] = {
    "optional": {"type": "boolean", "description": "A failure is recorded but neither stops nor fails the run."},
    "when": {
        "type": "string",
        "minLength": 1,
        "description": "Run the step only if this holds, else skip it: e.g. previous.outcome == 'tolerated', "
        "steps.2.result in ['busy', 'timeout'], vars.mode == 'full', failed, not passed.",
    },
}


@dataclass(frozen=True)
class StepDef:
    """A registered step: its name, schema, and the coroutine that runs it."""

    name: str
    summary: str
    schema: dict
    example: str
    run: Callable[..., Awaitable[Any]]
    shorthand: str | None = None  # the parameter a scalar value (`open: /`) fills
    retryable: bool = False  # accepts a `retry:` policy


REGISTRY: dict[str, StepDef] = {}

_MODULES = ("assistant.steps.chat", "assistant.steps.page", "assistant.steps.misc", "assistant.steps.state", "assistant.steps.experiments", "assistant.steps.diagnose")


def step(
    name: str,
    *,
    summary: str,
    example: str,
    schema: dict | None = None,
    shorthand: str | None = None,
    retryable: bool = False,
):
    """Register the decorated coroutine `run(ctx, params)` as step `name`."""

    def register(fn):
        if name in REGISTRY:
            raise RuntimeError(f"step {name!r} registered twice")
        REGISTRY[name] = StepDef(
            name=name,
            summary=summary,
            schema=schema if schema is not None else EMPTY_SCHEMA,
            example=example,
            run=fn,
            shorthand=shorthand,
            retryable=retryable,
        )
        return fn

    return register


def registry() -> dict[str, StepDef]:
    """All steps, with every step module imported."""
    for module in _MODULES:
        importlib.import_module(module)
    return REGISTRY
