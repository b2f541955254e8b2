"""Where a configuration could apply: the (system, enrollment type) pairs it reaches, the
profile built for each, and what Apple's schema and the reference guide say against it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..devices.capabilities import MACOS_USER_ENROLLMENT_UNSUPPORTED
from ..extensions import db
from ..mdm import apple_schema
from ..models import (
    ConfigurationKind,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    setting_assignment,
)
from . import kinds
from .sealing import is_secret

INVALID_REQUEST_TYPE = "Restrictions – this is not a valid request type"
# Apple's name of each system in its schema.
SCHEMA_OS = {"ios": "iOS", "macos": "macOS"}

PLATFORM_LABELS = {"ios": _l("iPhone and iPad"), "macos": _l("Mac")}
ENROLLMENT_LABELS = {
    EnrollmentType.USER: _l("User Enrollment"),
    EnrollmentType.DEVICE: _l("Device Enrollment"),
}


@dataclass(frozen=True)
class KeyNote:
    """What User Enrollment does with one field's key on one system."""

    os: str  # "ios" | "macos"
    mode: str  # "forbidden" | "ignored" | "unsupported"


def key_notes(kind: ConfigurationKind) -> dict[str, list[KeyNote]]:
    """For each field of `kind`, the systems where User Enrollment forbids or ignores its key
    (from Apple's schema)."""
    spec = kinds.SPECS[ConfigurationKind(kind)]
    notes: dict[str, list[KeyNote]] = {}
    for f in spec.fields:
        found = []
        for os_name in spec.platforms:
            mode = _key_mode(f, os_name)
            if mode in ("forbidden", "ignored", "unsupported"):
                found.append(KeyNote(os_name, mode))
        notes[f.name] = found
    return notes


def _key_mode(f: kinds.Field, os_name: str) -> str:
    if f.payload_type == kinds.SETTINGS_COMMAND:
        return "allowed"
    if f.payload_type == kinds.APP_VPN_MAPPING and os_name == "ios":
        return "allowed"  # an iPhone gets its apps' mapping from Settings' app attributes
    return apple_schema.key_mode(f.payload_type, f.key.split("."), SCHEMA_OS[os_name], "user")


def targets(platforms: Iterable[str], groups: Iterable[Group], everyone: bool) -> set[tuple]:
    """The (system, enrollment type) pairs a configuration assigned so would reach.

    A group reaches the enrollment types of its settings, and Device Enrollment always (a
    device too old for User Enrollment falls back to it).
    """
    types = {EnrollmentType.DEVICE}
    group_ids = [group.id for group in groups]
    if everyone:
        types.add(EnrollmentType.USER)
    elif group_ids:
        types.update(
            db.session.scalars(
                sa.select(EnrollmentSetting.enrollment_type)
                .join(setting_assignment, setting_assignment.c.setting_id == EnrollmentSetting.id)
                .where(setting_assignment.c.group_id.in_(group_ids))
            )
        )
    types.discard(EnrollmentType.MAM)
    if not everyone and not group_ids:
        return set()
    return {(platform, EnrollmentType(kind)) for platform in platforms for kind in types}


def _variables_example() -> dict[str, str]:
    return {
        "email": "person@example.com",
        "name": "Person",
        "managed_apple_id": "person@example.com",
    }


def problems(kind: ConfigurationKind, settings: Mapping[str, Any], reach: set[tuple]) -> list[str]:
    """Why `kind` with `settings` could not apply at each (system, enrollment type) it
    reaches: Apple's schema and the reference guide's macOS User Enrollment rules."""
    spec = kinds.SPECS[ConfigurationKind(kind)]
    reasons: list[str] = []
    for platform, enrollment in sorted(reach):
        where = f"{PLATFORM_LABELS[platform]}, {ENROLLMENT_LABELS[enrollment]}"
        if platform not in spec.platforms:
            reasons.append(
                str(
                    _l(
                        "%(where)s: Apple does not offer %(kind)s on this system.",
                        where=where,
                        kind=spec.label,
                    )
                )  # fmt: skip
            )
            continue
        if (
            platform == "macos"
            and enrollment == EnrollmentType.USER
            and spec.macos_user_enrollment_name in MACOS_USER_ENROLLMENT_UNSUPPORTED
        ):
            reasons.append(f"{where}: {INVALID_REQUEST_TYPE}")
            continue
        for finding in findings(kind, settings, platform, enrollment):
            reasons.append(f"{where}: {finding}")
    return reasons


def findings(
    kind: ConfigurationKind, settings: Mapping[str, Any], platform: str, enrollment
) -> list[str]:
    """Apple's schema findings on the payload `kind` builds, for one system and enrollment."""
    os_name = SCHEMA_OS[platform]
    enrollment_name = "user" if enrollment == EnrollmentType.USER else "device"
    identifier = "com.example.check"
    if ConfigurationKind(kind) == ConfigurationKind.APP_CONFIG:
        command = {"RequestType": kinds.SETTINGS_COMMAND, **kinds.settings_command(
            settings, variables=_variables_example())}  # fmt: skip
        return [str(f) for f in apple_schema.validate_command(command, os_name, enrollment_name)]
    profile = build_profile(
        kind,
        settings,
        identifier=identifier,
        version=1,
        platform=platform,
        variables=_variables_example(),
        display_name="check",
        organization="Example",
        enrollment=enrollment_name,
        secrets={name: "secret" for name in kinds.secret_fields(kind) if name in settings},
    )
    return [str(f) for f in apple_schema.validate_profile(profile, os_name, enrollment_name)]


def build_profile(
    kind: ConfigurationKind,
    settings: Mapping[str, Any],
    *,
    identifier: str,
    version: int,
    platform: str,
    variables: Mapping[str, str],
    display_name: str,
    organization: str,
    enrollment: str,
    description: str = "",
    secrets: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The configuration profile (a dict; plistlib writes it) for these settings, for a
    device on `platform` under `enrollment` ("user" or "device").

    Keys that device ignores or does not have are left out (they would do nothing there);
    keys it forbids stay, so that Apple's schema finds them (`problems`)."""
    content = kinds.build_payloads(
        kind,
        {k: v for k, v in settings.items() if not is_secret(v)},
        identifier=identifier,
        version=version,
        platform=platform,
        variables=variables,
        secrets=secrets,
    )
    for payload in content:
        _drop_inert_keys(payload, platform, enrollment)
    profile: dict[str, Any] = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": kinds.stable_uuid(identifier, f"profile:{version}"),
        "PayloadDisplayName": display_name,
        "PayloadOrganization": organization,
        "PayloadContent": content,
    }
    if description:
        profile["PayloadDescription"] = description
    return profile


def _drop_inert_keys(payload: dict[str, Any], platform: str, enrollment: str) -> None:
    payload_type = payload["PayloadType"]
    for key in [k for k in payload if not k.startswith("Payload")]:
        try:
            mode = apple_schema.key_mode(payload_type, [key], SCHEMA_OS[platform], enrollment)
        except apple_schema.SchemaError:
            continue  # Apple's schema reports it as unknown
        if mode in ("ignored", "unsupported"):
            del payload[key]
