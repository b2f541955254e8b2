"""Bounds on the property lists devices send, checked before the portal works on them.

A binary plist may point many times at the same object, or at itself: a few hundred bytes
can stand for millions of values once walked, and a cycle never ends. Every plist the
portal reads (check-in, command results, the enrollment request) is held to one `Bounds`:
its body size, its nesting depth, how many values it holds once every shared reference is
expanded, the size of each string or data value, and their total. The walk is iterative
and stops at the first bound crossed, so a refusal costs at most `max_nodes` steps, and a
value within the bounds is stored at most `max_bytes` long (plus JSON's overhead).
"""

from __future__ import annotations

import plistlib
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import TooLarge
from .plist import parse_dict

BINARY_MAGIC = b"bplist00"
_TRAILER = struct.Struct(">6xBBQQQ")


@dataclass(frozen=True)
class Bounds:
    """What one endpoint accepts."""

    max_bytes: int
    max_depth: int
    max_nodes: int
    max_string: int


# Check-in messages are flat dictionaries; TokenUpdate carries an UnlockToken of a few KB.
CHECKIN = Bounds(max_bytes=64 * 1024, max_depth=16, max_nodes=4_000, max_string=64 * 1024)
# The enrollment request's machine info: a handful of strings.
ENROLL = Bounds(max_bytes=64 * 1024, max_depth=8, max_nodes=1_000, max_string=16 * 1024)
# Command results: app, profile and certificate lists can be long, certificates are data.
CONNECT = Bounds(max_bytes=4 * 1024 * 1024, max_depth=32, max_nodes=100_000, max_string=1024 * 1024)


class BeyondBounds(TooLarge):
    """A plist larger, deeper or more expanded than its endpoint accepts (413).

    `message` is its top-level dictionary when it could be read (a command result names its
    CommandUUID there), else None.
    """

    def __init__(self, reason: str, *, detail: str = "", message: dict | None = None) -> None:
        super().__init__(reason, detail=detail)
        self.message = message


def check_bytes(data: bytes, bounds: Bounds) -> None:
    """Refuse a body by its size and, for a binary plist, by its declared object count."""
    if len(data) > bounds.max_bytes:
        raise BeyondBounds("body_too_large", detail=f"{len(data)} bytes")
    if data.startswith(BINARY_MAGIC) and len(data) >= len(BINARY_MAGIC) + _TRAILER.size:
        _offset_size, _ref_size, objects, _top, _table = _TRAILER.unpack(data[-_TRAILER.size :])
        if objects > bounds.max_nodes:
            raise BeyondBounds("plist_too_many_nodes", detail=f"{objects} objects declared")
    elif data.count(b"<") > 4 * bounds.max_nodes + 16:
        # Every XML value takes a tag or two, and its key two more.
        raise BeyondBounds("plist_too_many_nodes", detail="too many XML elements")


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes | bytearray):
        return len(value)
    return 0


def check_value(value: Any, bounds: Bounds) -> None:
    """Walk `value` as the portal would (shared references expanded), within `bounds`."""
    nodes = 0
    total = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > bounds.max_nodes:
            raise BeyondBounds("plist_too_many_nodes", detail=f"more than {bounds.max_nodes}")
        if depth > bounds.max_depth:
            # Also where a plist that contains itself ends.
            raise BeyondBounds("plist_too_deep", detail=f"deeper than {bounds.max_depth}")
        if isinstance(item, dict):
            for key, child in item.items():
                size = _size(key)
                if size > bounds.max_string:
                    raise BeyondBounds("plist_string_too_long", detail=f"{size} bytes")
                total += size
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str | bytes | bytearray):
            size = _size(item)
            if size > bounds.max_string:
                raise BeyondBounds("plist_string_too_long", detail=f"{size} bytes")
            total += size
        elif not isinstance(item, bool | int | float | datetime | plistlib.UID):
            raise BeyondBounds("plist_unknown_value", detail=type(item).__name__)
        if total > bounds.max_bytes:
            raise BeyondBounds(
                "plist_too_large_expanded", detail=f"more than {bounds.max_bytes} bytes"
            )


def parse(data: bytes, bounds: Bounds) -> dict[str, Any]:
    """The top-level dictionary of a device's plist, within `bounds` (else 413 or 400)."""
    check_bytes(data, bounds)
    message = parse_dict(data, limit=bounds.max_bytes)
    try:
        check_value(message, bounds)
    except BeyondBounds as exc:
        exc.message = message
        raise
    return message
