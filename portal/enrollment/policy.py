"""Enrollment policy (SPEC §1): which enrollment applies to a device, and every reason why.

A pure decision over plain facts: no Flask, no database, no I/O. The enum values match
``portal.models.enums``, and every comparison here uses ``==``, so either set of enums works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .policy_messages import MESSAGES


class EnrollmentType(StrEnum):
    USER = "user"
    DEVICE = "device"
    MAM = "mam"


class Method(StrEnum):
    ACCOUNT_DRIVEN = "account_driven"
    PROFILE = "profile"
    ADE = "ade"
    CONFIGURATOR = "configurator"
    NONE = "none"  # app-level management only, no MDM profile


class Platform(StrEnum):
    IOS = "ios"
    IPADOS = "ipados"
    MACOS = "macos"


class Channel(StrEnum):
    WEB = "web"
    ACCOUNT = "account"
    ADE = "ade"
    CONFIGURATOR = "configurator"


Version = tuple[int, ...]

_PLATFORM_NAMES = {Platform.IOS: "iOS", Platform.IPADOS: "iPadOS", Platform.MACOS: "macOS"}
# Oldest OS that supports User Enrollment at all (criterion 2).
_USER_ENROLLMENT_MIN: dict[str, Version] = {"ios": (13, 0), "ipados": (13, 0), "macos": (10, 15)}
# Oldest OS with account-driven User Enrollment.
_ACCOUNT_USER_MIN: dict[str, Version] = {"ios": (15,), "ipados": (15,), "macos": (14,)}
# First OS where profile-based User Enrollment is gone (the ManagedAppleID key was removed).
_PROFILE_USER_REMOVED: dict[str, Version] = {"ios": (18,), "ipados": (18,), "macos": (15,)}
# Oldest OS with account-driven Device Enrollment (ADDE).
_ACCOUNT_DEVICE_MIN: dict[str, Version] = {"ios": (17,), "ipados": (17,), "macos": (14,)}

# The six criteria of SPEC §1, in order; a UI shows them as a checklist.
CHECK_CODES = (
    "unsupervised",
    "os_supported",
    "setting_user_enrollment",
    "apple_business_manager",
    "managed_apple_id",
    "ldap_device_role",
)

_TYPE_PARAMS = frozenset({"setting", "previous"})  # values are EnrollmentType, shown by label


def _lang(locale: str) -> int:
    """Index into a catalogue entry: 1 for French ("fr", "fr-CA", "fr_FR"), else 0 (English)."""
    tag = str(locale or "").strip().lower().replace("_", "-")
    return 1 if tag.split("-", 1)[0] == "fr" else 0


def _text(key: str, locale: str) -> str:
    entry = MESSAGES.get(key)
    return entry[_lang(locale)] if entry else key


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Reason:
    """Why the outcome is what it is: a stable code plus the values its message shows."""

    code: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, **params: object) -> Reason:
        """Build a reason, turning parameter values into strings."""
        return cls(code, tuple((k, str(v)) for k, v in params.items()))

    @property
    def param_map(self) -> Mapping[str, str]:
        """The parameters as a mapping."""
        return dict(self.params)

    def message(self, locale: str = "en") -> str:
        """The message for employees, in French for "fr*" locales, otherwise in English."""
        values = _Params(
            (k, _text(f"type:{v}", locale) if k in _TYPE_PARAMS else v) for k, v in self.params
        )
        return _text(self.code, locale).format_map(values)


@dataclass(frozen=True)
class Check:
    """One User Enrollment criterion and whether it holds; ``reason`` says why it failed."""

    code: str
    passed: bool
    reason: Reason | None = None

    def label(self, locale: str = "en") -> str:
        """The criterion in words, for a checklist."""
        return _text(f"check:{self.code}", locale)


@dataclass(frozen=True)
class UserFacts:
    """What the policy needs to know about the person."""

    setting_type: EnrollmentType
    has_managed_apple_id: bool
    source: str  # "local" | "ldap" | "entra"
    has_device_management_role: bool


@dataclass(frozen=True)
class DeviceFacts:
    """What the policy needs to know about the device and how it is enrolling."""

    platform: Platform
    os_version: Version
    supervised: bool = False
    channel: Channel = Channel.WEB
    mam_applied: bool = False
    authenticator_only_match: bool = False
    previous_enrollment_type: EnrollmentType | None = None


@dataclass(frozen=True)
class OrgFacts:
    """What the policy needs to know about the organization's Apple accounts."""

    abm_linked: bool
    abm_organization: str | None
    vpp_token_organization: str | None


