"""What the company can and cannot see and do, by enrollment type (the reference guide's
table, in plain words), and Apple's rules for the device actions (SPEC §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from ..models import EnrollmentType, Platform


class Action(StrEnum):
    WIPE = "wipe"
    UNLOCK = "unlock"
    LOCK = "lock"
    REMOVE_WORK_DATA = "remove_work_data"


REQUEST_TYPES = {
    Action.WIPE: "EraseDevice",
    Action.UNLOCK: "ClearPasscode",
    Action.LOCK: "DeviceLock",
    Action.REMOVE_WORK_DATA: "RemoveProfile",
}
ACTION_LABELS = {
    Action.WIPE: _l("Wipe"),
    Action.UNLOCK: _l("Unlock (clear passcode)"),
    Action.LOCK: _l("Lock"),
    Action.REMOVE_WORK_DATA: _l("Remove work data"),
}

# Why Apple forbids an action, by reason code.
REASONS = {
    "user_enrollment_no_erase": _l(
        "Apple does not let a company erase a device enrolled with User Enrollment: "
        "your personal data stays yours."
    ),
    "user_enrollment_no_unlock": _l(
        "Apple does not let a company clear the passcode of a device enrolled with User Enrollment."
    ),
    "user_enrollment_macos_no_lock": _l(
        "Apple does not let a company lock a Mac enrolled with User Enrollment."
    ),
    "unlock_not_on_macos": _l("Clearing the passcode does not exist on a Mac."),
    "mam_no_device_control": _l(
        "Only work apps are managed on this device: the company cannot control the device itself."
    ),
    "not_enrolled": _l("The device is not enrolled, so it cannot receive commands."),
    "no_unlock_token": _l(
        "The device has not given the portal its unlock token, which Apple requires to clear "
        "a passcode. An iPhone or iPad sends it when it enrolls with a passcode set."
    ),
    "unlock_token_unreadable": _l(
        "The device's unlock token can no longer be read (the portal's secret key changed). "
        "It comes back when the device next renews its push token or enrolls again."
    ),
}


def _is_mac(platform: str) -> bool:
    return platform == Platform.MACOS


def forbidden_reason(action: Action, enrollment_type: str, platform: str) -> str | None:
    """Apple's rule for `action` on this kind of enrollment: None if allowed, else a reason
    code (SPEC §5's table; the enrollment status is checked by the service)."""
    if action is Action.REMOVE_WORK_DATA:
        return None
    if enrollment_type == EnrollmentType.MAM:
        return "mam_no_device_control"
    if action is Action.UNLOCK and _is_mac(platform):
        return "unlock_not_on_macos"
    if enrollment_type == EnrollmentType.USER:
        if action is Action.WIPE:
            return "user_enrollment_no_erase"
        if action is Action.UNLOCK:
            return "user_enrollment_no_unlock"
        if action is Action.LOCK and _is_mac(platform):
            return "user_enrollment_macos_no_lock"
    return None


@dataclass(frozen=True)
class Capability:
    text: object  # a lazy string
    can: bool
    note: object | None = None


# (text, User Enrollment, MAM, Device Enrollment, note for Device Enrollment)
_MATRIX = [
    (_l("Erase the whole device"), False, False, True, None),
    (_l("See your personal apps"), False, False, True, None),
    (
        _l("Turn apps you installed yourself into company-managed apps, or back"),
        False,
        False,
        True,
        None,
    ),
    (_l("Clear your passcode (unlock the device)"), False, False, True, None),
    (
        _l("Set up a VPN or Wi-Fi proxy for the whole device, or manage cellular settings"),
        False,
        False,
        True,
        None,
    ),
    (
        _l("See hardware identifiers such as the serial number, UDID or IMEI"),
        False,
        False,
        True,
        None,
    ),
    (_l("Apply supervised restrictions"), False, False, True, _l("supervised devices only")),
    (_l("Install and set up work apps and accounts"), True, True, True, None),
    (
        _l("Set up a VPN for the work apps, mail, contacts and calendars it installed"),
        True,
        False,
        True,
        None,
    ),
    (
        _l(
            "Apply some restrictions, such as managed open-in, managed contacts or work data on "
            "the lock screen"
        ),
        True,
        False,
        True,
        None,
    ),
    (_l("See information about work apps, certificates and profiles"), True, False, True, None),
]
_COLUMN = {EnrollmentType.USER: 1, EnrollmentType.MAM: 2, EnrollmentType.DEVICE: 3}

# Configurations the reference guide lists as never applied to a Mac under User Enrollment.
MACOS_USER_ENROLLMENT_UNSUPPORTED = {
    "passcode": _l("Passcode"),
    "tunnel": _l("Tunnel"),
    "tunnel_on_demand": _l("Tunnel (on demand)"),
    "vpn": _l("VPN configurations"),
    "office365_account": _l("Office 365 automatic account creation"),
    "kernel_extension_policy": _l("macOS kernel extension policy"),
    "privacy_preferences": _l("Privacy preferences"),
    "macos_restrictions": _l("macOS restrictions"),
    "software_updates": _l("Software updates"),
    "airprint": _l("AirPrint"),
    "mdm_client_privacy": _l("MDM client privacy"),
    "filevault": _l("FileVault 2"),
    "filevault_recovery_key": _l("FileVault recovery key"),
    "firewall": _l("Firewall"),
    "system_policy_rule": _l("System policy rule"),
    "certificate_preference": _l("Certificate preference"),
    "system_policy_control": _l("System policy control"),
    "system_policy_managed": _l("Managed system policy"),
    "macos_app_store_restrictions": _l("macOS App Store restrictions"),
    "macos_disc_burning": _l("macOS disc burning restrictions"),
    "macos_finder": _l("macOS Finder settings"),
    "mdm_agent_macos": _l("MDM agent app for macOS"),
    "mdm_agent_macos_script": _l("MDM agent scripts for macOS"),
    "allowed_media_management": _l("Allowed media management"),
    "time_server": _l("Time server"),
    "allowed_apps_policy": _l("Allowed apps policy"),
}


def capabilities(enrollment_type: str, platform: str) -> list[Capability]:
    """What the company can and cannot do on a device of this enrollment type and platform."""
    column = _COLUMN.get(EnrollmentType(enrollment_type), 3)
    rows = [Capability(row[0], row[column], row[4] if column == 3 else None) for row in _MATRIX]
    if enrollment_type != EnrollmentType.MAM:
        lock_reason = forbidden_reason(Action.LOCK, enrollment_type, platform)
        rows.append(
            Capability(_l("Lock the device, for example when it is lost"), lock_reason is None)
        )
    rows.append(Capability(_l("Remove the work apps, accounts and data"), True))
    return rows


def notes(enrollment_type: str, platform: str) -> list[object]:
    """Plain-words facts that go with the capabilities of this kind of device."""
    result = []
    if enrollment_type == EnrollmentType.USER:
        result.append(
            _l(
                "Work data lives in a separate, separately encrypted volume. Removing work data "
                "deletes that volume and its keys; your personal data is not touched."
            )
        )
        result.append(
            _l(
                "The company knows this device only by an enrollment ID that changes at each "
                "enrollment."
            )
        )
        if _is_mac(platform):
            result.append(
                _l(
                    "On a Mac, some settings are never applied under User Enrollment, such as "
                    "passcode, VPN, FileVault, firewall and software update settings."
                )
            )
    return result
