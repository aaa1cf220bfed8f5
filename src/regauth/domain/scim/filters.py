"""SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2): parsed into a small tree,
never turned into SQL — a filter is evaluated on the resources themselves, so what a client
writes in it (quotes, parentheses, `*)(uid=*`) is only ever a value compared with a value.

    filter = or ; or = and ("or" and)* ; and = unary ("and" unary)*
    unary  = "not" "(" filter ")" | "(" filter ")" | attrPath "[" filter "]" | attrExp
    attrExp = attrPath "pr" | attrPath compareOp compValue
    path (PATCH) = attrPath | attrPath "[" filter "]" ["." subAttr]

Operators, keywords and attribute names are case-insensitive; `and` binds tighter than `or`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from regauth.domain.scim.problems import INVALID_FILTER, INVALID_PATH, bad

MAX_FILTER_LENGTH = 2048  # a filter of an IdP is one or two comparisons
MAX_DEPTH = 16  # nesting of parentheses, brackets and `not`
COMPARISONS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
Value = str | int | float | bool | None

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
    | (?P<punct>[()\[\]])
    | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?![\w.:$-]))
    | (?P<word>(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?)
    | (?P<sub>\.[A-Za-z$][\w$-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`[urn:...:]attr[.sub]`; `schema` is the URN when one was written (any case)."""

    schema: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        name = f"{self.attr}.{self.sub}" if self.sub else self.attr
        return f"{self.schema}:{name}" if self.schema else name


@dataclass(frozen=True, slots=True)
class Compare:
    path: AttrPath
    op: str  # one of COMPARISONS, lower case
    value: Value


@dataclass(frozen=True, slots=True)
class Present:
    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    inner: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`emails[type eq "work"]`: the elements of a multi-valued attribute that match."""

    path: AttrPath
    inner: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH operation's target: an attribute, or the elements of one that match `where`,
    or a sub-attribute of those elements (`members[value eq "2819c"]`, `emails[type eq
    "work"].value`)."""

    path: AttrPath
    where: Filter | None = None
    sub: str | None = None  # after the brackets

    def __str__(self) -> str:
        return str(self.path) if self.where is None else f"{self.path}[...]"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # string, punct, number, word, sub (`.value` after a PATCH path's brackets)
    text: str
    at: int


