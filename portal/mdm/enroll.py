"""Account-driven User Enrollment: discovery, the web sign-in's token, the profile.

The BaseURL handed out by discovery (`/mdm/enroll`) only ever enrolls *personal*
devices: the token records the User Enrollment decision taken at sign-in, and the profile
served for it is a User Enrollment profile or nothing — never a company-owned one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import audit
from ..enrollment import journey, lifecycle, policy, profile_service, service
from ..enrollment.pki import unwrap_signed_data
from ..enrollment.profile_service import MDMSettings, SignedProfile
from ..enrollment.profiles import ProfileKind
from ..extensions import db
from ..models import (
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    MDMAccessToken,
    Organization,
    User,
    utcnow,
)
from . import plist_limits, tokens
from .errors import Conflict, Forbidden, Unauthenticated

CALLBACK = "apple-remotemanagement-user-login://authentication-results"
MAX_IDENTIFIER = 320
# The OS is unknown before the device posts its details: assume a current one.
ASSUMED_OS: dict[str, policy.Version] = {"ios": (18, 0), "ipados": (18, 0), "macos": (15, 0)}
_MODEL_FAMILIES = {"iphone": "ios", "ipad": "ipados", "mac": "macos"}
_PRODUCT_PREFIXES = (
    ("iPhone", "ios"),
    ("iPad", "ipados"),
    ("Mac", "macos"),
    ("iMac", "macos"),
    ("VirtualMac", "macos"),
)


class DiscoveryRefused(Exception):
    """Discovery answers 403 (the same for every reason, so nothing is revealed)."""

    def __init__(self, reason: str, user: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


class WrongAccount(Exception):
    """The person signed in is not the account the device asked for."""


class NotUserEnrollment(Exception):
    """The person's decision is not User Enrollment: no personal-device token."""

    def __init__(self, decision: policy.Decision) -> None:
        super().__init__(decision.type)
        self.decision = decision


def platform_for_model_family(value: str | None) -> str | None:
    """iPhone → ios, iPad → ipados, Mac → macos (absent: ios); None if unknown."""
    if value is None or value == "":
        return "ios"
    return _MODEL_FAMILIES.get(value.strip().lower())


def platform_from_user_agent(user_agent: str) -> str:
    """The platform a web view's User-Agent suggests (iPadOS may claim to be a Mac)."""
    if "iPhone" in user_agent:
        return "ios"
    if "iPad" in user_agent:
        return "ipados"
    if "Macintosh" in user_agent:
        return "macos"
    return "ios"


def find_account(identifier: str) -> User | None:
    """The user whose e-mail or Managed Apple ID is `identifier` (any case)."""
    value = (identifier or "").strip().lower()
    if not value or len(value) > MAX_IDENTIFIER or "@" not in value:
        return None
    return db.session.scalar(
        sa.select(User).where(
            sa.or_(User.email == value, sa.func.lower(User.managed_apple_id) == value)
        )
    )


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def _in_domains(domain: str, domains: list[str]) -> bool:
    # The Managed Apple ID may live in a subdomain (appleid.example.com).
    return any(domain == d or domain.endswith("." + d) for d in domains)


def _is_user_enrollment(user: User, platform: str, version: policy.Version, **kwargs) -> bool:
    decision = service.explain(user, platform=platform, os_version=version, **kwargs)
    return decision.type == policy.EnrollmentType.USER


def discover(user_identifier: str | None, model_family: str | None, settings: MDMSettings):
    """The discovery document for this account, or DiscoveryRefused."""
    platform = platform_for_model_family(model_family)
    if platform is None:
        raise DiscoveryRefused("unknown_model_family")
    user = find_account(user_identifier or "")
    if user is None or not user.active:
        raise DiscoveryRefused("unknown_user")
    org = db.session.get(Organization, user.org_id)
    domains = [str(d).strip().lower() for d in (org.domains if org else []) if d]
    if _domain(user.email) not in domains or not _in_domains(
        _domain(user_identifier or ""), domains
    ):
        raise DiscoveryRefused("foreign_domain", user)
    if not _is_user_enrollment(user, platform, ASSUMED_OS[platform], channel="account"):
        raise DiscoveryRefused("not_user_enrollment", user)
    return {"Servers": [{"Version": "mdm-byod", "BaseURL": settings.url("/mdm/enroll")}]}


def matches_account(user: User, identifier: str) -> bool:
    value = identifier.strip().lower()
    return value in {user.email.lower(), (user.managed_apple_id or "").lower()}


