"""A draft site profile from a `SiteProbe`, as YAML a person reads, checks and edits.

Written by hand, not by a YAML dumper, so every value can carry a comment saying where
it came from, and the parts only a person can supply (the chat's own busy texts) are
there as commented-out examples to fill in. What the probe could not see is said, not
guessed: the watched keys it leaves out fall back to the generic heuristics.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from assistant.chat import generic
from assistant.discover.probe_site import Found, SiteProbe

BOX_KEYS = ("error_row", "toast", "alert")
_ID_SEGMENT = re.compile(r"[0-9a-f]{8,}(-[0-9a-f]{4,})*|\d+", re.IGNORECASE)


def site_name(url: str) -> str:
    """A short name from the host: chat.deepseek.com -> deepseek; an address stays itself."""
    host = urlsplit(url).hostname or "site"
    if re.fullmatch(r"[\d.]+|[0-9a-f:]+|localhost", host):
        return host
    labels = [label for label in host.split(".") if label not in ("www", "chat", "app")] or host.split(".")
    return labels[-2] if len(labels) >= 2 else labels[0]


def stream_path(path: str) -> str:
    """The stream's path up to its first id-like segment (a conversation id changes per chat)."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if _ID_SEGMENT.fullmatch(segment):
            return "/".join(segments[:i]) + "/"
    return path


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _item(found: Found | None, missing: str) -> list[str]:
    if found is None:
        return [f"    # {missing}"]
    return [f"    - {_q(found.selector):<40}  # {found.how}"]


def render(probe: SiteProbe) -> str:
    """The draft profile's YAML text."""
    parts = urlsplit(probe.url)
    url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    lines = [
        f"# DRAFT site profile for {url}, made by `assistant probe-site`: check every line.",
        f"# It sent {probe.prompt!r} and the chat {_outcome(probe)}.",
        *([f"# Recognised: a {probe.framework} app (by its page markers)."] if probe.framework else []),
        *(f"# Note: {note}." for note in probe.notes),
        "# Use it with: assistant run PLAYBOOK.yaml --site THIS_FILE",
        f"name: {_q(site_name(probe.url))}",
        f"url: {_q(url)}",
        "",
        "selectors:",
        "  composer:",
        *_item(probe.composer, ""),
        *(["  send:", *_item(probe.send, "")] if probe.send else ["  # send: none found: Enter sends (add the send button when you know it)"]),
    ]
    if probe.reply:
        lines += ["  reply:                                  # CSS: watched inside the page", *_item(probe.reply, "")]
    else:
        lines += ["  # reply: not seen; left out, the generic heuristics find the newest block after a send"]
    if probe.new_chat:
        lines += ["  new_chat:", *_item(probe.new_chat, "")]
        if probe.new_chat.text:
            lines.append(f"    - {_q(f'text={chr(34)}{probe.new_chat.text}{chr(34)}')}")
    else:
        lines += ["  # new_chat: no \"New chat\" / \"Start over\" / \"开启新对话\" control found"]
    lines += ["  # Where chats show errors, generic defaults (assistant/generic.py): narrow them", "  # to this chat's own when you see its busy message. CSS only."]
    for key in BOX_KEYS:
        lines += [f"  {key}:", *(f"    - {_q(css)}" for css in generic.BOX_CSS[key])]
    lines += ["", *_busy_texts(), "", *_stream(probe), *_features(probe)]
    return "\n".join(lines) + "\n"


def _outcome(probe: SiteProbe) -> str:
    if probe.reply:
        return f"{probe.outcome or 'answered'}: {probe.reply.text!r}"
    return "gave no reply it could see" if probe.outcome is None else f"ended {probe.outcome}"


def _busy_texts() -> list[str]:
    return [
        "# busy_texts: this chat's own wording, exact, by outcome. Until you add them the",
        "# generic overload vocabulary (English, Chinese) decides. Copy them from the page",
        "# the next time it says it is busy, e.g.:",
        "# busy_texts:",
        "#   busy: ['Server busy, please try again later.']",
        "#   rate_limited: ['You are sending messages too frequently.']",
        "#   error: ['Something went wrong. Please try again.']",
    ]


def _stream(probe: SiteProbe) -> list[str]:
    if probe.socket:
        return [f"# stream: the replies came over a WebSocket ({probe.socket}), not an HTTP stream:",
                "# the page decides each attempt (the reply, error rows, toasts), and the report says so."]
    if probe.stream:
        s = probe.stream
        return ["stream:", f"  paths: [{_q(stream_path(s['path']))}]            # {s['method']} {s['path']}, {s['content_type']}, HTTP {s['status']}", "  kind: sse"]
    lines = ["# stream: no text/event-stream seen; without paths the stream is guessed on each run."]
    lines += [f"#   seen: {r['method']} {r['path']} ({r['content_type'] or 'no content type'}, HTTP {r['status']})" for r in probe.other_requests]
    return lines


def _features(probe: SiteProbe) -> list[str]:
    if not probe.features:
        return []
    lines = ["", "features:                                # guessed from what the page offers"]
    for name, found in probe.features.items():
        lines += [f"  {name}:", *_item(found, "")]
    return lines
