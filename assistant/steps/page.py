"""Steps on the page's own controls, for what a person does before chatting: close a
"What's new" dialog or a cookie banner, fill a field, press a key."""

from __future__ import annotations

from assistant.steps import step
from assistant.timing.retry import DURATION

_TARGET = {
    "selector": {"type": "string", "minLength": 1, "format": "selector", "description": "A Playwright selector (CSS, text=..., role=...)."},
    "role": {"type": "string", "minLength": 1, "description": "An ARIA role (button, link, checkbox, ...), with `text` its accessible name."},
    "text": {"type": "string", "minLength": 1, "description": "The visible text (or, with `role`, the accessible name)."},
    "timeout": {**DURATION, "description": "How long the control may take to show and be enabled (default 10s)."},
}
_ONE_OF = [{"required": ["selector"]}, {"required": ["role"]}, {"required": ["text"]}]


def _how(params: dict, needed: bool = True) -> tuple[str, dict]:
    how = {k: params.get(k) for k in ("selector", "role", "text")}
    if needed and not any(how.values()):
        from assistant.errors import StepFailed

        raise StepFailed("say which control: give a selector, a role (with text for its name) or a visible text")
    where = params.get("selector") or " ".join(f"{k}={v!r}" for k, v in how.items() if v)
    return where, how


@step(
    "click",
    summary="Click a control of the page: a selector, or a role and its name, or a visible text.",
    example='- click: {role: button, text: "Got it"}',
    shorthand="text",
    schema={"type": "object", "properties": dict(_TARGET), "anyOf": _ONE_OF, "additionalProperties": False},
)
async def click(ctx, params):
    where, how = _how(params)
    return await ctx.chat.click(where, params.get("timeout", 10.0), **how)


@step(
    "fill",
    summary="Type a value into a field of the page (not the chat's composer: that is `send`).",
    example='- fill: {selector: "input[name=email]", value: "${env:CHAT_USER}"}',
    schema={
        "type": "object",
        "properties": {**_TARGET, "value": {"type": "string", "description": "What to type."}},
        "required": ["value"],
        "anyOf": _ONE_OF,
        "additionalProperties": False,
    },
)
async def fill(ctx, params):
    where, how = _how(params)
    return await ctx.chat.fill(where, params["value"], params.get("timeout", 10.0), **how)


@step(
    "press",
    summary="Press a key (Escape, Enter, Tab, ...), in a control when one is named, else on the page.",
    example="- press: Escape",
    shorthand="key",
    schema={
        "type": "object",
        "properties": {**_TARGET, "key": {"type": "string", "minLength": 1, "description": "A key name as Playwright spells it."}},
        "required": ["key"],
        "additionalProperties": False,
    },
)
async def press(ctx, params):
    where, how = _how(params, needed=False)
    return await ctx.chat.press(where or None, params["key"], params.get("timeout", 10.0), **how)
