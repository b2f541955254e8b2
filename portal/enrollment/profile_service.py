"""Enrollment profiles for people: configuration → spec → signed .mobileconfig.

`download_profile` is the web use case (a profile for the signed-in person's decision);
`build_signed_profile` is shared with account-driven enrollment (`portal.mdm.enroll`).
Nothing here reads the request; the view passes `MDMSettings.from_config(app.config)`.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask_babel import force_locale
from flask_babel import gettext as _

from ..apple import secrets as sealing
from ..config import private_directory
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
from .profiles import (
    TOPIC_PREFIX,
    EnrollmentProfileSpec,
    ProfileError,
    ProfileKind,
    build_enrollment_profile,
    profile_filename,
    profile_identifier,
)

log = logging.getLogger(__name__)

TOPIC_FILE = "mdm_push_topic"
PKI_DIRECTORY = "pki"
DEVELOPMENT_TOPIC_PREFIX = "com.apple.mgmt.External."


class ProfileUnavailable(Exception):
    """The portal cannot make profiles until an administrator fixes its configuration."""


class NoProfileToDownload(Exception):
    """The decision has no profile to download; `reason` says what to do instead."""

    def __init__(self, reason: str, decision: policy.Decision, platform: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "account_sign_in" | "app_management"
        self.decision = decision
        self.platform = platform


@dataclass(frozen=True)
class MDMSettings:
    """What profiles and MDM endpoints need from the configuration."""

    public_base_url: str
    instance_path: Path
    organization: str
    production: bool
    push_topic: str = ""
    use_development_apns: bool = False
    ca_cert: str = ""
    ca_key: str = ""
    signing_cert: str = ""
    signing_key: str = ""
    identifier_prefix: str = ""
    enroll_token_minutes: int = 15
    access_token_days: int = 180
    languages: tuple[str, ...] = ("en",)
    # Encrypts what devices hand over (unlock and bootstrap tokens), as portal.apple.secrets.
    secret_key: str = field(default="", repr=False)
    # Ask a device for its facts as soon as it enrolls (portal.mdm.facts).
    device_facts: bool = True
    # A profile downloaded again within this time carries the same check-in secret.
    profile_reuse_hours: int = 24
    max_devices_per_user: int = 0

    @classmethod
    def from_config(cls, config: Mapping) -> MDMSettings:
        return cls(
            public_base_url=str(config["PUBLIC_BASE_URL"]).rstrip("/"),
            instance_path=Path(config["INSTANCE_PATH"]),
            organization=config.get("ORG_NAME") or "Example Corp",
            production=config.get("PORTAL_ENV") == "production",
            push_topic=config.get("MDM_PUSH_TOPIC", ""),
            use_development_apns=bool(config.get("MDM_USE_DEVELOPMENT_APNS")),
            ca_cert=config.get("MDM_CA_CERT", ""),
            ca_key=config.get("MDM_CA_KEY", ""),
            signing_cert=config.get("PROFILE_SIGNING_CERT", ""),
            signing_key=config.get("PROFILE_SIGNING_KEY", ""),
            identifier_prefix=config.get("MDM_PROFILE_IDENTIFIER", ""),
            enroll_token_minutes=int(config.get("MDM_ENROLL_TOKEN_MINUTES", 15)),
            access_token_days=int(config.get("MDM_ACCESS_TOKEN_DAYS", 180)),
            languages=tuple(config.get("LANGUAGES") or ("en",)),
            secret_key=str(config.get("SECRET_KEY") or ""),
            device_facts=bool(config.get("MDM_DEVICE_FACTS", True)),
            profile_reuse_hours=int(config.get("MDM_PROFILE_REUSE_HOURS", 24)),
            max_devices_per_user=int(config.get("MAX_DEVICES_PER_USER", 0) or 0),
        )

    def url(self, path: str) -> str:
        return self.public_base_url + path

    @property
    def pki_directory(self) -> Path:
        return self.instance_path / PKI_DIRECTORY

    @property
    def profile_prefix(self) -> str:
        """Reverse DNS of PUBLIC_BASE_URL's host (mdm.example.com → com.example.mdm)."""
        if self.identifier_prefix:
            return self.identifier_prefix
        host = (urlsplit(self.public_base_url).hostname or "localhost").strip(".")
        labels = [label for label in reversed(host.split(".")) if label]
        if len(labels) < 2:
            labels = ["local", *labels]
        return ".".join(labels)


@dataclass(frozen=True)
class SignedProfile:
    content: bytes
    filename: str
    device: Device


# --- configuration-backed material -------------------------------------------------------


def push_topic(settings: MDMSettings) -> str:
    """The uploaded push certificate's topic, else MDM_PUSH_TOPIC, else (development) a
    made-up topic kept under instance/."""
    from ..apple.push_cert import current_topic

    uploaded = current_topic()
    if uploaded:
        return uploaded
    if settings.push_topic:
        if not settings.push_topic.startswith(TOPIC_PREFIX):
            raise ProfileUnavailable(f"MDM_PUSH_TOPIC must start with {TOPIC_PREFIX!r}")
        return settings.push_topic
    if settings.production:
        raise ProfileUnavailable(
            "MDM_PUSH_TOPIC is not set: give the topic (UID) of the APNs MDM push certificate"
        )
    path = settings.instance_path / TOPIC_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    private_directory(settings.instance_path)
    topic = DEVELOPMENT_TOPIC_PREFIX + str(uuid.uuid4())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()  # another worker won the race
    with os.fdopen(fd, "w") as handle:
        handle.write(topic + "\n")
    return topic


def certificate_authority(settings: MDMSettings) -> pki.CertificateAuthority:
    """The CA that issues device identities: configured, or created under instance/pki/."""
    if bool(settings.ca_cert) != bool(settings.ca_key):
        raise ProfileUnavailable("set both MDM_CA_CERT and MDM_CA_KEY, or neither")
    if settings.ca_cert:
        try:
            cert, key, _chain = pki.load_signing_identity(
                Path(settings.ca_cert), Path(settings.ca_key)
            )
        except pki.PKIError as exc:
            raise ProfileUnavailable(f"MDM_CA_CERT/MDM_CA_KEY: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ProfileUnavailable("MDM_CA_KEY must be an RSA key")
        try:
            cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound as exc:
            raise ProfileUnavailable("MDM_CA_CERT needs a Subject Key Identifier") from exc
        return pki.CertificateAuthority(certificate=cert, private_key=key)
    try:
        return pki.load_or_create_ca(settings.pki_directory, f"{settings.organization} MDM CA")
    except pki.PKIError as exc:
        raise ProfileUnavailable(f"the CA under {settings.pki_directory}: {exc}") from exc


def signing_identity(settings: MDMSettings, ca: pki.CertificateAuthority):
    """(certificate, key, chain) that signs profiles: configured, or made from the CA."""
    if bool(settings.signing_cert) != bool(settings.signing_key):
        raise ProfileUnavailable(
            "set both PROFILE_SIGNING_CERT and PROFILE_SIGNING_KEY, or neither"
        )
    try:
        if settings.signing_cert:
            return pki.load_signing_identity(
                Path(settings.signing_cert), Path(settings.signing_key)
            )
        cert, key = pki.load_or_create_signing_identity(
            settings.pki_directory, ca, f"{settings.organization} profile signing"
        )
    except pki.PKIError as exc:
        raise ProfileUnavailable(f"profile signing certificate: {exc}") from exc
    return cert, key, [ca.certificate]


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
