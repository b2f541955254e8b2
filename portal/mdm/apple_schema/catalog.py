"""Apple's schema files, parsed once per process, and the lookups by name."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .model import (
    _ALL_ENROLLMENTS,
    ALLOWED,
    KeySchema,
    PayloadSchema,
    SchemaError,
)

DATA_DIR = Path(__file__).parent.with_name("apple_schema_data")


@dataclass(frozen=True)
class _Schema:
    profiles: dict[str, PayloadSchema]
    commands: dict[str, PayloadSchema]
    checkins: dict[str, PayloadSchema]
    declarations: dict[str, PayloadSchema]
    status_items: dict[str, PayloadSchema] = field(default_factory=dict)


def _load_file(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader


def _payload(path: Path, kind: str, name_key: str) -> PayloadSchema:
    raw = _load_file(path)
    head = raw.get("payload") or {}
    supported = {os: entry or {} for os, entry in (head.get("supportedOS") or {}).items()}
    if kind == "declaration":
        # Activations (and a few management declarations) name no allowed-enrollments:
        # they apply under every enrollment, the configurations they activate say the rest.
        supported = {
            os: entry if "allowed-enrollments" in entry or entry.get("introduced") == "n/a"
            else {**entry, "allowed-enrollments": list(_ALL_ENROLLMENTS)}
            for os, entry in supported.items()
        }  # fmt: skip
    return PayloadSchema(
        payload_type=str(head.get(name_key)),
        kind=kind,
        title=str(raw.get("title") or ""),
        description=str(raw.get("description") or ""),
        source=path.relative_to(DATA_DIR).as_posix(),
        _raw=raw,
        _os=supported,
    )


@functools.cache
def _schema() -> _Schema:
    """Every schema file, parsed once per process."""

    def load(folder: str, kind: str, name_key: str) -> dict[str, PayloadSchema]:
        found: dict[str, PayloadSchema] = {}
        for path in sorted((DATA_DIR / folder).rglob("*.yaml")):
            schema = _payload(path, kind, name_key)
            found.setdefault(schema.payload_type, schema)
        return found

    declarations = load("declarative/declarations", "declaration", "declarationtype")
    return _Schema(
        profiles=load("mdm/profiles", "profile", "payloadtype"),
        commands=load("mdm/commands", "command", "requesttype"),
        checkins=load("mdm/checkin", "checkin", "requesttype"),
        declarations=declarations,
        status_items=load("declarative/status", "status", "statusitemtype"),
    )


def payload_types(kind: str = "profile") -> list[str]:
    """Every payload type (or command, check-in, declaration type) Apple's schema defines."""
    table = {
        "profile": _schema().profiles,
        "command": _schema().commands,
        "checkin": _schema().checkins,
        "declaration": _schema().declarations,
    }[kind]
    return sorted(table)


def payload_schema(payload_type: str) -> PayloadSchema:
    """The schema of a profile payload type ("com.apple.mdm"; "TopLevel" for the profile
    itself, "CommonPayloadKeys" for the keys of every payload) or of a declaration type
    ("com.apple.configuration.passcode.settings"). SchemaError if Apple has none."""
    schema = _schema()
    found = schema.profiles.get(payload_type) or schema.declarations.get(payload_type)
    if found is None:
        raise SchemaError(f"no payload type {payload_type!r} in Apple's schema")
    return found


def command_schema(request_type: str) -> PayloadSchema:
    found = _schema().commands.get(request_type)
    if found is None:
        raise SchemaError(f"no command {request_type!r} in Apple's schema")
    return found


def checkin_schema(message_type: str) -> PayloadSchema:
    found = _schema().checkins.get(message_type)
    if found is None:
        raise SchemaError(f"no check-in message {message_type!r} in Apple's schema")
    return found


def _resolve_key(
    payload: PayloadSchema, key: str | Sequence[str], *, response: bool = False
) -> KeySchema:
    path = [key] if isinstance(key, str) else list(key)
    if not path:
        raise SchemaError("an empty key path")
    found = payload.response_key(path[0]) if response else payload.key(path[0])
    if found is None and payload.kind == "profile":
        found = payload_schema("CommonPayloadKeys").key(path[0])
    for part in path[1:]:
        if found is None:
            break
        holder = found
        while holder is not None and holder.type == "array":
            item = holder.item
            if item is not None and item.key == part:
                break  # the array's item named explicitly
            holder = item
        if holder is not found and holder is not None and holder.key == part:
            found = holder
            continue
        found = holder.subkey(part) if holder is not None else None
    if found is None:
        raise SchemaError(f"no key {'.'.join(path)!r} in {payload.payload_type!r}")
    return found


def key_mode(
    payload_type: str,
    key: str | Sequence[str],
    os: str,
    enrollment: str,
    *,
    kind: str = "profile",
    response: bool = False,
) -> str:
    """What the device does with `key` of `payload_type` on `os` ("iOS", "iPadOS", "macOS")
    under `enrollment` ("user" or "device"): "allowed", "forbidden", "ignored" (accepted and
    not applied) or "unsupported" (no such key, or no such payload, on that system).

    `key` may be a path into nested keys, as a sequence of names. A whole payload that User
    Enrollment forbids makes each of its keys forbidden. `kind` "command" or "checkin" reads
    `payload_type` as a command's RequestType or a check-in's MessageType, and `response`
    asks about the keys of the answer. SchemaError for an unknown payload type or key."""
    if kind == "profile":
        payload = payload_schema(payload_type)
    elif kind == "command":
        payload = command_schema(payload_type)
    elif kind == "checkin":
        payload = checkin_schema(payload_type)
    else:
        raise ValueError(f"kind must be profile, command or checkin, not {kind!r}")
    found = _resolve_key(payload, key, response=response)
    payload_mode = payload.mode(os, enrollment)
    if payload_mode != ALLOWED:
        return payload_mode
    return found.mode(os, enrollment)
