"""Chat steps: open the site, send a message, wait for the reply, check what is visible."""

from __future__ import annotations

import re

from assistant.errors import StepFailed
from assistant.steps import step
from assistant.timing.retry import DURATION


@step(
    "open",
    summary="Open a page of the site (a path relative to the site URL, or a full URL).",
    example="- open: /",
    shorthand="url",
    schema={
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "Path or URL (default /)."},
            "timeout": {**DURATION, "description": "Page load timeout (default 30s)."},
        },
        "additionalProperties": False,
    },
)
async def open_(ctx, params):
    return await ctx.chat.open(params.get("url", "/"), params.get("timeout", 30.0))


@step(
    "new_chat",
    summary="Start a new conversation with the site's New chat control.",
    example="- new_chat",
)
async def new_chat(ctx, params):
    return await ctx.chat.new_chat()


@step(
    "send",
    summary="Type a message in the composer and send it.",
    example='- send: "Reply with the single word: pong"',
    shorthand="text",
    schema={
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "The message."},
            "timeout": {**DURATION, "description": "How long to wait for the composer (default 10s)."},
        },
        "required": ["text"],
        "additionalProperties": False,
    },
)
async def send(ctx, params):
    return await ctx.chat.send(params["text"], params.get("timeout", 10.0))


@step(
    "expect_reply",
    summary="Wait for the reply to the last message; busy, rate-limited or timed-out replies can be retried.",
    example="- expect_reply: {contains: pong, timeout: 60s, retry: {schedule: [5s, 10s, 30s]}}",
    retryable=True,
    schema={
        "type": "object",
        "properties": {
            "contains": {"type": "string", "description": "Text the reply must contain (case-insensitive)."},
            "matches": {"type": "string", "format": "regex", "description": "A regular expression the reply must match."},
            "timeout": {**DURATION, "description": "How long to wait for one reply (default 60s)."},
        },
        "additionalProperties": False,
    },
)
async def expect_reply(ctx, params):
    return await ctx.chat.expect_reply(
        contains=params.get("contains"),
        matches=params.get("matches"),
        timeout=params.get("timeout", 60.0),
    )


@step(
    "expect_visible",
    summary="Check that an element is visible: a feature named in the site profile, or a selector.",
    example="- expect_visible: image_upload",
    shorthand="target",
    schema={
        "type": "object",
        "properties": {
            "target": {"type": "string", "format": "selector", "description": "A feature name from the site profile, or a Playwright selector."},
            "timeout": {**DURATION, "description": "How long to wait (default 5s)."},
        },
        "required": ["target"],
        "additionalProperties": False,
    },
)
async def expect_visible(ctx, params):
    target, site = params["target"], ctx.chat.site
    if FEATURE_NAME.fullmatch(target) and target not in site.features:  # `image_upload` is no CSS selector
        known = ", ".join(sorted(site.features)) or "none"
        raise StepFailed(f"the site profile {site.name!r} names no feature {target!r} (its features: {known}): "
                         "add it under `features:` in the profile with its selector, or give a CSS selector")
    return await ctx.chat.expect_visible(target, params.get("timeout", 5.0))


FEATURE_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")  # image_upload, new_chat: a feature's name
