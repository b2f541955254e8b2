"""Bounds on what a SCIM request may carry, checked before any work.

PostgreSQL cannot store NUL (U+0000) in text, and a lone surrogate (U+D800–U+DFFF, which
JSON's `\\ud800` escape produces) is not UTF-8: both are refused at the boundary rather than
failing in the database. Nesting is bounded so no later walk over a document recurses deep.
"""

from __future__ import annotations

import re

from .errors import bad_request

# SCIM documents nest a few levels (User → enterprise extension → manager → value).
MAX_DEPTH = 12
# Integer columns (ids, offsets) on PostgreSQL are 32-bit.
MAX_INT = 2**31 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """False when PostgreSQL could not keep `text` (NUL or a lone surrogate)."""
    return _UNSTORABLE.search(text) is None


def check_text(text: str, where: str, scim_type: str = "invalidValue") -> str:
    if not storable(text):
        raise bad_request(f"{where} contains a character that cannot be stored.", scim_type)
    return text


def check_document(document) -> None:
    """Refuse a parsed JSON body nested too deep or holding unstorable text (400)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise bad_request("The request body is nested too deeply.")
            for key, item in value.items():
                check_text(key, "An attribute name")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise bad_request("The request body is nested too deeply.")
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            check_text(value, "A value")
