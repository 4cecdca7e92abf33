"""YAML with source positions, and errors that quote the lines they are about.

PyYAML's composer gives nodes with marks; we turn them into `Y` values (a value plus
its position) so every later check can say `file:line:col`. Anchors, aliases and merge
keys (`<<: *base`) are resolved here; explicit keys win over merged ones.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import PlaybookError
from assistant.playbook.model import Pos

_MERGE = "tag:yaml.org,2002:merge"
_SYNTAX = "Check the indentation, and quote values that contain ': ' or start with one of { [ * & ! | > ' \" % @ `"
_YAML_HINTS = {
    yaml.scanner.ScannerError: _SYNTAX,
    yaml.parser.ParserError: _SYNTAX,
    yaml.composer.ComposerError: "Define an anchor (&name) before its aliases (*name), and not inside itself.",
    yaml.constructor.ConstructorError: "Custom tags (!name) are not supported; quote the value if it is text.",
}
MAX_SHOWN = 20  # problems printed; the rest are counted


class _Limit(yaml.MarkedYAMLError):
    """The file passes one of the documented limits (nesting, values, aliases) or holds an unreadable value."""


_YAML_HINTS[_Limit] = ("Limits: 1 MB per file, 100,000 values (aliases counted at every use), nesting 100 "
                       "deep, lists of 1,000 items. Simplify the file or split it into playbooks that include each other.")
_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dict, "object"),
    (list, "array"),
    (type(None), "null"),
)  # bool before int: it is one
TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


@dataclass
class Y:
    """A YAML value with its position; mappings are dict[str, Y] plus key positions."""

    value: Any
    pos: Pos
    keys: dict[str, Pos] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The JSON-Schema type name of the value."""
        for t, name in _TYPES:
            if isinstance(self.value, t):
                return name
        raise TypeError(f"not a YAML value: {self.value!r}")

    def describe(self) -> str:
        """`a number (42)`: the type in words and, for scalars, the value."""
        name = TYPE_NAMES[self.type]
        return name if self.type in ("object", "array", "null") else f"{name} ({self.value!r})"

    def plain(self) -> Any:
        """The value with positions stripped."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def without_extensions(y: Y) -> Y:
    """A mapping without its `x-...` keys (a place for anchors that nothing reads)."""
    keep = {k: v for k, v in y.value.items() if not k.startswith("x-")}
    return Y(keep, y.pos, {k: y.keys[k] for k in keep})


def display_path(path: Path) -> str:
    """The path as a person would type it: relative to the working folder when inside it."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def did_you_mean(word: str, known: list[str] | tuple[str, ...], what: str) -> str:
    """`Did you mean 'x'? Known <what>: a, b, c` (the first part only when close)."""
    import difflib  # only for a misspelling (start-up cost)

    close = difflib.get_close_matches(word, list(known), n=1)
    listing = f"Known {what}: {', '.join(known)}" if known else f"No {what} are defined"
    return f"Did you mean '{close[0]}'? {listing}" if close else listing


