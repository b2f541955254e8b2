"""Hand-built binary plists with shared and circular references (plistlib never writes them).

Objects are given as a list; containers name their children by index in that list, so
two parents may share a child, or an array may hold itself.
"""

from __future__ import annotations

import struct


def _object(obj) -> bytes:
    kind, value = obj
    if kind == "str":
        raw = value.encode("ascii")
        return _marker(0x50, len(raw)) + raw
    if kind == "int":
        return b"\x13" + struct.pack(">q", value)
    if kind == "array":
        return _marker(0xA0, len(value)) + b"".join(struct.pack(">H", ref) for ref in value)
    if kind == "dict":
        keys = b"".join(struct.pack(">H", k) for k, _v in value)
        values = b"".join(struct.pack(">H", v) for _k, v in value)
        return _marker(0xD0, len(value)) + keys + values
    raise ValueError(kind)


def _marker(token: int, size: int) -> bytes:
    if size < 15:
        return bytes([token | size])
    return bytes([token | 0x0F]) + b"\x11" + struct.pack(">H", size)


def build(objects: list[tuple], top: int = 0) -> bytes:
    """A binary plist of `objects` (("str", "x"), ("array", [refs]), ("dict", [(k, v)]))."""
    body = bytearray(b"bplist00")
    offsets = []
    for obj in objects:
        offsets.append(len(body))
        body += _object(obj)
    table = len(body)
    for offset in offsets:
        body += struct.pack(">I", offset)
    body += struct.pack(">6xBBQQQ", 4, 2, len(objects), top, table)
    return bytes(body)


def result(envelope: dict[str, str], payload_objects: list[tuple], key: str = "Payload") -> bytes:
    """A command result whose `key` is the first of `payload_objects` (their refs start at 0).

    The envelope's strings come after them; refs inside `payload_objects` are kept.
    """
    objects = list(payload_objects)
    pairs = []
    for name, value in [*envelope.items(), (key, None)]:
        objects.append(("str", name))
        k = len(objects) - 1
        if value is None:
            pairs.append((k, 0))
        else:
            objects.append(("str", value))
            pairs.append((k, len(objects) - 1))
    objects.append(("dict", pairs))
    return build(objects, top=len(objects) - 1)


def doubling(depth: int) -> list[tuple]:
    """Arrays each pointing twice at the next: 2**depth leaves once expanded."""
    objects = [("array", [i + 1, i + 1]) for i in range(depth)]
    objects.append(("str", "x"))
    return objects
