"""Apple MDM enrollment profiles (.mobileconfig), built with plistlib.

plistlib escapes every value, so names and secrets with XML special characters
cannot break the profile. No Flask, no global configuration.
"""

from __future__ import annotations

import plistlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ACCESS_RIGHTS_ALL",
    "ProfileError",
    "ProfileKind",
    "EnrollmentProfileSpec",
    "PayloadUUIDs",
    "build_enrollment_profile",
    "payload_uuids",
    "profile_filename",
    "profile_identifier",
]

ACCESS_RIGHTS_ALL = 8191
TOPIC_PREFIX = "com.apple.mgmt."
CAPABILITY_PER_USER = "com.apple.mdm.per-user-connections"
CAPABILITY_BOOTSTRAP_TOKEN = "com.apple.mdm.bootstraptoken"  # noqa: S105 - a capability name

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_REVERSE_DNS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


class ProfileError(ValueError):
    """The enrollment profile cannot be built from the given spec."""


class ProfileKind(StrEnum):
    """Which enrollment the profile performs."""

    USER_PROFILE = "user_profile"  # profile-based User Enrollment (iOS 13.1–17, macOS 10.15–14)
    USER_ACCOUNT = "user_account"  # account-driven User Enrollment (iOS 15+, macOS 14+)
    DEVICE_PROFILE = "device_profile"  # profile-based Device Enrollment
    DEVICE_ACCOUNT = "device_account"  # account-driven Device Enrollment (ADDE)

    @property
    def is_user_enrollment(self) -> bool:
        """True for the BYOD kinds, which never carry AccessRights."""
        return self in (ProfileKind.USER_PROFILE, ProfileKind.USER_ACCOUNT)

    @property
    def is_account_driven(self) -> bool:
        """True when the device enrolled by signing in to an account in Settings."""
        return self in (ProfileKind.USER_ACCOUNT, ProfileKind.DEVICE_ACCOUNT)

    @property
    def needs_managed_apple_id(self) -> bool:
        """True when the profile must name the Managed Apple Account."""
        return self is not ProfileKind.DEVICE_PROFILE


@dataclass(frozen=True)
class EnrollmentProfileSpec:
    """Everything that goes into one enrollment profile."""

    kind: ProfileKind
    organization: str
    identifier_prefix: str  # reverse DNS, e.g. "com.example.portal"
    server_url: str
    checkin_url: str
    topic: str
    # Stable id of this enrollment; the PayloadUUIDs are derived from it and it never
    # appears in the profile itself, so it may be a secret.
    enrollment_key: str
    identity_p12: bytes
    identity_password: str
    managed_apple_id: str | None
    display_name: str
    description: str
    use_development_apns: bool = False


@dataclass(frozen=True)
class PayloadUUIDs:
    """The PayloadUUIDs of one enrollment profile (upper-case strings, as Apple writes them)."""

    profile: str
    identity: str
    mdm: str


def payload_uuids(identifier_prefix: str, enrollment_key: str) -> PayloadUUIDs:
    """Derive the stable PayloadUUIDs of an enrollment (same key, same UUIDs)."""
    namespace = uuid.uuid5(uuid.NAMESPACE_DNS, identifier_prefix)

    def derive(part: str) -> str:
        return str(uuid.uuid5(namespace, f"{part}:{enrollment_key}")).upper()

    return PayloadUUIDs(profile=derive("profile"), identity=derive("identity"), mdm=derive("mdm"))


def profile_identifier(identifier_prefix: str, enrollment_key: str) -> str:
    """Return the top-level PayloadIdentifier (what RemoveProfile and ProfileList use)."""
    profile_uuid = payload_uuids(identifier_prefix, enrollment_key).profile
    return f"{identifier_prefix}.enrollment.{profile_uuid}"


def _check_url(name: str, value: str) -> None:
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ProfileError(f"{name} is not a valid URL: {value!r}") from exc
    if not host:
        raise ProfileError(f"{name} must be an absolute URL with a host: {value!r}")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        return  # development only: devices themselves refuse plain http
    raise ProfileError(f"{name} must use https (http only for localhost): {value!r}")


