"""Declarative Device Management, for status: User-Enrolled devices (iOS/iPadOS 15+, macOS 13+)
subscribe to status items (OS version, passcode compliance, installed managed apps) and report
them on their own, so the device pages stay current without polling commands.

The portal turns DDM on with the `DeclarativeManagement` command; the device then checks in
with `MessageType` DeclarativeManagement and an `Endpoint`: `tokens`, `declaration-items`,
`declaration/<type>/<identifier>` (answered with JSON) and `status` (its report, recorded).
Every declaration served is checked against Apple's `declarative/` schema first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..enrollment import lifecycle
from ..extensions import db
from ..models import DeclarativeStatus, Device, DeviceStatus, EnrollmentType, Platform
from . import apple_schema, commands
from .checkin import identify
from .errors import Conflict, Malformed

MESSAGE_TYPE = "DeclarativeManagement"
COMMAND = "DeclarativeManagement"
MAX_REPORT_BYTES = 2 * 1024 * 1024
# The first versions with DDM for User Enrollment.
MINIMUM = {"ios": (15, 0), "macos": (13, 0)}
STATUS_ITEMS = (
    "device.operating-system.version",
    "device.operating-system.build-version",
    "passcode.is-compliant",
    "passcode.is-present",
    "app.managed.list",
)
SUBSCRIPTIONS = "com.apple.configuration.management.status-subscriptions"
ACTIVATION = "com.apple.activation.simple"
SCHEMA_OS = {"ios": "iOS", "macos": "macOS"}


class InvalidDeclaration(RuntimeError):
    """A declaration the portal built fails Apple's schema: a bug, never served."""


def _platform(device: Device) -> str:
    return "macos" if device.platform == Platform.MACOS else "ios"


def _version(text: str | None) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text or "")
    return tuple(int(p) for p in parts[:3]) or (0,)


def eligible(device: Device) -> bool:
    """A User-Enrolled, enrolled device whose OS has DDM for User Enrollment."""
    return (
        device.enrollment_type == EnrollmentType.USER
        and device.status == DeviceStatus.ENROLLED
        and _version(device.os_version) >= MINIMUM[_platform(device)]
    )


def status_items(device: Device) -> list[str]:
    """The status items this device's system and version can report (Apple's schema)."""
    os_name = SCHEMA_OS[_platform(device)]
    return [
        name
        for name in STATUS_ITEMS
        if apple_schema.status_item_supported(name, os_name, device.os_version or "0", "user")
    ]


