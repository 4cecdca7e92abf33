"""Passwords in URLs (`http://user:pass@host/`) never reach a console line or a report."""

from __future__ import annotations

import re
from typing import Any

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@]*):([^/\s@]+)@")


def redact(text: str) -> str:
    """`scheme://user:pass@host` -> `scheme://user:***@host`, anywhere in `text`."""
    return _USERINFO.sub(r"\1\2:***@", text) if "@" in text else text


def redact_all(data: Any) -> Any:
    """The same over every string of a JSON-like value (keys included)."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_all(k): redact_all(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_all(v) for v in data]
    return data
