"""Browser-state steps: clear site data, reload soft or hard."""

from __future__ import annotations

from assistant.playbook.model import CLEARABLE
from assistant.steps import step
from assistant.timing.retry import DURATION

_WHAT = [*CLEARABLE, "all"]


@step(
    "clear",
    summary="Clear cookies, cache or storage for the site's origin (or every site); reports what went and what stayed.",
    example="- clear: [cookies, local_storage]",
    shorthand="what",
    schema={
        "type": "object",
        "properties": {
            "what": {
                "type": ["string", "array"],
                "enum": _WHAT,
                "items": {"type": "string", "enum": _WHAT},
                "minItems": 1,
                "description": f"One or a list of: {', '.join(_WHAT)}.",
            },
            "scope": {"type": "string", "enum": ["site", "all"], "description": "The site's origin (default) or every site."},
        },
        "required": ["what"],
        "additionalProperties": False,
    },
)
async def clear(ctx, params):
    from assistant.experiments.hygiene import clear as clear_data

    what = params["what"]
    return await clear_data(ctx.page, ctx.chat.site.url, [what] if isinstance(what, str) else what, params.get("scope", "site"))


@step(
    "reload",
    summary="Reload the page; hard: true bypasses the cache for every resource (a soft reload does not).",
    example="- reload: {hard: true}",
    schema={
        "type": "object",
        "properties": {
            "hard": {"type": "boolean", "description": "Bypass the cache (default false)."},
            "timeout": {**DURATION, "description": "Page load timeout (default 30s)."},
        },
        "additionalProperties": False,
    },
)
async def reload(ctx, params):
    from assistant.experiments.hygiene import reload as reload_page

    text = await reload_page(ctx.page, params.get("hard", False), params.get("timeout", 30.0))
    ctx.chat.turn = None  # the page is new: an earlier message's reply cannot arrive any more
    return text