class Issues:
    """Problems found in one file, rendered as they are added; raised together in file order."""

    def __init__(self, file: str, text: str):
        self.file, self.lines, self.found = file, text.splitlines(), []
        self.sources = {file: self.lines}  # and included files', so their problems quote them

    def pos(self, mark) -> Pos:
        """A PyYAML mark as a 1-based position in this file."""
        return Pos(self.file, mark.line + 1, mark.column + 1)

    def adopt(self, other: Issues) -> None:
        """Take in an included file: its lines (for quoting) and the problems found so far."""
        order = len(self.sources) if other.file not in self.sources else list(self.sources).index(other.file)
        self.sources.setdefault(other.file, other.lines)
        self.found += [((order, *key[1:]), block, hint) for key, block, hint in other.found]

    def add(self, pos: Pos, message: str, hint: str | None = None) -> None:
        """Record `file:line:col: message`, the lines around it, and the hint."""
        lines = self.sources.get(pos.file, self.lines)
        out = [f"{pos}: {message}"]
        for n in range(max(1, pos.line - 1), min(len(lines), pos.line + 1) + 1):
            line = lines[n - 1] if len(lines[n - 1]) <= 160 else lines[n - 1][:150] + " ..."
            out.append(f"{'>' if n == pos.line else ' '}{n:>4} | {line}".rstrip())
        order = list(self.sources).index(pos.file) if pos.file in self.sources else 0
        self.found.append(((order, pos.line, pos.col), "\n".join(out), hint))

    def add_block(self, block: str) -> None:
        """Record an already rendered problem (another file's, or an argument's); it sorts last."""
        self.found.append(((float("inf"), 0, 0), block, None))

    def __len__(self) -> int:
        return len(self.found)

    def raise_if_any(self) -> None:
        """Raise one PlaybookError holding every problem, separated by blank lines."""
        if len(self.found) == 1:
            _, block, hint = self.found[0]
            raise PlaybookError(block, hint=hint)
        if self.found:
            found = sorted(self.found, key=lambda f: f[0])
            text = "\n\n".join(b if not h else f"{b}\n{h}" for _, b, h in found[:MAX_SHOWN])
            if len(found) > MAX_SHOWN:
                more = len(found) - MAX_SHOWN
                text += f"\n\n... and {more:,} more problem{'s' if more > 1 else ''} (the first {MAX_SHOWN} are shown; fix these and run again)."
            raise PlaybookError(text)


MAX_BYTES = 1024 * 1024  # a playbook, site profile or vars file: 1 MB
MAX_NODES = 100_000  # YAML values, aliases counted at every use (an alias bomb stops here)
MAX_DEPTH = 100  # mappings and lists nested in one another
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: they start alike
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Unreadable(ValueError):
    """A file that is not read at all: not a regular file, too large, or not text."""