@dataclass(frozen=True)
class Decision:
    """The enrollment that applies, how it happens, why, and the criteria checklist."""

    type: EnrollmentType
    method: Method
    reasons: tuple[Reason, ...]
    checks: tuple[Check, ...]

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.reasons)

    def summary(self, locale: str = "en") -> str:
        """One line such as "User Enrollment, account-driven"."""
        return f"{_text(f'type:{self.type}', locale)}, {_text(f'method:{self.method}', locale)}"


def parse_version(text: str) -> Version:
    """Parse an OS version such as "17.4" or "10.15.7" into a tuple of ints."""
    parts = text.strip().split(".") if isinstance(text, str) else []
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(
            f"invalid OS version {text!r}: expected numbers separated by dots, like 17.4"
        )
    return tuple(int(p) for p in parts)


def _at_least(version: Version, minimum: Version) -> bool:
    # Pad with zeros: plain tuple comparison would rank (13,) below (13, 0).
    size = max(len(version), len(minimum))
    pad = lambda v: tuple(v) + (0,) * (size - len(v))  # noqa: E731
    return pad(version) >= pad(minimum)


def _show(version: Version) -> str:
    return ".".join(str(n) for n in version) or "?"


def user_enrollment_methods(platform: Platform, version: Version) -> tuple[Method, ...]:
    """The User Enrollment methods Apple offers on this OS, preferred first (may be empty)."""
    methods: list[Method] = []
    if _at_least(version, _ACCOUNT_USER_MIN[platform]):
        methods.append(Method.ACCOUNT_DRIVEN)
    if _at_least(version, _USER_ENROLLMENT_MIN[platform]) and not _at_least(
        version, _PROFILE_USER_REMOVED[platform]
    ):
        methods.append(Method.PROFILE)
    return tuple(methods)


def org_reason(org: OrgFacts) -> Reason | None:
    """Why criterion 4 (Apple Business Manager and its location token) fails, or None."""
    if not org.abm_linked:
        return Reason.of("abm_not_linked")
    vpp = (org.vpp_token_organization or "").strip()
    abm = (org.abm_organization or "").strip()
    if not vpp:
        return Reason.of("vpp_token_missing")
    if not abm:
        return Reason.of("abm_organization_unknown")
    if vpp.casefold() != abm.casefold():
        return Reason.of("vpp_token_other_organization", vpp_organization=vpp, abm_organization=abm)
    return None


def _os_reason(code: str, device: DeviceFacts, minimum: Version) -> Reason:
    return Reason.of(
        code,
        platform=_PLATFORM_NAMES[device.platform],
        version=_show(device.os_version),
        minimum=_show(minimum),
    )


def _checks(user: UserFacts, device: DeviceFacts, org: OrgFacts) -> tuple[Check, ...]:
    minimum = _USER_ENROLLMENT_MIN[device.platform]
    is_ldap = str(user.source).strip().lower() == "ldap"
    failures = (
        Reason.of("supervised") if device.supervised else None,
        None
        if _at_least(device.os_version, minimum)
        else _os_reason("os_too_old", device, minimum),
        None
        if user.setting_type == EnrollmentType.USER
        else Reason.of("setting_not_user_enrollment", setting=user.setting_type),
        org_reason(org),
        None if user.has_managed_apple_id else Reason.of("no_managed_apple_id"),
        Reason.of("ldap_without_device_role")
        if is_ldap and not user.has_device_management_role
        else None,
    )
    return tuple(Check(c, r is None, r) for c, r in zip(CHECK_CODES, failures, strict=True))


