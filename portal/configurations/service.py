"""Configurations: create, change, assign, delete; each checked against Apple's schema for
every system and enrollment type it is assigned to, and refused with the reason when it
could not apply there (SPEC §5, §6).

Services take the acting user as an argument, flush but never commit. An edit that changes
what devices get raises the version; the identifier never changes, so devices replace the
installed profile.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from .. import audit
from ..apple import secrets as secret_box
from ..devices.capabilities import MACOS_USER_ENROLLMENT_UNSUPPORTED
from ..domain import DomainError
from ..extensions import db
from ..mdm import apple_schema
from ..models import (
    Configuration,
    ConfigurationKind,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    User,
    setting_assignment,
)
from . import kinds

INVALID_REQUEST_TYPE = "Restrictions – this is not a valid request type"
PLATFORMS = ("ios", "macos")
# Apple's name of each system in its schema.
SCHEMA_OS = {"ios": "iOS", "macos": "macOS"}
MAX_NAME = 200
MIN_PRIORITY, MAX_PRIORITY = 1, 1000
SECRET_PREFIX = "enc:"  # noqa: S105 (a marker, not a secret)

PLATFORM_LABELS = {"ios": _l("iPhone and iPad"), "macos": _l("Mac")}
ENROLLMENT_LABELS = {
    EnrollmentType.USER: _l("User Enrollment"),
    EnrollmentType.DEVICE: _l("Device Enrollment"),
}


class ConfigurationError(DomainError):
    status = 400

    def __init__(self, message: object, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.field = field
        if status is not None:
            self.status = status


class NotApplicable(ConfigurationError):
    """The configuration could not apply where it is assigned; `reasons` say why."""

    status = 409

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(_l("This configuration could not apply where it is assigned:"), field=None)
        self.reasons = reasons


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
        {k: v for k, v in settings.items() if not _is_secret(v)},
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


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SECRET_PREFIX)


def seal(secret_key: str, value: str) -> str:
    return SECRET_PREFIX + secret_box.encrypt(secret_key, value.encode())


def open_secrets(secret_key: str, configuration: Configuration) -> dict[str, str]:
    """The configuration's secret fields, decrypted (unreadable ones left out)."""
    result = {}
    for name, value in (configuration.settings or {}).items():
        if _is_secret(value):
            try:
                result[name] = secret_box.decrypt(secret_key, value[len(SECRET_PREFIX) :]).decode()
            except secret_box.SecretUnreadable:
                continue
    return result


# --- storage -------------------------------------------------------------------------------


def all_configurations() -> list[Configuration]:
    return list(
        db.session.scalars(
            sa.select(Configuration).order_by(
                Configuration.priority, sa.func.lower(Configuration.name)
            )
        )
    )


def get(configuration_id: int) -> Configuration:
    configuration = db.session.get(Configuration, configuration_id)
    if configuration is None:
        raise ConfigurationError(_l("That configuration does not exist (any more)."), status=404)
    return configuration


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40] or "configuration"


def _clean_common(name: str | None, platforms: Iterable[str], priority: Any) -> tuple:
    name = " ".join((name or "").split())
    if not name:
        raise ConfigurationError(_l("Give the configuration a name."), field="name")
    if len(name) > MAX_NAME:
        raise ConfigurationError(_l("Use at most %(num)d characters.", num=MAX_NAME), field="name")
    chosen = [p for p in PLATFORMS if p in set(platforms)]
    if not chosen:
        raise ConfigurationError(_l("Choose at least one system."), field="platforms")
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        raise ConfigurationError(
            _l("Give a priority from %(low)d to %(high)d.", low=MIN_PRIORITY, high=MAX_PRIORITY),
            field="priority",
        ) from None
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise ConfigurationError(
            _l("Give a priority from %(low)d to %(high)d.", low=MIN_PRIORITY, high=MAX_PRIORITY),
            field="priority",
        )
    return name, chosen, priority


def _groups(group_ids: Iterable[int]) -> list[Group]:
    ids = sorted({int(i) for i in group_ids})
    groups = list(db.session.scalars(sa.select(Group).where(Group.id.in_(ids)))) if ids else []
    if len(groups) != len(ids):
        raise ConfigurationError(_l("That group does not exist (any more)."), field="groups")
    return groups


def _summary(configuration: Configuration) -> dict:
    return {
        "name": configuration.name,
        "kind": str(configuration.kind),
        "version": configuration.version,
        "platforms": list(configuration.platforms or []),
        "priority": configuration.priority,
        "everyone": configuration.everyone,
        "groups": [group.name for group in configuration.groups],
        # Secrets never go into the audit log.
        "settings": {
            k: ("•••" if _is_secret(v) else v)
            for k, v in (configuration.settings or {}).items()
            if k != "file"
        },
    }


