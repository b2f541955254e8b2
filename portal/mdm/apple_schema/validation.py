"""Whole messages (profiles, commands, check-ins, answers, declarations, status
subscriptions) validated against Apple's schema."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .catalog import _schema, payload_schema
from .checks import (
    Finding,
    _at_least,
    _check_dict,
    _check_payload_support,
    _Context,
    _context,
    _join,
    _type_name,
    _version,
)
from .model import (
    ALLOWED,
    KeySchema,
    PayloadSchema,
    SchemaError,
    _enrollment,
)


def validate_profile(
    profile: Mapping[str, Any], os: str, enrollment: str, os_version: str | None = None
) -> list[Finding]:
    """Every finding of Apple's schema against a configuration profile (the plist's top-level
    dictionary) for a device on `os` under `enrollment`; `os_version` (e.g. "17.5") adds
    the checks of when payloads and keys were introduced or removed.

    Checks the profile's own keys and each payload's: unknown keys, wrong types, missing
    required keys, values outside Apple's lists and ranges, keys User Enrollment forbids or
    ignores, payload types the system or enrollment type does not support."""
    ctx = _context(os, enrollment, os_version, payload_type="TopLevel")
    if not isinstance(profile, Mapping):
        ctx.add("wrong_type", "", f"a profile must be a dictionary, not {_type_name(profile)}")
        return ctx.findings
    top = payload_schema("TopLevel")
    _check_dict(ctx, top.keys, profile, "", skip=("PayloadContent",))
    content = profile.get("PayloadContent")
    if content is None:
        if not profile.get("IsEncrypted"):
            ctx.add("missing_required", "PayloadContent", "is required", "PayloadContent")
        return ctx.findings
    if not isinstance(content, list | tuple):
        ctx.add("wrong_type", "PayloadContent", "must be array", "PayloadContent")
        return ctx.findings
    for index, item in enumerate(content):
        _validate_payload(ctx, item, f"PayloadContent[{index}]")
    return ctx.findings


def _validate_payload(ctx: _Context, payload: Any, path: str) -> None:
    if not isinstance(payload, Mapping):
        ctx.payload_type = None
        ctx.add("wrong_type", path, f"a payload must be a dictionary, not {_type_name(payload)}")
        return
    payload_type = payload.get("PayloadType")
    ctx.payload_type = payload_type if isinstance(payload_type, str) else None
    schema = _schema().profiles.get(payload_type) if isinstance(payload_type, str) else None
    if schema is None or payload_type in ("TopLevel", "CommonPayloadKeys"):
        ctx.add(
            "unknown_payload_type",
            _join(path, "PayloadType"),
            f"{payload_type!r} is not a payload type Apple's schema defines",
            "PayloadType",
        )
        return
    if not _check_payload_support(ctx, schema, path, f"payload {payload_type}"):
        return
    own = {k.key for k in schema.keys}
    common = [k for k in payload_schema("CommonPayloadKeys").keys if k.key not in own]
    _check_dict(ctx, [*common, *schema.keys], payload, path)


def validate_command(
    command: Mapping[str, Any],
    os: str,
    enrollment: str,
    os_version: str | None = None,
    *,
    channel: str = "device",
) -> list[Finding]:
    """Every finding of Apple's schema against a command: either the whole plist the device
    receives ({"CommandUUID": …, "Command": {"RequestType": …, …}}) or its "Command"
    dictionary. Checks the command exists on `os` and under `enrollment`, and its keys."""
    ctx = _context(os, enrollment, os_version, channel=channel)
    body = command
    path = ""
    if isinstance(command, Mapping) and "Command" in command:
        for name in command:
            if name not in ("Command", "CommandUUID"):
                ctx.add("unknown_key", name, "is not a key of a command plist", name)
        if not isinstance(command.get("CommandUUID"), str):
            ctx.add("missing_required", "CommandUUID", "is required (a string)", "CommandUUID")
        body = command["Command"]
        path = "Command"
    if not isinstance(body, Mapping):
        ctx.add("wrong_type", path, f"a command must be a dictionary, not {_type_name(body)}")
        return ctx.findings
    request_type = body.get("RequestType")
    ctx.payload_type = request_type if isinstance(request_type, str) else None
    schema = _schema().commands.get(request_type) if isinstance(request_type, str) else None
    if schema is None:
        ctx.add(
            "unknown_command",
            _join(path, "RequestType"),
            f"{request_type!r} is not a command Apple's schema defines",
            "RequestType",
        )
        return ctx.findings
    if not _check_payload_support(ctx, schema, path, f"command {request_type}"):
        return ctx.findings
    _check_dict(ctx, schema.keys, body, path, skip=("RequestType",))
    return ctx.findings


def validate_checkin(
    message: Mapping[str, Any],
    os: str,
    enrollment: str,
    os_version: str | None = None,
    *,
    channel: str = "device",
) -> list[Finding]:
    """Every finding of Apple's schema against a check-in message (Authenticate,
    TokenUpdate, …) from `os` under `enrollment`, on the device or the user `channel`."""
    ctx = _context(os, enrollment, os_version, channel=channel)
    if not isinstance(message, Mapping):
        ctx.add("wrong_type", "", f"a message must be a dictionary, not {_type_name(message)}")
        return ctx.findings
    message_type = message.get("MessageType")
    ctx.payload_type = message_type if isinstance(message_type, str) else None
    schema = _schema().checkins.get(message_type) if isinstance(message_type, str) else None
    if schema is None:
        ctx.add(
            "unknown_message_type",
            "MessageType",
            f"{message_type!r} is not a check-in message Apple's schema defines",
            "MessageType",
        )
        return ctx.findings
    if not _check_payload_support(ctx, schema, "", f"message {message_type}"):
        return ctx.findings
    _check_dict(ctx, [*schema.keys, *_envelope(schema)], message, "")
    return ctx.findings


# Every check-in names its device (and user channel) and topic; Apple's files for the
# bootstrap-token and other later messages leave these keys out, TokenUpdate has them all.
_CHECKIN_ENVELOPE = (
    "Topic",
    "UDID",
    "EnrollmentID",
    "EnrollmentUserID",
    "UserID",
    "UserShortName",
    "UserLongName",
    "NotOnConsole",
)


def _envelope(schema: PayloadSchema) -> list[KeySchema]:
    """The envelope keys `schema` does not define itself, as TokenUpdate defines them
    (optional: a message without them is not one Apple's file says is wrong)."""
    own = {k.key for k in schema.keys}
    source = _schema().checkins["TokenUpdate"]
    return [
        dataclasses.replace(key, presence="optional")
        for key in source.keys
        if key.key in _CHECKIN_ENVELOPE and key.key not in own
    ]


def validate_response(
    kind: str,
    name: str,
    body: Mapping[str, Any],
    os: str,
    enrollment: str,
    os_version: str | None = None,
) -> list[Finding]:
    """Every finding of Apple's schema against an answer: a device's result for command
    `name` (`kind` "command", without the Status/CommandUUID envelope), or the server's
    answer to check-in message `name` (`kind` "checkin")."""
    table = {"command": _schema().commands, "checkin": _schema().checkins}[kind]
    schema = table.get(name)
    if schema is None:
        raise SchemaError(f"no {kind} {name!r} in Apple's schema")
    ctx = _context(os, enrollment, os_version, payload_type=name)
    if not isinstance(body, Mapping):
        ctx.add("wrong_type", "", f"an answer must be a dictionary, not {_type_name(body)}")
        return ctx.findings
    _check_dict(ctx, schema.response_keys, body, "")
    return ctx.findings


def validate_declaration(
    declaration: Mapping[str, Any], os: str, enrollment: str, os_version: str | None = None
) -> list[Finding]:
    """Every finding of Apple's schema against a declaration (Type, Identifier, ServerToken,
    Payload) for a device on `os` under `enrollment`."""
    ctx = _context(os, enrollment, os_version)
    if not isinstance(declaration, Mapping):
        ctx.add(
            "wrong_type", "", f"a declaration must be a dictionary, not {_type_name(declaration)}"
        )
        return ctx.findings
    declaration_type = declaration.get("Type")
    ctx.payload_type = declaration_type if isinstance(declaration_type, str) else None
    schema = (
        _schema().declarations.get(declaration_type) if isinstance(declaration_type, str) else None
    )
    base = _schema().declarations["any"]  # declarationbase.yaml: the keys of every declaration
    if schema is None or schema is base:
        ctx.add(
            "unknown_payload_type",
            "Type",
            f"{declaration_type!r} is not a declaration type Apple's schema defines",
            "Type",
        )
        return ctx.findings
    if not _check_payload_support(ctx, schema, "", f"declaration {declaration_type}"):
        return ctx.findings
    # The common keys exist wherever the declaration does.
    common = [KeySchema.build(raw, schema._os) for raw in base._raw.get("payloadkeys") or ()]
    _check_dict(ctx, common, declaration, "", skip=("Payload",))
    payload = declaration.get("Payload", {})
    if not isinstance(payload, Mapping):
        ctx.add("wrong_type", "Payload", "must be dictionary", "Payload")
        return ctx.findings
    _check_dict(ctx, schema.keys, payload, "Payload")
    return ctx.findings


def iter_findings_text(findings: Iterable[Finding]) -> Iterator[str]:
    """One line per finding, for logs and test failures."""
    for finding in findings:
        yield f"{finding.payload_type or '-'} {finding.path}: {finding.code}: {finding.message}"


# --- declarative status items ----------------------------------------------------------


def status_item_schema(name: str) -> PayloadSchema:
    """The schema of a Declarative Device Management status item ("passcode.is-compliant")."""
    found = _schema().status_items.get(name)
    if found is None:
        raise SchemaError(f"no status item {name!r} in Apple's schema")
    return found


def status_item_supported(name: str, os: str, os_version: str | None, enrollment: str) -> bool:
    """Whether a device on `os` (at `os_version`, when known) under `enrollment` reports the
    status item `name`. SchemaError for a status item Apple does not define."""
    support = status_item_schema(name).support(os)
    if support.mode(_enrollment(enrollment)) != ALLOWED:
        return False
    version, introduced = _version(os_version), _version(support.introduced)
    return version is None or introduced is None or _at_least(version, introduced)


def validate_status_subscriptions(
    declaration: Mapping[str, Any], os: str, enrollment: str, os_version: str | None = None
) -> list[Finding]:
    """`validate_declaration` for a status-subscriptions configuration, plus each subscribed
    status item: one Apple defines, that `os` (at `os_version`) reports under `enrollment`."""
    findings = validate_declaration(declaration, os, enrollment, os_version)
    ctx = _context(os, enrollment, os_version, payload_type=str(declaration.get("Type")))
    payload = declaration.get("Payload")
    items = payload.get("StatusItems") if isinstance(payload, Mapping) else None
    for index, item in enumerate(items if isinstance(items, list | tuple) else ()):
        name = item.get("Name") if isinstance(item, Mapping) else None
        path = f"Payload.StatusItems[{index}].Name"
        if name not in _schema().status_items:
            ctx.add("value_not_allowed", path, f"{name!r} is not a status item Apple defines")
        elif not status_item_supported(name, os, os_version, enrollment):
            ctx.add("key_unsupported", path, f"{name} is not reported on {ctx.os} here")
    return findings + ctx.findings
