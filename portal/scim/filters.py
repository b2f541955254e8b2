"""SCIM filter expressions (RFC 7644 §3.4.2.2), the part the portal needs.

Supported: `attrPath op value` comparisons joined by `and`, with `eq`, `ne`, `co`, `sw`,
`ew`, and `pr`. Values are JSON (`"text"`, true, false, null, numbers); an unquoted word is
accepted too, as Microsoft's documentation shows one (`externalId eq jyoung`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .errors import bad_request

OPERATORS = {"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"}
SUPPORTED = {"eq", "ne", "co", "sw", "ew", "pr"}
TOKEN_RE = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()"\[\]]+)|(?P<paren>[()]))'
)
MAX_FILTER = 1000


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
            return json.loads(raw)
        except ValueError as exc:
            raise bad_request("A filter value is not valid JSON.", "invalidFilter") from exc
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # an unquoted word (seen in Microsoft's documentation)


def parse(text: str | None) -> list[Condition]:
    """The filter's conditions (all must hold); raises ScimError(400, invalidFilter)."""
    if text is None or not text.strip():
        return []
    if len(text) > MAX_FILTER:
        raise bad_request("The filter is too long.", "invalidFilter")
    tokens = [t for t in _tokens(text) if t[0] != "paren"]
    conditions: list[Condition] = []
    index = 0
    while index < len(tokens):
        if conditions:
            if tokens[index][1].lower() != "and":
                raise bad_request("Only filters joined with 'and' are supported.", "invalidFilter")
            index += 1
        if index + 1 >= len(tokens) or tokens[index][0] != "word":
            raise bad_request("The filter is incomplete.", "invalidFilter")
        path, op = tokens[index][1], tokens[index + 1][1].lower()
        if op not in OPERATORS:
            raise bad_request(f"Unknown filter operator {op!r}.", "invalidFilter")
        if op not in SUPPORTED:
            raise bad_request(f"The operator {op!r} is not supported.", "invalidFilter")
        if op == "pr":
            conditions.append(Condition(path, op))
            index += 2
            continue
        if index + 2 >= len(tokens):
            raise bad_request("The filter has no value to compare with.", "invalidFilter")
        kind, raw = tokens[index + 2]
        conditions.append(Condition(path, op, _value(kind, raw)))
        index += 3
    return conditions