def authorize(
    user: User, *, user_identifier: str | None, platform: str, settings: MDMSettings
) -> str:
    """End the web sign-in: a fresh access token for a User Enrollment. Caller commits.

    :raise WrongAccount: `user_identifier` names someone else.
    :raise NotUserEnrollment: the person's decision is not User Enrollment.
    """
    if user_identifier and not matches_account(user, user_identifier):
        raise WrongAccount()
    decision = service.explain(
        user, platform=platform, os_version=ASSUMED_OS[platform], channel="account"
    )
    if decision.type != policy.EnrollmentType.USER:
        raise NotUserEnrollment(decision)
    token, row = tokens.issue(user, EnrollmentType.USER, minutes=settings.enroll_token_minutes)
    audit.record(
        user, "mdm.enroll.signed_in", channel="mdm", target=user, after={"token_id": row.id}
    )
    return token


def callback_url(token: str) -> str:
    return f"{CALLBACK}?access-token={token}"


def machine_info(body: bytes, *, limit: int) -> dict[str, Any]:
    """The device's enrollment request: a plist, bare or inside CMS SignedData."""
    content = unwrap_signed_data(body)
    bounds = replace(plist_limits.ENROLL, max_bytes=min(limit, plist_limits.ENROLL.max_bytes))
    return plist_limits.parse(content if content is not None else body, bounds)


def device_facts(info: dict[str, Any]) -> tuple[str | None, policy.Version | None, str]:
    """(platform, OS version, product) from PRODUCT and OS_VERSION (or VERSION)."""
    product = info.get("PRODUCT")
    product = product.strip()[:100] if isinstance(product, str) else ""
    platform = next((p for prefix, p in _PRODUCT_PREFIXES if product.startswith(prefix)), None)
    version = None
    for key in ("OS_VERSION", "VERSION"):  # VERSION is usually a build number like 22C161
        raw = info.get(key)
        if isinstance(raw, str):
            try:
                version = service.parse_os_version(raw)
                break
            except service.EnrollmentInputError:
                continue
    return platform, version, product


def _live_token(bearer: str, now: datetime) -> MDMAccessToken:
    row = tokens.find(bearer)
    if row is None:
        raise Unauthenticated("unknown_token")
    if not tokens.is_live(row, now):
        # Expired or revoked: the device signs in again.
        raise Unauthenticated("token_not_live", device=row.device)
    return row


def profile_for_token(
    bearer: str, info: dict[str, Any], settings: MDMSettings, now: datetime | None = None
) -> SignedProfile:
    """The account-driven User Enrollment profile for the device holding `bearer`.

    Creates (or, on a retry, reuses) the device row in status profile_downloaded and binds
    the token to it. The caller commits.
    """
    now = now or utcnow()
    row = _live_token(bearer, now)
    user = row.user
    if not user.active:
        raise Forbidden("user_inactive", device=row.device)
    if row.enrollment_type != EnrollmentType.USER:
        raise Forbidden("token_not_for_user_enrollment", device=row.device)
    device = row.device
    if device is not None and device.status != DeviceStatus.PROFILE_DOWNLOADED:
        raise Conflict("token_already_enrolled", device=device)
    platform, version, product = device_facts(info)
    platform = platform or (device.platform if device is not None else "ios")
    version = version or ASSUMED_OS[platform]
    if device is None and journey.limit_reached(
        user, platform, limit=settings.max_devices_per_user
    ):
        raise Forbidden("device_limit_reached")
    decision = service.explain(
        user, platform=platform, os_version=version, channel="account", record=True, via="mdm"
    )
    if decision.type != policy.EnrollmentType.USER:
        # Never fall back to a company-owned enrollment of a device that came as personal.
        raise Forbidden("no_longer_user_enrollment", device=device)
    device, secret = lifecycle.start_enrollment(
        user,
        platform=platform,
        os_version=".".join(str(n) for n in version),
        enrollment_type=EnrollmentType.USER,
        method=EnrollmentMethod.ACCOUNT_DRIVEN,
        owner=DeviceOwner.EMPLOYEE,
        topic=profile_service.push_topic(settings),
        device=device,
        details={"profile": ProfileKind.USER_ACCOUNT.value, "product": product},
        now=now,
    )
    tokens.revoke_for_device(device, now, keep=row)
    tokens.bind(row, device, days=settings.access_token_days, now=now)
    return profile_service.build_signed_profile(
        settings,
        kind=ProfileKind.USER_ACCOUNT,
        user=user,
        device=device,
        secret=secret,
        locale=device_language(info, settings.languages) or user.locale,
    )


def device_language(info: dict[str, Any], languages: tuple[str, ...]) -> str | None:
    """The portal language closest to the device's LANGUAGE ("fr-CA" → "fr"), if any."""
    raw = info.get("LANGUAGE")
    if not isinstance(raw, str):
        return None
    language = raw.strip().replace("_", "-").split("-", 1)[0].lower()
    return language if language in languages else None
