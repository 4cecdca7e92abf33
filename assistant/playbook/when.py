"""The `when:` condition of a step: a small expression language, parsed at load time.

No `eval`: a hand-written tokenizer and a recursive-descent parser build a tree that
`When.holds` walks at run time over the results so far. Grammar:

    expr  := and ('or' and)*
    and   := not ('and' not)*
    not   := 'not' not | cmp
    cmp   := atom [('==' | '!=' | 'in' | 'not' 'in') atom]
    atom  := STRING | NUMBER | 'true' | 'false' | '(' expr ')' | '[' [atom (',' atom)*] ']'
           | 'failed' | 'passed' | 'previous' '.' ATTR | 'steps' '.' N '.' ATTR | 'vars' '.' NAME
    ATTR  := 'outcome' (passed, failed, tolerated, skipped)
           | 'result'  (the last attempt's outcome: ok, busy, rate_limited, timeout, error, ...)

`steps.N` is step N of the same list (the playbook's steps, or the retry block's),
numbered from 1 as in reports; `previous` is the step just before. `failed` is true
when an earlier step of that list failed, an optional one included (outcome
`tolerated`); `passed` is its opposite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ATTRS = ("outcome", "result")
FAILED = ("failed", "tolerated")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'[^']*'|"[^"]*")
    | (?P<number>\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<op>==|!=|[()\[\],.])
    )""",
    re.X,
)
_KEYWORDS = ("and", "or", "not", "in", "true", "false")
MAX_LENGTH = 1000  # characters of one condition
MAX_NESTING = 32  # parentheses, lists and `not`s inside one another
MAX_DIGITS = 15  # a number literal or a step index


class WhenSyntaxError(ValueError):
    """A condition that does not parse; `column` is 1-based within the expression."""

    def __init__(self, message: str, text: str, column: int):
        super().__init__(message)
        self.message, self.text, self.column = message, text, column

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}\n  {self.text}\n  {' ' * (self.column - 1)}^"


@dataclass(frozen=True)
class Ref:
    """A name the condition reads: ('steps', 2, 'outcome'), ('vars', 'x', None), ('failed', None, None)."""

    kind: str
    key: Any
    attr: str | None
    column: int


@dataclass
class When:
    """A parsed condition: its source text, its tree, and the names it reads."""

    text: str
    tree: tuple
    refs: list[Ref] = field(default_factory=list)

    def holds(self, records: list, variables: dict[str, str]) -> bool:
        """Evaluate over the earlier step records of the same list and the playbook's variables."""
        return bool(_eval(self.tree, records, variables))


