"""Reading device property lists safely, and storing plist values as JSON.

`plistlib` only: it refuses XML entity declarations, so no entity expansion; sizes are
checked before parsing.
"""

from __future__ import annotations

import base64
import plistlib
from datetime import UTC, datetime
from typing import Any

from .errors import Malformed, TooLarge

DATA_KEY = "__data__"
DATE_KEY = "__date__"


def parse_dict(data: bytes, *, limit: int) -> dict[str, Any]:
    """The top-level dictionary of an XML or binary plist, or Malformed / TooLarge."""
    if len(data) > limit:
        raise TooLarge("body_too_large", detail=f"{len(data)} bytes")
    if not data.strip():
        raise Malformed("empty_body")
    try:
        value = plistlib.loads(data)
    # plistlib raises many types on hostile input (ExpatError, struct.error, OverflowError,
    # RecursionError, UnicodeError…); all of them mean the same: not a usable plist.
    except Exception as exc:
        raise Malformed("not_a_plist", detail=type(exc).__name__) from None
    if not isinstance(value, dict):
        raise Malformed("plist_not_a_dictionary")
    return value


def to_json(value: Any) -> Any:
    """A JSON-safe copy of a plist value (data and dates tagged so they round-trip)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return {DATA_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {DATE_KEY: moment.astimezone(UTC).isoformat()}
    if isinstance(value, plistlib.UID):
        return value.data
    return value


def from_json(value: Any) -> Any:
    """The plist value `to_json` stored."""
    if isinstance(value, dict):
        if set(value) == {DATA_KEY}:
            return base64.b64decode(value[DATA_KEY])
        if set(value) == {DATE_KEY}:
            return datetime.fromisoformat(value[DATE_KEY]).astimezone(UTC).replace(tzinfo=None)
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def dumps(value: dict[str, Any]) -> bytes:
    return plistlib.dumps(value, fmt=plistlib.FMT_XML, sort_keys=True)
