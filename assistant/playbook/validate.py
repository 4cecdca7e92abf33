"""A small JSON-Schema subset checked against positioned YAML, converting as it goes.

Supported: type (or a list of types), properties, required, additionalProperties (false
or a schema), enum, items, minItems, minLength, minimum, maximum, and the formats
duration (-> float seconds), regex (must compile), url (http or https), css (a
selector `document.querySelectorAll` accepts, as far as we can tell without a browser)
and selector (the same with Playwright's extensions). Lists hold at most MAX_ITEMS items.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from assistant.playbook.selector import css_problem, selector_problem
from assistant.playbook.yamlsrc import TYPE_NAMES, Issues, Y, did_you_mean

MAX_DURATION = 24 * 3600.0  # seconds: a wait, timeout or budget past a day is a typo, not a plan
MAX_ITEMS = 1000  # any list (steps, a schedule, extensions): more is a generated file gone wrong

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_ENGINE = re.compile(r"^(?:internal:|[a-zA-Z_-]+\s*=)")
_PW_PSEUDO = re.compile(
    r":(?:has-text|text|text-is|text-matches|visible|nth-match|"
    r"left-of|right-of|above|below|near)\b"
)


def parse_duration(value: Any) -> float:
    """`"5s"` -> 5.0, `"500ms"` -> 0.5, `"2m"` -> 120.0, `"1h"`, `"1.5s"`; a bare number is seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"not a duration: {value!r}")
        value = float(match.group(1)) * _UNITS[match.group(2)]
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a duration: {value!r}")
    return value