def _tokens(text: str, problem: str) -> list[_Token]:
    tokens, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.lastgroup is None:
            raise bad(problem, f"unexpected character at position {at + 1}")
        tokens.append(
            _Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        at = match.end()
    return tokens


def _attr_path(word: str) -> AttrPath:
    schema, _, name = word.rpartition(":") if word[:4].lower() == "urn:" else ("", "", word)
    attr, _, sub = name.partition(".")
    return AttrPath(schema or None, attr, sub or None)


class _Parser:
    def __init__(self, text: str, problem: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise bad(problem, f"longer than {MAX_FILTER_LENGTH} characters")
        self.problem = problem
        self.tokens = _tokens(text, problem)
        self.at = 0
        self.depth = 0

    def fail(self, what: str) -> Exception:
        token = self.peek()
        where = f"at position {token.at + 1}" if token else "at the end"
        return bad(self.problem, f"{what} {where}")

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail("unexpected end")
        self.at += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() in words:
            self.at += 1
            return token.text.lower()
        return None

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.at += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.punct(char):
            raise self.fail(f"expected '{char}'")

    def nested(self, parse: Callable[[], Filter]) -> Filter:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels")
        try:
            return parse()
        finally:
            self.depth -= 1

    def filter(self) -> Filter:
        left = self.conjunction()
        while self.keyword("or"):
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Filter:
        left = self.unary()
        while self.keyword("and"):
            left = And(left, self.unary())
        return left

    def unary(self) -> Filter:
        token = self.peek()
        if (
            token is not None
            and token.kind == "word"
            and token.text.lower() == "not"
            and self.at + 1 < len(self.tokens)
            and self.tokens[self.at + 1].text == "("
        ):
            self.at += 2
            inner = self.nested(self.filter)
            self.expect(")")
            return Not(inner)
        if self.punct("("):
            inner = self.nested(self.filter)
            self.expect(")")
            return inner
        path = self.path()
        if self.punct("["):
            inner = self.nested(self.filter)
            self.expect("]")
            return ValuePath(path, inner)
        return self.comparison(path)

    def path(self) -> AttrPath:
        token = self.peek()
        if token is None or token.kind != "word":
            raise self.fail("expected an attribute name")
        self.at += 1
        return _attr_path(token.text)

    def comparison(self, path: AttrPath) -> Filter:
        token = self.peek()
        if token is None or token.kind != "word":
            raise self.fail("expected an operator")
        op = token.text.lower()
        if op == "pr":
            self.at += 1
            return Present(path)
        if op not in COMPARISONS:
            raise self.fail(f"unknown operator {token.text[:20]!r}")
        self.at += 1
        return Compare(path, op, self.value())

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            text: str = json.loads(token.text)
            return text
        if token.kind == "number":
            number: int | float = json.loads(token.text)
            return number
        word = token.text.lower() if token.kind == "word" else ""
        if word in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[word]
        self.at -= 1
        raise self.fail("expected a value (a quoted string, a number, true, false or null)")

    def end(self) -> None:
        if self.peek() is not None:
            raise self.fail("unexpected text")


def parse_filter(text: str) -> Filter:
    """The filter's tree, or a 400 invalidFilter saying where it went wrong."""
    parser = _Parser(text, INVALID_FILTER)
    if not parser.tokens:
        raise bad(INVALID_FILTER, "the filter is empty")
    result = parser.filter()
    parser.end()
    return result


def parse_path(text: str) -> PatchPath:
    """A PATCH `path`, or a 400 invalidPath."""
    parser = _Parser(text, INVALID_PATH)
    if not parser.tokens:
        raise bad(INVALID_PATH, "the path is empty")
    path = parser.path()
    where: Filter | None = None
    sub: str | None = None
    if parser.punct("["):
        if path.sub is not None:
            raise parser.fail("a filter applies to an attribute, not a sub-attribute")
        # The filter inside the brackets is a filter's problem when it is wrong: invalidPath.
        where = parser.nested(parser.filter)
        parser.expect("]")
        token = parser.peek()
        if token is not None and token.kind == "sub":
            parser.at += 1
            sub = token.text[1:]
    parser.end()
    return PatchPath(path, where, sub)


def evaluate(
    node: Filter, resource: dict[str, Any], case_exact: Callable[[AttrPath], bool]
) -> bool:
    """Whether `resource` (as served: canonical attribute names) matches. A comparison with a
    multi-valued attribute holds when it holds for any value; an absent attribute matches
    nothing but `ne` and `not`. `case_exact(path)`: whether the attribute's strings compare
    with case (RFC 7643 §2.2 caseExact)."""
    if isinstance(node, And):
        return evaluate(node.left, resource, case_exact) and evaluate(
            node.right, resource, case_exact
        )
    if isinstance(node, Or):
        return evaluate(node.left, resource, case_exact) or evaluate(
            node.right, resource, case_exact
        )
    if isinstance(node, Not):
        return not evaluate(node.inner, resource, case_exact)
    if isinstance(node, ValuePath):
        elements = _elements(resource, node.path)
        return any(
            isinstance(e, dict) and evaluate(node.inner, e, _within(node.path, case_exact))
            for e in elements
        )
    values = _values(resource, node.path)
    if isinstance(node, Present):
        return any(v not in (None, "", [], {}) for v in values)
    if node.op == "ne":
        return not any(_compare("eq", v, node.value, case_exact(node.path)) for v in values)
    return any(_compare(node.op, v, node.value, case_exact(node.path)) for v in values)


def _within(parent: AttrPath, case_exact: Callable[[AttrPath], bool]) -> Callable[[AttrPath], bool]:
    """Inside `emails[...]`, `type` is `emails.type`."""
    return lambda path: case_exact(AttrPath(parent.schema, parent.attr, path.attr))


def lookup(container: dict[str, Any], name: str) -> tuple[str, Any] | None:
    """The (key, value) of `name` in `container`, matched without case."""
    if name in container:
        return name, container[name]
    folded = name.casefold()
    for key, value in container.items():
        if key.casefold() == folded:
            return key, value
    return None


def _scope(resource: dict[str, Any], path: AttrPath) -> dict[str, Any]:
    """Where `path`'s attribute lives: the resource, or the extension object its URN names."""
    if path.schema is not None:
        found = lookup(resource, path.schema)
        if found is not None and isinstance(found[1], dict):
            return found[1]
    return resource


def _elements(resource: dict[str, Any], path: AttrPath) -> list[Any]:
    found = lookup(_scope(resource, path), path.attr)
    if found is None:
        return []
    value = found[1]
    return value if isinstance(value, list) else [value]


def _values(resource: dict[str, Any], path: AttrPath) -> list[Any]:
    values = []
    for element in _elements(resource, path):
        if isinstance(element, dict):
            # A complex attribute without a sub-attribute compares its `value` (RFC 7644
            # §3.4.2.2: "emails co ..." is "emails.value co ...").
            found = lookup(element, path.sub or "value")
            if found is not None:
                values.append(found[1])
        elif path.sub is None:
            values.append(element)
    return values


def _compare(op: str, actual: Any, expected: Value, case_exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool) or expected is None:
        return op == "eq" and actual == expected and type(actual) is type(expected)
    if isinstance(actual, str) and isinstance(expected, str):
        a, e = (actual, expected) if case_exact else (actual.casefold(), expected.casefold())
        return _ORDERED[op](a, e)
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return op not in ("co", "sw", "ew") and _ORDERED[op](actual, expected)
    return False


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, e: a == e,
    "co": lambda a, e: e in a,
    "sw": lambda a, e: a.startswith(e),
    "ew": lambda a, e: a.endswith(e),
    "gt": lambda a, e: a > e,
    "ge": lambda a, e: a >= e,
    "lt": lambda a, e: a < e,
    "le": lambda a, e: a <= e,
}
