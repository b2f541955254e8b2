"""Enrollment profiles for people: configuration → spec → signed .mobileconfig.

`download_profile` is the web use case (a profile for the signed-in person's decision);
`build_signed_profile` is shared with account-driven enrollment (`portal.mdm.enroll`).
Nothing here reads the request; the view passes `MDMSettings.from_config(app.config)`.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _

from ..apple import secrets as sealing
from ..models import (
    Device,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Platform,
    User,
    utcnow,
)
from . import journey, lifecycle, pki, policy, service
from .mdm_identity import (  # noqa: F401  (their home; imported from here by older callers)
    DEVELOPMENT_TOPIC_PREFIX,
    PKI_DIRECTORY,
    TOPIC_FILE,
    MDMSettings,
    ProfileUnavailable,
    certificate_authority,
    push_topic,
    signing_identity,
)
from .profiles import (
    EnrollmentProfileSpec,
    ProfileError,
    ProfileKind,
    build_enrollment_profile,
    profile_filename,
    profile_identifier,
)

log = logging.getLogger(__name__)


class NoProfileToDownload(Exception):
    """The decision has no profile to download; `reason` says what to do instead."""

    def __init__(self, reason: str, decision: policy.Decision, platform: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "account_sign_in" | "app_management"
        self.decision = decision
        self.platform = platform


@dataclass(frozen=True)
class SignedProfile:
    content: bytes
    filename: str
    device: Device


# --- building ----------------------------------------------------------------------------


def enrollment_key(device: Device) -> str:
    """The key the profile's PayloadUUIDs derive from (stable per device row)."""
    return f"device:{device.id}:{device.user_id}"


def enrollment_profile_identifier(settings: MDMSettings, device: Device) -> str:
    """The PayloadIdentifier of the device's enrollment profile (for RemoveProfile)."""
    return profile_identifier(settings.profile_prefix, enrollment_key(device))


def profile_texts(kind: ProfileKind, organization: str, locale: str | None = None):
    """The profile's name and description as the device shows them, in `locale`."""
    with force_locale(locale) if locale else nullcontext():
        if kind.is_user_enrollment:
            return (
                _("%(org)s – work data (User Enrollment)", org=organization),
                _(
                    "Lets %(org)s manage its own apps, accounts and data on this device, in a "
                    "separate work volume. It cannot see or erase your personal content.",
                    org=organization,
                ),
            )
        return (
            _("%(org)s – device management", org=organization),
            _("Lets %(org)s manage this device.", org=organization),
        )


def build_signed_profile(
    settings: MDMSettings,
    *,
    kind: ProfileKind,
    user: User,
    device: Device,
    secret: str,
    locale: str | None = None,
) -> SignedProfile:
    """Issue the device identity, build the profile for `device` and sign it.

    The texts the device shows are in `locale`, else in the current request's language.
    """
    ca = certificate_authority(settings)
    cert, key = pki.issue_identity(ca, f"{settings.organization} device {device.id}")
    password = secrets.token_urlsafe(24)
    p12 = pki.identity_pkcs12(cert, key, ca.certificate, password.encode(), b"MDM identity")
    display_name, description = profile_texts(kind, settings.organization, locale)
    spec = EnrollmentProfileSpec(
        kind=kind,
        organization=settings.organization,
        identifier_prefix=settings.profile_prefix,
        server_url=settings.url(f"/mdm/connect?e={secret}"),
        checkin_url=settings.url(f"/mdm/checkin?e={secret}"),
        topic=device.topic or push_topic(settings),
        enrollment_key=enrollment_key(device),
        identity_p12=p12,
        identity_password=password,
        managed_apple_id=user.managed_apple_id,
        display_name=display_name,
        description=description,
        use_development_apns=settings.use_development_apns,
    )
    try:
        unsigned = build_enrollment_profile(spec)
    except ProfileError as exc:
        raise ProfileUnavailable(f"the enrollment profile cannot be built: {exc}") from exc
    signer, signer_key, chain = signing_identity(settings, ca)
    signed = pki.sign_profile(unsigned, signer, signer_key, chain)
    return SignedProfile(signed, profile_filename(settings.organization), device)


