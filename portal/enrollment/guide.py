"""The step-by-step guide for one device, and where a person stands in it.

Each step says what to do and what the screen will say, and the enrollment status
(`lifecycle.EnrollmentStatus.step`: 1 profile downloaded, 2 authenticated, 3 enrolled) at
which it counts as done, so the live status can move the current step forward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..models import EnrollmentMethod, EnrollmentType, Platform

DEVICE_NAMES = {Platform.IOS: "iPhone", Platform.IPADOS: "iPad", Platform.MACOS: "Mac"}


@dataclass(frozen=True)
class OsRange:
    key: str
    label: object  # a lazy string
    # A version inside the range, given to the policy.
    version: str


def _later(os: str, version: str):
    return _l("%(os)s %(version)s or later", os=os, version=version)


def _span(os: str, first: str, last: str):
    return _l("%(os)s %(first)s to %(last)s", os=os, first=first, last=last)


def _pair(os: str, first: str, second: str):
    return _l("%(os)s %(first)s or %(second)s", os=os, first=first, second=second)


def _earlier(os: str, version: str):
    return _l("%(os)s %(version)s or earlier", os=os, version=version)


# Labels are translated when shown ("iOS 18 or later", "iOS 18 ou ultérieur").
OS_RANGES: dict[Platform, tuple[OsRange, ...]] = {
    Platform.IOS: (
        OsRange("18", _later("iOS", "18"), "18.0"),
        OsRange("15", _span("iOS", "15", "17"), "17.0"),
        OsRange("13", _pair("iOS", "13", "14"), "14.0"),
        OsRange("old", _earlier("iOS", "12"), "12.4"),
    ),
    Platform.IPADOS: (
        OsRange("18", _later("iPadOS", "18"), "18.0"),
        OsRange("15", _span("iPadOS", "15", "17"), "17.0"),
        OsRange("13", _pair("iPadOS", "13", "14"), "14.0"),
        OsRange("old", _earlier("iOS", "12"), "12.4"),
    ),
    Platform.MACOS: (
        OsRange("15", _later("macOS", "15"), "15.0"),
        OsRange("14", "macOS 14", "14.0"),
        OsRange("10.15", _span("macOS", "10.15", "13"), "13.0"),
        OsRange("old", _earlier("macOS", "10.14"), "10.14"),
    ),
}


def os_range(platform: Platform, key: str | None) -> OsRange:
    """The range for `key`, or the newest one."""
    for item in OS_RANGES[platform]:
        if item.key == key:
            return item
    return OS_RANGES[platform][0]


_IPHONE = re.compile(r"\((iPhone|iPod)[^)]*OS (\d+)[_.](\d+)")


def from_user_agent(user_agent: str) -> tuple[Platform, str] | None:
    """(platform, range key) when the browser says it for sure.

    An iPhone says its iOS version. An iPad and a Mac both present themselves as a Mac
    with a frozen version, so for those the person chooses.
    """
    match = _IPHONE.search(user_agent or "")
    if not match:
        return None
    version = (int(match.group(2)), int(match.group(3)))
    return Platform.IOS, range_key(Platform.IOS, version)


def range_key(platform: Platform, version: tuple[int, ...]) -> str:
    major = version[0]
    if platform == Platform.MACOS:
        if version >= (15,):
            return "15"
        if version >= (14,):
            return "14"
        return "10.15" if version >= (10, 15) else "old"
    if major >= 18:
        return "18"
    if major >= 15:
        return "15"
    return "13" if major >= 13 else "old"


@dataclass(frozen=True)
class Step:
    title: str
    screen: str | None
    done_at: int
    # The profile download button belongs to this step.
    download: bool = False
    # "Open the link in Safari": already done when the page is open on that device.
    opens_link: bool = False


def steps(
    *,
    platform: Platform,
    enrollment_type: EnrollmentType,
    method: EnrollmentMethod,
    org_name: str,
    email: str,
    managed_apple_id: str | None,
) -> list[Step]:
    """The numbered steps for this device and method, in the current language."""
    device = DEVICE_NAMES[platform]
    apple_id = managed_apple_id or ""
    if enrollment_type == EnrollmentType.MAM:
        return [
            Step(
                str(
                    _l(
                        "Install the company's apps from the App Store and sign in with %(email)s.",
                        email=email,
                    )
                ),
                None,
                3,
            )
        ]
    if method == EnrollmentMethod.ACCOUNT_DRIVEN:
        if platform == Platform.MACOS:
            where = _l("Open System Settings › General › Device Management.")
        else:
            where = _l("Open Settings › General › VPN & Device Management.")
        return [
            Step(str(where), str(_l("“Sign in to work or school account”")), 1),
            Step(
                str(
                    _l(
                        "Tap “Sign in to work or school account” and type your work e-mail, "
                        "%(email)s.",
                        email=email,
                    )
                ),
                str(_l("“Sign in to your work or school account”")),
                1,
            ),
            Step(
                str(_l("Sign in to %(org)s as you do on this portal.", org=org_name)),
                str(_l("The %(org)s sign-in page", org=org_name)),
                1,
            ),
            Step(
                str(_l("Sign in with your Managed Apple ID, %(id)s, when asked.", id=apple_id)),
                str(_l("“Managed Apple ID”")),
                2,
            ),
            Step(
                str(_l("Wait for the enrollment to finish.")), str(_l("“Enrollment complete”")), 3
            ),
        ]
    first = [
        Step(
            str(
                _l(
                    "Open the link from your invitation e-mail in Safari on the %(device)s.",
                    device=device,
                )
            ),
            None,
            1,
            opens_link=True,
        ),
        Step(
            str(_l("Download the enrollment profile and allow it.")),
            str(
                _l(
                    "“This website is trying to download a configuration profile. "
                    "Do you want to allow this?” – Allow"
                )
            ),
            1,
            download=True,
        ),
    ]
    if platform == Platform.MACOS:
        open_settings = Step(
            str(
                _l(
                    "Open System Settings › Privacy & Security › Profiles "
                    "and double-click the profile."
                )
            ),
            str(_l("“Enroll in %(org)s”", org=org_name)),
            2,
        )
    else:
        open_settings = Step(
            str(_l("Open Settings and tap “Profile Downloaded”.")),
            str(_l("“Enroll in %(org)s”", org=org_name)),
            2,
        )
    if enrollment_type == EnrollmentType.USER:
        middle = [
            open_settings,
            Step(
                str(_l("Tap “Enroll My %(device)s”.", device=device)),
                str(_l("“Enroll My %(device)s”", device=device)),
                2,
            ),
            Step(
                str(_l("Sign in with your Managed Apple ID, %(id)s.", id=apple_id)),
                str(_l("“Managed Apple ID”")),
                2,
            ),
        ]
    else:
        middle = [
            open_settings,
            Step(
                str(_l("Tap Install, then Trust to allow remote management.")),
                str(_l("“Remote Management”")),
                2,
            ),
        ]
    last = Step(
        str(_l("Wait for the enrollment to finish.")), str(_l("“Enrollment successful”")), 3
    )
    return first + middle + [last]


def current_step(all_steps: list[Step], reached: int) -> int | None:
    """Index of the first step not yet done at status `reached`; None when all are done."""
    for index, step in enumerate(all_steps):
        if step.done_at > reached:
            return index
    return None