def _token(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def declarations(device: Device, prefix: str) -> dict[str, dict[str, Any]]:
    """The device's declarations by identifier, each checked against Apple's schema."""
    os_name = SCHEMA_OS[_platform(device)]
    subscriptions_id = f"{prefix}.ddm.status-subscriptions"
    subscriptions_payload = {"StatusItems": [{"Name": name} for name in status_items(device)]}
    activation_payload = {"StandardConfigurations": [subscriptions_id]}
    result = {}
    for kind, identifier, payload in (
        (SUBSCRIPTIONS, subscriptions_id, subscriptions_payload),
        (ACTIVATION, f"{prefix}.ddm.activation", activation_payload),
    ):
        declaration = {
            "Type": kind,
            "Identifier": identifier,
            "ServerToken": _token([kind, identifier, payload]),
            "Payload": payload,
        }
        found = apple_schema.validate_declaration(declaration, os_name, "user")
        if found:
            raise InvalidDeclaration(f"{identifier}: {'; '.join(str(f) for f in found)}")
        result[identifier] = declaration
    return result


def declarations_token(items: dict[str, dict[str, Any]]) -> str:
    return _token(sorted((i, d["ServerToken"]) for i, d in items.items()))


def _state(device: Device) -> DeclarativeStatus:
    state = db.session.get(DeclarativeStatus, device.id)
    if state is None:
        state = DeclarativeStatus(device_id=device.id)
        db.session.add(state)
    return state


def enable(device: Device, now: datetime) -> bool:
    """Queue the DeclarativeManagement command that turns DDM on (eligible devices only)."""
    if not eligible(device):
        return False
    state = _state(device)
    if state.enabled_at is not None:
        return False
    commands.queue(device, COMMAND, {}, actor=None, channel="system")
    state.enabled_at = now
    return True


def _tokens_answer(items: dict, now: datetime) -> dict:
    return {
        "SyncTokens": {
            "DeclarationsToken": declarations_token(items),
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    }


def _items_answer(items: dict) -> dict:
    manifest: dict[str, list] = {
        "Activations": [],
        "Assets": [],
        "Configurations": [],
        "Management": [],
    }
    for declaration in items.values():
        group = (
            "Activations"
            if declaration["Type"].startswith("com.apple.activation.")
            else "Configurations"
        )
        manifest[group].append(
            {"Identifier": declaration["Identifier"], "ServerToken": declaration["ServerToken"]}
        )
    return {"Declarations": manifest, "DeclarationsToken": declarations_token(items)}


def _dig(items: dict, dotted: str) -> Any:
    value: Any = items
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def record_status(device: Device, report: dict, now: datetime) -> DeclarativeStatus:
    """Keep what the status report says; the device's OS version follows it."""
    items = report.get("StatusItems")
    if not isinstance(items, dict):
        raise Malformed("StatusItems_invalid", device=device)
    state = _state(device)
    state.last_report_at = now
    version = _dig(items, "device.operating-system.version")
    if isinstance(version, str) and version.strip() and len(version) <= 32:
        if version != device.os_version:
            lifecycle.log(
                device,
                "ddm.os_version",
                {"from": device.os_version, "to": version},
                now=now,
            )
        device.os_version = version.strip()
        state.os_version = device.os_version
    build = _dig(items, "device.operating-system.build-version")
    if isinstance(build, str) and len(build) <= 32:
        state.build_version = build
    for attribute, name in (
        ("passcode_compliant", "passcode.is-compliant"),
        ("passcode_present", "passcode.is-present"),
    ):
        value = _dig(items, name)
        if isinstance(value, bool):
            setattr(state, attribute, value)
    apps = _dig(items, "app.managed.list")
    if isinstance(apps, list):
        from ..apps import self_service

        kept = [a for a in apps if isinstance(a, dict)][:500]
        previous = {
            a.get("identifier"): a for a in (state.managed_apps or []) if isinstance(a, dict)
        }
        if report.get("FullReport"):
            previous = {}
        for app in kept:
            if app.get("_removed"):
                previous.pop(app.get("identifier"), None)
            else:
                previous[app.get("identifier")] = {
                    key: app.get(key)
                    for key in ("identifier", "name", "state", "version", "short-version")
                    if key in app
                }
        state.managed_apps = list(previous.values())
        self_service.managed_apps_reported(device, kept)
    errors = report.get("Errors")
    if isinstance(errors, list) and errors:
        state.errors = [e for e in errors if isinstance(e, dict)][:50]
    return state


def _declaration_answer(items: dict, endpoint: str, device: Device) -> dict:
    parts = endpoint.split("/", 2)
    if len(parts) != 3:
        raise Malformed("Endpoint_invalid", device=device)
    declaration = items.get(parts[2])
    if declaration is None:
        raise Conflict("declaration_unknown", device=device, detail=parts[2][:100])
    return declaration


def handle(device: Device, message: dict, now: datetime, *, prefix: str) -> bytes:
    """A DeclarativeManagement check-in: the JSON answer (empty for a status report)."""
    identify(device, message)
    if device.status != DeviceStatus.ENROLLED:
        raise Conflict("device_not_enrolled", device=device)
    if device.enrollment_type != EnrollmentType.USER:
        raise Conflict("ddm_user_enrollment_only", device=device)
    endpoint = message.get("Endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 300:
        raise Malformed("Endpoint_missing", device=device)
    items = declarations(device, prefix)
    answers: dict[str, Callable[[], dict | None]] = {
        "tokens": lambda: _tokens_answer(items, now),
        "declaration-items": lambda: _items_answer(items),
    }
    if endpoint == "status":
        data = message.get("Data")
        if not isinstance(data, bytes) or len(data) > MAX_REPORT_BYTES:
            raise Malformed("Data_invalid", device=device)
        try:
            report = json.loads(data)
        except ValueError:
            raise Malformed("Data_not_json", device=device) from None
        if not isinstance(report, dict):
            raise Malformed("Data_not_json", device=device)
        record_status(device, report, now)
        return b""
    if endpoint.startswith("declaration/"):
        answer = _declaration_answer(items, endpoint, device)
    elif endpoint in answers:
        answer = answers[endpoint]()
        if endpoint == "declaration-items":
            _state(device).synced_token = declarations_token(items)
    else:
        raise Malformed("Endpoint_unknown", device=device)
    return json.dumps(answer).encode()


def command_data(items: dict, now: datetime) -> str:
    """The `Data` of the DeclarativeManagement command: base64 of the sync tokens."""
    return base64.b64encode(json.dumps(_tokens_answer(items, now)).encode()).decode()