def _user(device: DeviceFacts, reasons: tuple[Reason, ...], checks: tuple[Check, ...]) -> Decision:
    # Account-driven whenever the OS has it; that also covers iOS 18 / macOS 15, where the
    # profile-based flow no longer exists.
    minimum = _ACCOUNT_USER_MIN[device.platform]
    if _at_least(device.os_version, minimum):
        return Decision(EnrollmentType.USER, Method.ACCOUNT_DRIVEN, reasons, checks)
    # Asked for account sign-in on an OS without it: profile-based User Enrollment still works,
    # so keep the employee's privacy and explain the switch rather than fall back to device.
    if device.channel == Channel.ACCOUNT:
        reasons += (_os_reason("account_driven_needs_newer_os", device, minimum),)
    return Decision(EnrollmentType.USER, Method.PROFILE, reasons, checks)


def _device(
    device: DeviceFacts, reasons: tuple[Reason, ...], checks: tuple[Check, ...]
) -> Decision:
    if device.channel != Channel.ACCOUNT:
        return Decision(EnrollmentType.DEVICE, Method.PROFILE, reasons, checks)
    minimum = _ACCOUNT_DEVICE_MIN[device.platform]
    if _at_least(device.os_version, minimum):
        return Decision(EnrollmentType.DEVICE, Method.ACCOUNT_DRIVEN, reasons, checks)
    return Decision(
        EnrollmentType.DEVICE,
        Method.PROFILE,
        (*reasons, _os_reason("account_driven_needs_newer_os", device, minimum)),
        checks,
    )


def decide(user: UserFacts, device: DeviceFacts, org: OrgFacts) -> Decision:
    """Decide the enrollment type and method for this user, device and organization.

    Order of precedence: ADE / Configurator channel (device); an OS too old for User
    Enrollment (device, whatever else); re-enrollment keeps the first type; a MAM
    configuration (mam); all criteria met (user, also over authenticator-only); otherwise
    authenticator-only (mam) or device. Whenever the outcome is not ``user``, every failed
    criterion is listed among the reasons.
    """
    checks = _checks(user, device, org)
    failed = tuple(c.reason for c in checks if c.reason is not None)
    previous = device.previous_enrollment_type
    mam, device_type = EnrollmentType.MAM, EnrollmentType.DEVICE

    if device.channel == Channel.ADE:
        return Decision(device_type, Method.ADE, (Reason.of("channel_ade"), *failed), checks)
    if device.channel == Channel.CONFIGURATOR:
        reasons = (Reason.of("channel_configurator"), *failed)
        return Decision(device_type, Method.CONFIGURATOR, reasons, checks)

    lead: tuple[Reason, ...] = ()
    if previous is not None and previous != device_type:
        # Used when the first type cannot be kept; the decision then starts afresh.
        lead = (Reason.of("reenrollment_type_unavailable", previous=previous),)

    # SPEC §1: an OS older than iOS 13 / macOS 10.15 is always device, whatever the settings,
    # so it also overrides a MAM configuration and the type of a first enrollment.
    if not checks[1].passed:
        return _device(device, (*lead, *failed), checks)

    if previous is not None:
        keeps = Reason.of("reenrollment_keeps_type", previous=previous)
        if previous == device_type:
            return _device(device, (keeps, *failed), checks)
        if previous == mam:
            return Decision(mam, Method.NONE, (keeps, *failed), checks)
        # A first User Enrollment survives a changed setting (criterion 3) but nothing else:
        # Apple and the org must still allow it, or the device gets a fresh decision.
        if all(c.passed for c in checks if c.code != "setting_user_enrollment"):
            met = (Reason.of("all_criteria_met"),) if not failed else ()
            return _user(device, (*met, keeps), checks)

    if device.mam_applied:
        return Decision(mam, Method.NONE, (*lead, Reason.of("mam_applied"), *failed), checks)
    if not failed:
        reasons = (Reason.of("all_criteria_met"),)
        if device.authenticator_only_match:
            reasons += (Reason.of("user_enrollment_beats_authenticator_only"),)
        return _user(device, reasons, checks)
    if device.authenticator_only_match:
        # Authenticator-only is a registration in the company app with no MDM profile, i.e.
        # app-level management: when User Enrollment is out, it applies as ``mam``.
        reasons = (*lead, Reason.of("authenticator_only_applies"), *failed)
        return Decision(mam, Method.NONE, reasons, checks)
    return _device(device, (*lead, *failed), checks)
