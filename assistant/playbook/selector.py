"""Selector syntax, checked at load time without a browser.

Not a full CSS parser: it catches what a browser would refuse (unbalanced brackets,
parentheses and quotes, malformed attribute tests, dangling combinators, empty parts),
and lets Playwright's extensions through: `engine=` parts (`text=`, `role=`, `css=`,
`xpath=`, `id=`, `data-testid=`, `internal:...`), `>>` chains, quoted text selectors,
XPath, and pseudo-classes such as `:has-text("x")`, `:visible` or `:nth-match(...)`.
"""

from __future__ import annotations

import re

_ENGINE = re.compile(r"^\s*([a-zA-Z_][\w-]*(?::[\w-]+)?)\s*=")
_ATTRIBUTE = re.compile(
    r"""^\s*(?:[-\w*]*\|)?-?[_a-zA-Z\u00a0-\uffff\\][-\w\\]*\s*
        (?:[~|^$*!]?=\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[-\w\\.]+)\s*(?:[iIsS]\s*)?)?$""",
    re.X,
)
_COMPOUND = r"(?:[-\w*|]+|#[-\w]+|\.[-\w]+|::?[-\w]+(?:\(\))?|\[\])+"
_SKELETON = re.compile(rf"^\s*(?:[>+~]\s*)?{_COMPOUND}(?:\s*[>+~]\s*{_COMPOUND}|\s+{_COMPOUND})*\s*$")
_SELECTOR_LISTS = ("is", "not", "where", "has", "matches", "-webkit-any")  # pseudo-classes holding selectors
_CLOSE = {"(": ")", "[": "]"}


def selector_problem(selector: str) -> str | None:
    """Why a Playwright selector (a `>>` chain of parts) cannot work, or None."""
    if not selector.strip():
        return "it is empty"
    for part in _chain(selector):
        problem = _part_problem(part)
        if problem:
            return problem
    return None


def css_problem(selector: str, relative: bool = False) -> str | None:
    """Why a CSS selector list would be refused by querySelectorAll, or None."""
    try:
        skeleton, inner = _skeleton(selector)
    except ValueError as exc:
        return str(exc)
    for name, content in inner:
        if name == "[" and not _ATTRIBUTE.match(content):
            return f"the attribute test [{content}] is malformed (write [name], [name=value] or [name=\"a value\"])"
        if name in _SELECTOR_LISTS:
            problem = css_problem(content, relative=name == "has")
            if problem:
                return f":{name}(...): {problem}"
    for group in skeleton.split(","):
        if not group.strip():
            return "a selector list has an empty part (a stray comma)"
        if not _SKELETON.match(group) or (group.strip()[0] in ">+~" and not relative):
            return f"{group.strip()!r} is not a selector (a combinator > + ~ needs an element on both sides)"
    return None


def _chain(selector: str) -> list[str]:
    """The parts of a `>>` chain (outside quotes)."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(selector):
        ch = selector[i]
        if quote:
            quote = None if ch == quote else quote
            i += 2 if ch == "\\" else 1
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif selector.startswith(">>", i) and depth == 0:
            parts.append(selector[start:i])
            start, i = i + 2, i + 2
            continue
        i += 1
    return [*parts, selector[start:]]


def _part_problem(part: str) -> str | None:
    text = part.strip()
    if not text:
        return "a '>>' chain has an empty part"
    engine = _ENGINE.match(text)
    if engine and engine.group(1).lower() != "css":
        body = text[engine.end():].strip()
        return None if body else f"the {engine.group(1)}= selector has nothing after '='"
    if engine:
        text = text[engine.end():]
    elif text[0] in "\"'":  # a quoted text selector
        try:
            _string_end(text, 0)
        except ValueError as exc:
            return str(exc)
        return None
    elif text.startswith(("//", "..", "(")):  # XPath
        return _balanced_only(text)
    return css_problem(text)


def _balanced_only(text: str) -> str | None:
    try:
        _skeleton(text)
    except ValueError as exc:
        return str(exc)
    return None


def _skeleton(selector: str) -> tuple[str, list[tuple[str, str]]]:
    """The selector with bracket and parenthesis contents emptied, and those contents
    (with the pseudo-class name before a parenthesis); ValueError when unbalanced."""
    out, inner, stack, i = [], [], [], 0
    while i < len(selector):
        ch = selector[i]
        if ch == "\\":
            out.append("x" if not stack else "")
            i += 2
            continue
        if ch in "\"'":
            end = _string_end(selector, i)
            if not stack:
                raise ValueError(f"a quoted string at column {i + 1} outside [...] or (...)")
            i = end + 1
            continue
        if ch == "[" and stack and stack[-1][0] == "[":
            raise ValueError(f"a '[' inside the attribute test opened at column {stack[-1][1] + 1}")
        if ch in "([":
            name = "[" if ch == "[" else re.search(r"([-\w]*)$", "".join(out)).group(1)
            stack.append((ch, i, name))
            if len(stack) == 1:
                out.append(ch)
        elif ch in ")]":
            if not stack or _CLOSE[stack[-1][0]] != ch:
                raise ValueError(f"unexpected '{ch}' at column {i + 1}")
            opener, at, name = stack.pop()
            if not stack:
                inner.append((name, selector[at + 1:i]))
                out.append(ch)
        elif not stack:
            out.append(ch)
        i += 1
    if stack:
        ch, at, _ = stack[-1]
        raise ValueError(f"the '{ch}' at column {at + 1} is never closed")
    return "".join(out), inner


def _string_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    raise ValueError(f"the string opened at column {start + 1} is never closed")