def web_profile_kind(decision: policy.Decision, platform: str, os_version) -> ProfileKind:
    """The profile a browser download gets for `decision`, or NoProfileToDownload."""
    if decision.type == policy.EnrollmentType.DEVICE:
        return ProfileKind.DEVICE_PROFILE
    if decision.type == policy.EnrollmentType.USER:
        methods = policy.user_enrollment_methods(policy.Platform(platform), os_version)
        if policy.Method.PROFILE in methods:
            return ProfileKind.USER_PROFILE
        raise NoProfileToDownload("account_sign_in", decision, platform)
    raise NoProfileToDownload("app_management", decision, platform)


def download_profile(
    user: User,
    *,
    platform: str,
    os_version: str,
    settings: MDMSettings,
    reenroll: object = None,
) -> SignedProfile:
    """The signed profile the person downloads in the browser for this device.

    Records the decision (channel web), creates or reuses the pending device row with a
    fresh check-in secret (status profile_downloaded). The caller commits. `reenroll` is the
    id of one of the person's listed devices they are enrolling again (it keeps its type and
    takes no new place under `max_devices_per_user`); anything else means a new device.

    :raise service.EnrollmentInputError: bad platform or OS version.
    :raise NoProfileToDownload: User Enrollment on iOS 18+/macOS 15+ (sign in in Settings
        instead), or app management only.
    :raise ProfileUnavailable: the portal's MDM configuration is incomplete.
    :raise journey.DeviceLimitReached: a new device would go over the limit.
    """
    platform = service.parse_platform(platform).value
    version = service.parse_os_version(os_version)
    reenrolling = journey.reenrolling_device(user, platform, reenroll)
    journey.check_device_limit(
        user, platform, limit=settings.max_devices_per_user, reenrolling=reenrolling
    )
    setting = service.effective_setting(user)
    decision = service.explain(
        user,
        platform=platform,
        os_version=version,
        channel="web",
        record=True,
        actor=user,
        reenrolling=reenrolling,
        setting=setting,
    )
    kind = web_profile_kind(decision, platform, version)
    topic = push_topic(settings)
    owner = setting.device_owner
    enrollment_type = EnrollmentType.USER if kind.is_user_enrollment else EnrollmentType.DEVICE
    now = utcnow()
    device, secret = None, None
    if reenrolling is None:  # a listed device enrolling again gets a profile of its own
        device, secret = _pending_secret(user, platform, enrollment_type, topic, settings, now)
    if secret is None:
        device, secret = lifecycle.start_enrollment(
            user,
            platform=platform,
            os_version=".".join(str(n) for n in version),
            enrollment_type=enrollment_type,
            method=EnrollmentMethod.PROFILE,
            owner=DeviceOwner(owner),
            topic=topic,
            details={"profile": kind.value}
            | ({"reenrolls_device": reenrolling.id} if reenrolling is not None else {}),
            now=now,
        )
        if settings.secret_key:
            device.checkin_secret_sealed = sealing.encrypt(settings.secret_key, secret.encode())
            device.checkin_secret_issued_at = now
    return build_signed_profile(settings, kind=kind, user=user, device=device, secret=secret)


def _pending_secret(
    user: User,
    platform: str,
    enrollment_type: EnrollmentType,
    topic: str,
    settings: MDMSettings,
    now: datetime,
) -> tuple[Device | None, str | None]:
    """The pending device's secret, when a profile made for it recently is still the one to
    use: downloading twice, or in two tabs, must not break the first profile."""
    device = lifecycle.pending_device(user, Platform(platform), EnrollmentMethod.PROFILE)
    if (
        device is None
        or device.status != DeviceStatus.PROFILE_DOWNLOADED
        or device.enrollment_type != enrollment_type
        or device.topic != topic
        or not device.checkin_secret_sealed
        or device.checkin_secret_issued_at is None
        or device.checkin_secret_issued_at <= now - timedelta(hours=settings.profile_reuse_hours)
        or not settings.secret_key
    ):
        return None, None
    try:
        secret = sealing.decrypt(settings.secret_key, device.checkin_secret_sealed).decode()
    except sealing.SecretUnreadable:
        return None, None  # SECRET_KEY changed: make a new one
    if lifecycle.hash_secret(secret) != device.checkin_secret_hash:
        return None, None
    return device, secret