def _merge_secrets(
    kind: ConfigurationKind, cleaned: dict[str, Any], previous: Mapping[str, Any], secret_key: str
) -> dict[str, Any]:
    """Encrypt new secrets; an empty secret field keeps the stored one."""
    for name in kinds.secret_fields(kind):
        if cleaned.get(name):
            cleaned[name] = seal(secret_key, cleaned[name])
        elif previous.get(name):
            cleaned[name] = previous[name]
    spec = kinds.SPECS[ConfigurationKind(kind)]
    for f in spec.fields:
        if f.input == "file" and not cleaned.get(f.name) and previous.get(f.name):
            cleaned[f.name] = previous[f.name]
    return cleaned


def save(
    actor: User | None,
    *,
    kind: str,
    raw: Mapping[str, Any],
    name: str | None,
    platforms: Iterable[str],
    priority: Any,
    everyone: bool,
    group_ids: Iterable[int],
    secret_key: str,
    configuration: Configuration | None = None,
) -> Configuration:
    """Create (or change) a configuration from its form.

    :raise ConfigurationError: a field Apple would not accept (its `field` set).
    :raise NotApplicable: it could not apply on a system and enrollment type it reaches.
    """
    try:
        kind = ConfigurationKind(kind)
    except ValueError:
        raise ConfigurationError(_l("Choose a kind of configuration."), status=404) from None
    if configuration is not None and configuration.kind != kind:
        raise ConfigurationError(_l("Choose a kind of configuration."))
    name, chosen, priority = _clean_common(name, platforms, priority)
    previous = dict(configuration.settings or {}) if configuration is not None else {}
    stored = [
        f.name
        for f in kinds.SPECS[kind].fields
        if f.input in ("secret", "file") and previous.get(f.name)
    ]
    try:
        cleaned = kinds.clean(kind, raw, stored=stored)
    except kinds.SettingsError as exc:
        raise ConfigurationError(exc.message, field=exc.field) from None
    cleaned = _merge_secrets(kind, cleaned, previous or {}, secret_key)
    groups = _groups(group_ids)
    reasons = problems(kind, cleaned, targets(chosen, groups, everyone))
    if reasons:
        raise NotApplicable(reasons)
    taken = db.session.scalar(
        sa.select(Configuration.id).where(
            sa.func.lower(Configuration.name) == name.casefold(),
            Configuration.id != (configuration.id if configuration is not None else -1),
        )
    )
    if taken is not None:
        raise ConfigurationError(
            _l("Another configuration already has this name."), field="name", status=409
        )
    if configuration is None:
        configuration = Configuration(kind=kind, version=1, identifier="pending")
        db.session.add(configuration)
        before = None
    else:
        before = _summary(configuration)
    content_changed = (
        configuration.settings != cleaned or list(configuration.platforms or []) != chosen
    )
    configuration.name = name
    configuration.settings = cleaned
    configuration.platforms = chosen
    configuration.priority = priority
    configuration.everyone = bool(everyone)
    configuration.groups = groups
    db.session.flush()
    if before is None:
        configuration.identifier = (
            "passcode" if kind == ConfigurationKind.PASSCODE else f"{kind.value}-{configuration.id}"
        )
        audit.record(
            actor, "configuration.created", target=configuration, after=_summary(configuration)
        )
    else:
        if content_changed:
            configuration.version += 1
        after = _summary(configuration)
        if after != before:
            audit.record(
                actor, "configuration.updated", target=configuration, before=before, after=after
            )
    db.session.flush()
    return configuration


def delete(actor: User | None, configuration: Configuration) -> None:
    """Delete a configuration; devices that have it get it removed (by the caller's sync)."""
    audit.record(
        actor, "configuration.deleted", target=configuration, before=_summary(configuration)
    )
    db.session.delete(configuration)
    db.session.flush()


def file_of(configuration: Configuration) -> bytes | None:
    value = (configuration.settings or {}).get("file")
    return base64.b64decode(value) if value else None


def ensure_passcode_presets() -> list[str]:
    """The passcode presets as configurations (as migration 0016 creates them), where
    missing: for databases built without it (demo data, tests). Returns the names added."""
    from ..devices.configurations import PASSCODE_PRESETS

    added = []
    for priority, preset in zip((100, 90), PASSCODE_PRESETS.values(), strict=False):
        if db.session.scalar(sa.select(Configuration.id).where(Configuration.preset == preset.key)):
            continue
        with force_locale("en"):
            name = str(preset.label)
        db.session.add(
            Configuration(
                name=name,
                kind=ConfigurationKind.PASSCODE,
                identifier="passcode",
                settings=dict(preset.settings),
                platforms=list(PLATFORMS),
                priority=priority,
                everyone=False,
                preset=preset.key,
            )
        )
        added.append(name)
    db.session.flush()
    return added