def parse(text: str) -> When:
    """Parse a condition or raise WhenSyntaxError pointing at the offending column."""
    if len(text) > MAX_LENGTH:
        raise WhenSyntaxError(f"the condition is {len(text)} characters long, past the limit of {MAX_LENGTH}", text[:60] + "...", 61)
    parser = _Parser(text)
    tree = parser.expr()
    if parser.peek() is not None:
        parser.fail(f"unexpected {parser.peek()[1]!r}")
    return When(text, tree, parser.refs)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            if text[at:].strip() == "":
                break
            column = at + len(text[at:]) - len(text[at:].lstrip()) + 1
            char = text[column - 1]
            problem = "unterminated string" if char in "'\"" else f"unexpected character {char!r}"
            raise WhenSyntaxError(problem, text, column)
        kind = match.lastgroup
        out.append((kind, match.group(kind), match.start(kind) + 1))
        at = match.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text, self.tokens, self.at, self.refs = text, _tokens(text), 0, []
        self.depth = 0
        for kind, value, column in self.tokens:
            if kind == "number" and len(value) > MAX_DIGITS:
                raise WhenSyntaxError(f"a number of {len(value)} digits, past the limit of {MAX_DIGITS}", text, column)

    def deeper(self) -> None:
        """One level further in (a parenthesis, a list, a `not`): refused past MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.fail(f"nested more than {MAX_NESTING} levels deep (the limit)")

    def peek(self, ahead: int = 0) -> tuple[str, str, int] | None:
        at = self.at + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def fail(self, message: str):
        token = self.peek()
        raise WhenSyntaxError(message, self.text, token[2] if token else len(self.text) + 1)

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None or (value and token[1] != value) or (kind and token[0] != kind):
            wanted = repr(value) if value else {"name": "a name", "number": "a number"}.get(kind, "a value")
            self.fail(f"expected {wanted}, found {'the end' if token is None else repr(token[1])}")
        self.at += 1
        return token

    def is_word(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token[0] == "name" and token[1] == word

    def expr(self) -> tuple:
        left = self.conj()
        while self.is_word("or"):
            self.at += 1
            left = ("or", left, self.conj())
        return left

    def conj(self) -> tuple:
        left = self.neg()
        while self.is_word("and"):
            self.at += 1
            left = ("and", left, self.neg())
        return left

    def neg(self) -> tuple:
        if self.is_word("not"):
            self.at += 1
            self.deeper()
            inner = self.neg()
            self.depth -= 1
            return ("not", inner)
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.atom()
        token = self.peek()
        if token and token[1] in ("==", "!=") and token[0] == "op":
            self.at += 1
            return ("cmp", token[1], left, self.atom())
        if self.is_word("in"):
            self.at += 1
            return ("cmp", "in", left, self.atom())
        if self.is_word("not") and self.is_word("in", 1):
            self.at += 2
            return ("not", ("cmp", "in", left, self.atom()))
        return left

    def atom(self) -> tuple:
        token = self.peek()
        if token is None:
            self.fail("expected a value, found the end")
        kind, value, column = token
        if kind == "string":
            self.at += 1
            return ("lit", value[1:-1])
        if kind == "number":
            self.at += 1
            return ("lit", float(value) if "." in value else int(value))
        if value == "(":
            self.at += 1
            self.deeper()
            inner = self.expr()
            self.take(")")
            self.depth -= 1
            return inner
        if value == "[":
            self.deeper()
            listing = self.listing()
            self.depth -= 1
            return listing
        if kind == "name" and value in ("true", "false"):
            self.at += 1
            return ("lit", value == "true")
        if kind == "name" and value not in _KEYWORDS:
            return self.reference(value, column)
        self.fail(f"expected a value, found {value!r}")

    def listing(self) -> tuple:
        self.take("[")
        items = []
        while not (self.peek() and self.peek()[1] == "]"):
            items.append(self.atom())
            if not (self.peek() and self.peek()[1] == "]"):
                self.take(",")
        self.take("]")
        return ("list", items)

    def reference(self, name: str, column: int) -> tuple:
        self.at += 1
        if name in ("failed", "passed"):
            ref = Ref(name, None, None, column)
        elif name == "previous":
            ref = Ref("steps", -1, self.attribute(), column)
        elif name == "steps":
            self.take(".")
            number = self.take(kind="number")
            if not number[1].isdigit():
                self.fail("a step number is a whole number")  # pragma: no cover (the tokenizer splits 2.5)
            ref = Ref("steps", int(number[1]), self.attribute(), column)
        elif name == "vars":
            self.take(".")
            ref = Ref("vars", self.take(kind="name")[1], None, column)
        else:
            self.at -= 1
            self.fail(f"unknown name {name!r}: use steps.N.outcome, previous.outcome, vars.NAME, failed or passed")
        self.refs.append(ref)
        return ("ref", ref)

    def attribute(self) -> str:
        self.take(".")
        token = self.peek()
        if token is None or token[1] not in ATTRS:
            self.fail(f"expected {' or '.join(ATTRS)}")
        self.at += 1
        return token[1]


def _eval(tree: tuple, records: list, variables: dict[str, str]) -> Any:
    op = tree[0]
    if op == "lit":
        return tree[1]
    if op == "list":
        return [_eval(t, records, variables) for t in tree[1]]
    if op == "ref":
        return _read(tree[1], records, variables)
    if op == "not":
        return not _eval(tree[1], records, variables)
    if op == "and":
        return bool(_eval(tree[1], records, variables)) and bool(_eval(tree[2], records, variables))
    if op == "or":
        return bool(_eval(tree[1], records, variables)) or bool(_eval(tree[2], records, variables))
    left, right = _eval(tree[2], records, variables), _eval(tree[3], records, variables)
    if tree[1] == "==":
        return _equal(left, right)
    if tree[1] == "!=":
        return not _equal(left, right)
    if isinstance(right, list):
        return any(_equal(left, item) for item in right)
    return isinstance(right, str) and isinstance(left, str) and left in right


def _read(ref: Ref, records: list, variables: dict[str, str]) -> Any:
    if ref.kind == "vars":
        return variables.get(ref.key, "")
    if ref.kind in ("failed", "passed"):
        failed = any(r.outcome in FAILED for r in records)
        return failed if ref.kind == "failed" else not failed
    index = len(records) - 1 if ref.key == -1 else ref.key - 1
    if not 0 <= index < len(records):
        return ""  # no such step yet (the loader refuses later steps; `previous` of the first)
    record = records[index]
    if ref.attr == "outcome":
        return record.outcome
    return record.attempts[-1].outcome if record.attempts else ""


def _equal(left: Any, right: Any) -> bool:
    """Equality where a number also equals its text (variables are text: `vars.n == 3`)."""
    if isinstance(left, (int, float)) != isinstance(right, (int, float)) and not isinstance(left, bool) and not isinstance(right, bool):
        try:
            return float(left) == float(right)
        except (TypeError, ValueError):
            return False
    return left == right
