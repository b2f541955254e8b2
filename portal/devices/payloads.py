"""Configuration profiles the admin sends to enrolled devices, built with plistlib.

Pure builders: no Flask, no database. The PayloadIdentifier of each configuration is
stable under the portal's identifier prefix, so sending it again replaces the profile
installed on the device instead of adding a second one.
"""

from __future__ import annotations

import plistlib
import uuid
from collections.abc import Mapping
from typing import Any

from ..mdm import apple_schema

PASSCODE_PAYLOAD_TYPE = "com.apple.mobiledevice.passwordpolicy"

# Apple's schema (mdm/profiles/com.apple.mobiledevice.passwordpolicy.yaml): key → type, range.
PASSCODE_KEYS: dict[str, tuple[type, tuple[int, int] | None]] = {
    "allowSimple": (bool, None),
    "forcePIN": (bool, None),
    "requireAlphanumeric": (bool, None),
    "minLength": (int, (0, 16)),
    "minComplexChars": (int, (0, 4)),
    "maxFailedAttempts": (int, (2, 11)),
    "maxInactivity": (int, (0, 15)),
    "maxPINAgeInDays": (int, (0, 730)),
    "pinHistory": (int, (1, 50)),
}


class PayloadError(ValueError):
    """The configuration cannot be built from these values."""


def configuration_identifier(identifier_prefix: str, name: str) -> str:
    """The PayloadIdentifier of configuration `name` (the same at every send)."""
    return f"{identifier_prefix}.configuration.{name}"


def _uuid(identifier: str, part: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{identifier}:{part}")).upper()


def check_passcode_settings(settings: Mapping[str, Any]) -> None:
    """Raise PayloadError unless every key is a passcode key of the right type and range."""
    if not settings:
        raise PayloadError("a passcode policy needs at least one setting")
    for key, value in settings.items():
        if key not in PASSCODE_KEYS:
            raise PayloadError(f"not a passcode policy key: {key!r}")
        kind, bounds = PASSCODE_KEYS[key]
        # bool is an int in Python: check it first so True is no minLength.
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise PayloadError(f"{key} must be a {kind.__name__}: {value!r}")
        if bounds and not bounds[0] <= value <= bounds[1]:
            raise PayloadError(f"{key} must be between {bounds[0]} and {bounds[1]}: {value!r}")


def split_ignored(
    payload_type: str, settings: Mapping[str, Any], *, platform: str, enrollment: str
) -> tuple[dict[str, Any], list[str]]:
    """(the settings the device applies, the keys Apple's schema says it ignores) for a
    device of `platform` ("ios", "ipados", "macos") under `enrollment` ("user", "device")."""
    applied: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in settings.items():
        mode = apple_schema.key_mode(payload_type, key, platform, enrollment)
        if mode == "ignored":
            ignored.append(key)
        else:
            applied[key] = value
    return applied, ignored


def build_passcode_profile(
    identifier_prefix: str,
    settings: Mapping[str, Any],
    *,
    version: str,
    organization: str,
    display_name: str,
    description: str,
    platform: str | None = None,
    enrollment: str | None = None,
) -> bytes:
    """The unsigned Configuration profile with one passcode policy payload (XML plist).

    `version` names this set of settings (a preset): the PayloadUUIDs derive from it, so
    a different policy is a different profile with the same identifier.
    With `platform` and `enrollment`, the keys that device ignores are left out: under User
    Enrollment an iPhone or iPad applies its own fixed policy to any passcode payload, so
    its payload carries no setting at all. PayloadRemovalDisallowed is not set: User
    Enrollment does not allow it.
    """
    check_passcode_settings(settings)
    if platform is not None and enrollment is not None:
        settings, _ignored = split_ignored(
            PASSCODE_PAYLOAD_TYPE, settings, platform=platform, enrollment=enrollment
        )
    identifier = configuration_identifier(identifier_prefix, "passcode")
    payload: dict[str, Any] = {
        "PayloadType": PASSCODE_PAYLOAD_TYPE,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.policy",
        "PayloadUUID": _uuid(identifier, f"policy:{version}"),
        "PayloadDisplayName": display_name,
        **settings,
    }
    profile: dict[str, Any] = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": _uuid(identifier, f"profile:{version}"),
        "PayloadDisplayName": display_name,
        "PayloadDescription": description,
        "PayloadOrganization": organization,
        "PayloadContent": [payload],
    }
    try:
        return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"a profile value cannot be written to a plist: {exc}") from exc