def _duration(value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ValueError(
            f"bad duration {_short(value)}",
            "Write seconds (5, 1.5) or a number with a unit: 500ms, 5s, 2m, 1h.",
        ) from None
    if seconds > MAX_DURATION:
        raise ValueError(
            f"duration {_short(value)} is past the limit of 24 h ({MAX_DURATION:g} s)",
            "Write a shorter wait; for checks over days, schedule the tool (cron, CI) instead.",
        )
    return seconds


def _short(value: Any) -> str:
    """repr(value), cut to 60 characters (a 5,000-digit number is not worth quoting whole)."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's 4,300-digit conversion limit
        return "(a number of more than 4,300 digits)"
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


MAX_REGEX = 1000  # characters of a `matches:` pattern


def _regex(value: str) -> str:
    if len(value) > MAX_REGEX:
        raise ValueError(f"regular expression of {len(value)} characters is past the limit of {MAX_REGEX}",
                         "Match a shorter, characteristic part of the reply.")
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        why = exc if isinstance(exc, re.error) else "nested or repeated too deeply to compile"
        raise ValueError(
            f"bad regular expression {_short(value)}: {why}",
            "Python `re` syntax; quote the YAML value and escape backslashes in double quotes.",
        ) from None
    if _backtracks(value):
        raise ValueError(
            f"regular expression {_short(value)} backtracks catastrophically: it did not finish on a "
            f"{BACKTRACK_PROBE_LEN + 1}-character text within {BACKTRACK_PROBE_S * 1000:g} ms, and replies are longer",
            "Avoid nested or overlapping repetition such as (a+)+ or (a|aa)+; or use `contains:`.",
        )
    return value


BACKTRACK_PROBE_LEN, BACKTRACK_PROBE_S = 30, 0.05  # a few characters, then one that fails the match


def _backtracks(value: str) -> bool:
    """Whether the pattern is pathological on a short text of one repeated character and a
    mismatch (the shape that makes `^(a|aa)+$` explode): microseconds for a sane pattern.
    The run limits every match anyway; this says so at load, with the position."""
    import regex  # the engine `matches:` runs on (its timeout stops a match)

    try:
        compiled = regex.compile(value)
    except Exception:  # `re` took it; the run reports what `regex` says, if it ever differs
        return False
    for char in "a0 x":
        try:
            compiled.search(char * BACKTRACK_PROBE_LEN + "!", timeout=BACKTRACK_PROBE_S)
        except TimeoutError:
            return True
    return False


def _url(value: str) -> str:
    from assistant.report.redact import redact

    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port outside 0-65535 or not a number
    except ValueError as exc:
        why = "its port is outside 1-65535" if "port" in str(exc).lower() else exc
        raise ValueError(f"{redact(value)!r} is not a valid URL ({why})",
                         "Write it in full, e.g. https://chat.example.com or http://[::1]:8765") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{redact(value)!r} is not an http(s) URL", "Write it in full, e.g. https://chat.example.com"
        )
    if port == 0:
        raise ValueError(f"{redact(value)!r}: port 0 cannot be connected to", "A port is 1-65535.")
    return value


def _css(value: str) -> str:
    if value.startswith(("//", "..", "(//")):
        why = "an XPath"
    elif _ENGINE.match(value):
        why = f"a Playwright '{value.split('=')[0].strip()}=' selector"
    elif value.startswith(("'", '"')):
        why = "a Playwright text selector"
    elif ">>" in value or _PW_PSEUDO.search(value):
        why = "Playwright-only syntax ('>>' or a pseudo-class like :has-text)"
    else:
        problem = css_problem(value)
        if problem:
            raise ValueError(f"{_short(value)} is not a valid CSS selector: {problem}", "Fix the selector; CSS as in a stylesheet, e.g. div.message .markdown or [role=alert].")
        return value
    raise ValueError(
        f"{value!r} is {why}, but this selector must be CSS (it is evaluated with "
        "document.querySelectorAll inside the page)",
        "Use a CSS selector such as div.message .markdown or [role=alert]; text and "
        "role selectors are fine for composer, send, new_chat and retry_button.",
    )


def _selector(value: str) -> str:
    problem = selector_problem(value)
    if problem:
        raise ValueError(
            f"{_short(value)} is not a valid selector: {problem}",
            "CSS (div.reply, [role=alert]), or Playwright's text=..., role=button[name=\"Send\"], "
            ":has-text(\"...\") and '>>' chains; quote it in YAML when it holds ': ' or starts with [ or *.",
        )
    return value


def _clock_time(value: str) -> str:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match or int(match[1]) > 24 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day", 'Write it as HH:MM in quotes, e.g. "01:00".')
    return f"{int(match[1]):02d}:{match[2]}"


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}", "Use an IANA name such as UTC, Asia/Shanghai or Europe/Berlin.") from None
    return value


def _proxy_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        if parts.port == 0:
            raise ValueError("port 0")
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a proxy URL ({exc})", "A port is 1-65535, e.g. socks5://127.0.0.1:1080") from None
    if parts.scheme not in ("http", "https", "socks4", "socks5") or not parts.netloc:
        raise ValueError(f"{value!r} is not a proxy URL", "Write it in full, e.g. socks5://127.0.0.1:1080 or http://proxy.example:3128")
    return value


FORMATS = {
    "duration": _duration,
    "regex": _regex,
    "url": _url,
    "css": _css,
    "selector": _selector,
    "clock_time": _clock_time,
    "timezone": _timezone,
    "proxy_url": _proxy_url,
}


def check(y: Y, schema: dict, issues: Issues, where: str) -> Any:
    """Check `y` against `schema`, record problems in `issues`, return the converted value."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if types and not any(y.type == t or (t == "number" and y.type == "integer") for t in types):
        hint = None
        if "string" in types and y.type in ("integer", "number", "boolean", "null"):
            hint = f'Put the value in quotes to make it text: "{y.value if y.value is not None else ""}"'
        issues.add(
            y.pos,
            f"{where}: expected {' or '.join(TYPE_NAMES[t] for t in types)}, got {y.describe()}",
            hint,
        )
        return None
    if y.type == "object":
        return _object(y, schema, issues, where)
    if y.type == "array":
        return _array(y, schema, issues, where)
    return _scalar(y, schema, issues, where)


def checked(y: Y, schema: dict, issues: Issues, where: str) -> tuple[Any, bool]:
    """`check`, plus whether it found nothing wrong (so the value is safe to build on)."""
    before = len(issues)
    value = check(y, schema, issues, where)
    return value, len(issues) == before


def _object(y: Y, schema: dict, issues: Issues, where: str) -> dict:
    props, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    out = {}
    for key, value in y.value.items():
        sub = props.get(key, extra if isinstance(extra, dict) else None)
        if sub is None and extra is False:
            issues.add(
                y.keys[key],
                f"unknown key '{key}' in {where}",
                did_you_mean(key, list(props), "keys"),
            )
        else:
            out[key] = (
                check(value, sub, issues, f"{where}.{key}") if sub is not None else value.plain()
            )
    for key in schema.get("required", []):
        if key not in y.value:
            about = props.get(key, {}).get("description")
            issues.add(y.pos, f"{where} needs '{key}'", f"{key}: {about}" if about else None)
    return out


def _array(y: Y, schema: dict, issues: Issues, where: str) -> list:
    if len(y.value) < schema.get("minItems", 0):
        issues.add(y.pos, f"{where}: needs at least {schema['minItems']} item(s)")
    limit = schema.get("maxItems", MAX_ITEMS)
    if len(y.value) > limit:
        issues.add(y.pos, f"{where}: {len(y.value)} items, past the limit of {limit}", "Lists in a playbook hold at most "
                   f"{limit} items; split the work into several playbooks.")
        return []
    items = schema.get("items")
    return [
        check(v, items, issues, f"{where}[{i}]") if items else v.plain()
        for i, v in enumerate(y.value)
    ]


def _scalar(y: Y, schema: dict, issues: Issues, where: str) -> Any:
    value = y.value
    if "enum" in schema and value not in schema["enum"]:
        known = [str(e) for e in schema["enum"]]
        import difflib

        close = difflib.get_close_matches(str(value), known, n=1)
        issues.add(
            y.pos,
            f"{where}: {value!r} is not one of {', '.join(known)}",
            f"Did you mean '{close[0]}'?" if close else None,
        )
        return value
    number = y.type in ("integer", "number")
    if number and isinstance(value, float) and not math.isfinite(value):
        issues.add(y.pos, f"{where}: must be a finite number, got {value}")
        return value
    if number and "minimum" in schema and value < schema["minimum"]:
        issues.add(y.pos, f"{where}: must be at least {schema['minimum']}, got {_short(value)}")
    if number and "maximum" in schema and value > schema["maximum"]:
        issues.add(y.pos, f"{where}: must be at most {schema['maximum']} (the limit), got {_short(value)}")
    if y.type == "string" and len(value) < schema.get("minLength", 0):
        issues.add(y.pos, f"{where}: must not be empty")
    fmt = FORMATS.get(schema.get("format", ""))
    if fmt and (y.type == "string" or schema.get("format") == "duration"):
        try:
            return fmt(value)
        except ValueError as exc:
            issues.add(y.pos, f"{where}: {exc.args[0]}", exc.args[1] if len(exc.args) > 1 else None)
    return value