def read_text(path: Path) -> str:
    """A file's text (UTF-8, or UTF-16/32 with a byte-order mark), checked against the limits
    before it is read: a FIFO or device is never opened, so nothing can hang or fill memory."""
    info = os.stat(path)  # FileNotFoundError, PermissionError: OSError for the caller
    if stat.S_ISDIR(info.st_mode):
        raise Unreadable("it is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable("it is not a regular file (a FIFO, device or socket), so it is not read")
    if info.st_size > MAX_BYTES:
        raise Unreadable(f"it is {info.st_size:,} bytes, past the limit of {MAX_BYTES:,} (1 MB)")
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Unreadable(f"it is past the limit of {MAX_BYTES:,} bytes (1 MB)")
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Unreadable(f"it is not {encoding.upper().replace('-SIG', '')} text (byte {exc.start}); save it as UTF-8") from None


def read(path: Path, what: str) -> str:
    """The text of a file, or a PlaybookError that names the path."""
    try:
        return read_text(path)
    except FileNotFoundError:
        raise PlaybookError(
            f"{what} not found: {display_path(path)}",
            hint="Check the path (it is relative to the working folder).",
        ) from None
    except (OSError, Unreadable) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise PlaybookError(f"cannot read {what} {display_path(path)}: {why}") from None


def _control_characters(issues: Issues, text: str) -> None:
    """Raw control bytes (NUL, DEL, ...) are refused with their position before YAML sees them."""
    for match in list(_CONTROL.finditer(text))[:MAX_SHOWN]:
        line = text.count("\n", 0, match.start()) + 1
        col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        issues.add(Pos(issues.file, line, col), f"control character U+{ord(match.group()):04X} in the file",
                   "Remove it (an editor that shows invisible characters helps); write it as \\x.. inside double quotes if it is meant.")


def parse(path: Path, text: str) -> tuple[Y | None, Issues]:
    """Parse YAML text into a `Y` tree; malformed YAML raises a positioned PlaybookError."""
    issues = Issues(display_path(path), text)
    _control_characters(issues, text)
    issues.raise_if_any()
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (_Builder(loader, issues).build(node) if node is not None else None), issues
    except yaml.MarkedYAMLError as exc:
        failure = exc  # reported below, outside the handler, so no traceback chain rides along
    except yaml.YAMLError as exc:
        raise PlaybookError(f"{issues.file}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    mark = failure.problem_mark or failure.context_mark
    what = "; ".join(p for p in (failure.context, failure.problem) if p) or "malformed YAML"
    issues.found.clear()
    issues.add(
        issues.pos(mark) if mark else Pos(issues.file, 1, 1),
        f"invalid YAML: {what}",
        _YAML_HINTS.get(type(failure)),
    )
    issues.raise_if_any()
    raise AssertionError("unreachable")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, stopped with a position at the nesting and value limits."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = self.nodes = 0

    def compose_node(self, parent, index):
        self.depth, self.nodes = self.depth + 1, self.nodes + 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Limit(problem=f"nested more than {MAX_DEPTH} levels deep (the limit)", problem_mark=self.peek_event().start_mark)
            if self.nodes > MAX_NODES:
                raise _Limit(problem=f"more than {MAX_NODES:,} values (the limit)", problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Builder:
    """Turns composed nodes into `Y` values, resolving merges and flagging duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, issues: Issues):
        self.loader, self.issues, self.active, self.built = loader, issues, set(), {}
        self.sizes: dict[int, int] = {}  # id(Y) -> values under it with aliases expanded

    def build(self, node) -> Y:
        """The `Y` for a node; an alias shares its anchor's `Y` (so nested aliases stay linear)."""
        if id(node) in self.built:
            return self.built[id(node)]
        if id(node) in self.active:
            raise yaml.composer.ComposerError(
                problem="an anchor contains an alias to itself", problem_mark=node.start_mark
            )
        self.active.add(id(node))
        try:
            pos = self.issues.pos(node.start_mark)
            if isinstance(node, yaml.SequenceNode):
                y = Y([self.build(n) for n in node.value], pos)
                size = 1 + sum(self.sizes[id(v)] for v in y.value)
            elif isinstance(node, yaml.MappingNode):
                y = self.mapping(node, pos)
                size = 1 + sum(self.sizes.get(id(v), 1) for v in y.value.values())
            else:
                y, size = Y(self.scalar(node), pos), 1
                if not any(isinstance(y.value, t) for t, _ in _TYPES):
                    y.value = node.value  # dates and binary stay the text that was written
            if size > MAX_NODES:  # aliases multiply: nine levels of ten are a billion values
                raise _Limit(problem=f"aliases here expand to {size:,} values, past the limit of {MAX_NODES:,}",
                             problem_mark=node.start_mark)
            self.built[id(node)], self.sizes[id(y)] = y, size
            return y
        finally:
            self.active.discard(id(node))

    def scalar(self, node):
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError):  # e.g. an integer past Python's 4,300-digit limit
            raise _Limit(problem=f"cannot read the value {node.value[:30]!r}{'...' if len(node.value) > 30 else ''} "
                         f"({len(node.value):,} characters): a number this large is not a setting",
                         problem_mark=node.start_mark) from None

    def mapping(self, node, pos: Pos) -> Y:
        out, merged = Y({}, pos), []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                merged += [self.build(n) for n in sources]
                continue
            key_pos = self.issues.pos(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.issues.add(key_pos, "a key must be a plain name, not a list or mapping")
                continue
            key = key_node.value
            if key in out.value:
                self.issues.add(
                    key_pos,
                    f"duplicate key '{key}' (first at line {out.keys[key].line})",
                    "Keep one of them; YAML would silently use the last.",
                )
            out.value[key], out.keys[key] = self.build(value_node), key_pos
        for source in merged:
            if not isinstance(source.value, dict):
                self.issues.add(source.pos, f"'<<' merges mappings, got {source.describe()}")
                continue
            for key, value in source.value.items():
                if key not in out.value:
                    out.value[key], out.keys[key] = value, source.keys[key]
        return out
