"""SCIM filter expressions (RFC 7644 §3.4.2.2), the part the portal needs.

Supported: `attrPath op value` comparisons with `eq`, `ne`, `co`, `sw`, `ew` and `pr`,
joined by `and` and `or` (`and` binds tighter), grouped with parentheses and negated with
`not (…)`. Values are JSON (`"text"`, true, false, null, numbers); an unquoted word is
accepted too, as Microsoft's documentation shows one (`externalId eq jyoung`). Value paths
filter a multi-valued attribute's elements: `emails[type eq "work"]`, and Entra's
`emails[type eq "work"].value eq "…"` (a comparison on the matching elements).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from . import limits
from .errors import bad_request

OPERATORS = {"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"}
SUPPORTED = {"eq", "ne", "co", "sw", "ew", "pr"}
TOKEN_RE = re.compile(
    r"\s*(?:"
    r'(?P<string>"(?:[^"\\]|\\.)*")'
    r'|(?P<valuepath>[A-Za-z$][\w$:.-]*\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\](?:\.[A-Za-z$][\w$-]*)?)'
    r'|(?P<word>[^\s()"\[\]]+)'
    r"|(?P<paren>[()]))"
)
MAX_FILTER = 1000
# Parentheses and `not` nest; a filter deeper than this is refused, not recursed into.
MAX_DEPTH = 20


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: object = None

    def matches(self, actual, case_exact: bool = False) -> bool:
        if self.op == "pr":
            return actual not in (None, "", [], {})
        expected = self.value
        if isinstance(actual, str) and isinstance(expected, str) and not case_exact:
            actual, expected = actual.lower(), expected.lower()
        if self.op == "eq":
            return actual == expected
        if self.op == "ne":
            return actual != expected
        if not (isinstance(actual, str) and isinstance(expected, str)):
            return False
        if self.op == "co":
            return expected in actual
        if self.op == "sw":
            return actual.startswith(expected)
        return actual.endswith(expected)


@dataclass(frozen=True)
class And:
    items: tuple[Expression, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expression, ...]


@dataclass(frozen=True)
class Not:
    item: Expression


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]` (some element matches), or `attr[filter].sub op value`."""

    attr: str
    inner: Expression
    sub: str | None = None
    condition: Condition | None = None  # on `sub` of the matching elements


Expression = Condition | And | Or | Not | ValuePath


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = TOKEN_RE.match(text, position)
        if not match or match.end() == position:
            raise bad_request("The filter cannot be read.", "invalidFilter")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _value(kind: str, raw: str):
    if kind == "string":
        try:
            text = json.loads(raw)
        except ValueError as exc:
            raise bad_request("A filter value is not valid JSON.", "invalidFilter") from exc
        return limits.check_text(text, "A filter value", "invalidFilter")
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # an unquoted word (seen in Microsoft's documentation)


class _Parser:
    """Recursive descent: or-expression → and-expression → not, parentheses, comparison."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.index = 0

    def _peek(self, offset: int = 0) -> tuple[str, str] | None:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else None

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token[0] == "word" and token[1].lower() == word

    def _paren(self, which: str, offset: int = 0) -> bool:
        return self._peek(offset) == ("paren", which)

    def expression(self, depth: int = 0) -> Expression:
        if depth > MAX_DEPTH:
            raise bad_request("The filter is nested too deeply.", "invalidFilter")
        items = [self._conjunction(depth)]
        while self._keyword("or"):
            self.index += 1
            items.append(self._conjunction(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _conjunction(self, depth: int) -> Expression:
        items = [self._unary(depth)]
        while self._keyword("and"):
            self.index += 1
            items.append(self._unary(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def _unary(self, depth: int) -> Expression:
        if self._keyword("not") and self._paren("(", 1):
            self.index += 1
            return Not(self._group(depth))
        if self._paren("("):
            return self._group(depth)
        token = self._peek()
        if token is not None and token[0] == "valuepath":
            return self._value_path(depth)
        return self._comparison()

    def _group(self, depth: int) -> Expression:
        self.index += 1  # the "("
        inner = self.expression(depth + 1)
        if not self._paren(")"):
            raise bad_request("A parenthesis in the filter is not closed.", "invalidFilter")
        self.index += 1
        return inner

    def _value_path(self, depth: int) -> ValuePath:
        raw = self._peek()[1]
        self.index += 1
        attr, _, rest = raw.partition("[")
        inner_text, _, sub = rest.rpartition("]")
        if depth > MAX_DEPTH:
            raise bad_request("The filter is nested too deeply.", "invalidFilter")
        inner = parse_expression(inner_text, depth + 1)
        if inner is None:
            raise bad_request(f"The filter in {raw!r} is empty.", "invalidFilter")
        sub = sub[1:] if sub.startswith(".") else None
        if sub is None:
            return ValuePath(attr, inner)
        condition = self._comparison(sub)
        return ValuePath(attr, inner, sub, condition)

    def _comparison(self, subject: str | None = None) -> Condition:
        if subject is None:
            path = self._peek()
            if path is not None and path[0] == "valuepath":
                raise bad_request("A value path cannot be used here.", "invalidFilter")
            if path is None or path[0] != "word":
                raise bad_request("The filter is incomplete.", "invalidFilter")
            self.index += 1
            subject = path[1]
        op = self._peek()
        if op is None or op[0] != "word":
            raise bad_request("The filter is incomplete.", "invalidFilter")
        operator = op[1].lower()
        if operator not in OPERATORS:
            raise bad_request(f"Unknown filter operator {op[1]!r}.", "invalidFilter")
        if operator not in SUPPORTED:
            raise bad_request(f"The operator {operator!r} is not supported.", "invalidFilter")
        self.index += 1
        if operator == "pr":
            return Condition(subject, operator)
        value = self._peek()
        if value is None or value[0] in ("paren", "valuepath"):
            raise bad_request("The filter has no value to compare with.", "invalidFilter")
        self.index += 1
        return Condition(subject, operator, _value(*value))


def parse_expression(text: str | None, depth: int = 0) -> Expression | None:
    """The filter as a tree, None when empty; raises ScimError(400, invalidFilter)."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER:
        raise bad_request("The filter is too long.", "invalidFilter")
    limits.check_text(text, "The filter", "invalidFilter")
    parser = _Parser(_tokens(text))
    expression = parser.expression(depth)
    leftover = parser._peek()
    if leftover is not None:
        raise bad_request(
            f"Unexpected {leftover[1]!r} in the filter: join comparisons with 'and' or 'or'.",
            "invalidFilter",
        )
    return expression


def conditions(expression: Expression | None) -> list[Condition]:
    """The comparisons of a filter that only joins them with `and` (all must hold)."""
    if expression is None:
        return []
    if isinstance(expression, Condition):
        return [expression]
    if isinstance(expression, And):
        return [c for item in expression.items for c in conditions(item)]
    raise bad_request("Only filters joined with 'and' are supported here.", "invalidFilter")


def parse(text: str | None) -> list[Condition]:
    """The conditions of an `and`-only filter (all must hold), as PATCH value paths use."""
    return conditions(parse_expression(text))