def _validate(spec: EnrollmentProfileSpec) -> ProfileKind:
    try:
        kind = ProfileKind(spec.kind)
    except ValueError as exc:
        raise ProfileError(f"unknown profile kind: {spec.kind!r}") from exc
    if not spec.topic.startswith(TOPIC_PREFIX) or len(spec.topic) == len(TOPIC_PREFIX):
        raise ProfileError(f"topic must start with {TOPIC_PREFIX!r}: {spec.topic!r}")
    if any(ch.isspace() for ch in spec.topic):
        raise ProfileError(f"topic must not contain whitespace: {spec.topic!r}")
    _check_url("server_url", spec.server_url)
    _check_url("checkin_url", spec.checkin_url)
    if not _REVERSE_DNS.fullmatch(spec.identifier_prefix):
        raise ProfileError(
            f"identifier_prefix must be reverse DNS like 'com.example.portal': "
            f"{spec.identifier_prefix!r}"
        )
    if not spec.enrollment_key:
        raise ProfileError("enrollment_key must not be empty")
    if not spec.identity_p12:
        raise ProfileError("identity_p12 must not be empty")
    if not spec.identity_password:
        raise ProfileError("identity_password must not be empty")
    if not spec.organization.strip():
        raise ProfileError("organization must not be empty")
    if not spec.display_name.strip():
        raise ProfileError("display_name must not be empty")
    if kind.needs_managed_apple_id:
        apple_id = spec.managed_apple_id
        if not apple_id or "@" not in apple_id or apple_id != apple_id.strip():
            raise ProfileError(
                f"{kind.value} enrollment needs a Managed Apple ID (user@domain), got {apple_id!r}"
            )
    return kind


def build_enrollment_profile(spec: EnrollmentProfileSpec) -> bytes:
    """Build the unsigned enrollment profile as an XML plist.

    DEVICE_PROFILE ignores `managed_apple_id`. Raises ProfileError on a bad spec.
    """
    kind = _validate(spec)
    uuids = payload_uuids(spec.identifier_prefix, spec.enrollment_key)
    top_identifier = profile_identifier(spec.identifier_prefix, spec.enrollment_key)

    identity: dict[str, Any] = {
        "PayloadType": "com.apple.security.pkcs12",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{top_identifier}.identity",
        "PayloadUUID": uuids.identity,
        "PayloadDisplayName": "MDM identity",
        "PayloadContent": bytes(spec.identity_p12),
        "Password": spec.identity_password,
    }

    capabilities = [CAPABILITY_PER_USER]
    if not kind.is_user_enrollment:
        # User Enrollment has no bootstrap token; advertising it would be meaningless.
        capabilities.append(CAPABILITY_BOOTSTRAP_TOKEN)
    mdm: dict[str, Any] = {
        "PayloadType": "com.apple.mdm",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{top_identifier}.mdm",
        "PayloadUUID": uuids.mdm,
        "PayloadDisplayName": "Device management",
        "ServerURL": spec.server_url,
        "CheckInURL": spec.checkin_url,
        "Topic": spec.topic,
        "IdentityCertificateUUID": uuids.identity,
        "ServerCapabilities": capabilities,
        "CheckOutWhenRemoved": True,
        "SignMessage": False,
    }
    if spec.use_development_apns:
        mdm["UseDevelopmentAPNS"] = True
    if kind is ProfileKind.USER_PROFILE:
        mdm["ManagedAppleID"] = spec.managed_apple_id
    elif kind is ProfileKind.USER_ACCOUNT:
        mdm["EnrollmentMode"] = "BYOD"
        mdm["AssignedManagedAppleID"] = spec.managed_apple_id
    elif kind is ProfileKind.DEVICE_PROFILE:
        mdm["AccessRights"] = ACCESS_RIGHTS_ALL
    else:
        mdm["EnrollmentMode"] = "ADDE"
        mdm["AssignedManagedAppleID"] = spec.managed_apple_id
        mdm["AccessRights"] = ACCESS_RIGHTS_ALL

    profile: dict[str, Any] = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": top_identifier,
        "PayloadUUID": uuids.profile,
        "PayloadDisplayName": spec.display_name,
        "PayloadDescription": spec.description,
        "PayloadOrganization": spec.organization,
        # No PayloadRemovalDisallowed: Apple forbids it under User Enrollment on iOS/iPadOS
        # (the device may refuse the whole profile), and a device removes an MDM profile
        # only through the portal or Settings either way.
        "PayloadContent": [identity, mdm],
    }
    try:
        return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
    except (ValueError, TypeError) as exc:
        # plistlib refuses control characters, which XML 1.0 cannot represent.
        raise ProfileError(f"a profile value cannot be written to a plist: {exc}") from exc


def profile_filename(organization: str) -> str:
    """Return a safe ASCII file name like 'Example-Corp-enrollment.mobileconfig'."""
    ascii_name = unicodedata.normalize("NFKD", organization).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-")[:60].strip("-")
    return f"{slug}-enrollment.mobileconfig" if slug else "enrollment.mobileconfig"
