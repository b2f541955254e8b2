"""What the enrollment page shows for one person and one device choice."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import url_for

from ..devices import capabilities
from ..directory.service import NoOrganization, organization
from ..extensions import db
from ..models import Device, EnrollmentMethod, EnrollmentType, Platform, User
from . import guide, journey, lifecycle
from . import service as enrollment

_MOBILE = re.compile(r"iPhone|iPad|iPod|Android|Mobile", re.IGNORECASE)


def on_a_computer(user_agent: str) -> bool:
    """A browser that is not a phone's or a tablet's (where a QR code makes sense)."""
    return not _MOBILE.search(user_agent or "")


def last_device_id(user: User) -> int:
    """The newest device id of the person: the page follows enrollments after it."""
    return int(
        db.session.scalar(sa.select(sa.func.max(Device.id)).where(Device.user_id == user.id)) or 0
    )


def parse_after(raw: object) -> int | None:
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def choose_device(args, user_agent: str) -> tuple[Platform, guide.OsRange, bool]:
    """The platform and OS range asked for, else what the browser says, else the newest iPhone.

    Returns (platform, range, guessed): `guessed` when it came from the user agent.
    """
    guessed_device = guide.from_user_agent(user_agent)
    raw = args.get("platform")
    if raw in set(Platform):
        platform = Platform(raw)
        key = args.get("os")
        guessed = False
    elif guessed_device:
        platform, key = guessed_device
        guessed = True
    else:
        platform, key, guessed = Platform.IOS, args.get("os"), False
    return platform, guide.os_range(platform, key), guessed


def build(
    user: User,
    platform: Platform,
    os_range: guide.OsRange,
    guessed: bool,
    *,
    user_agent: str = "",
    reenroll: object = None,
    after_id: int | None = None,
    device_limit: int = 0,
) -> dict:
    """Template context for the guide and its live status (the same for page and fragment).

    `reenroll` is the id of a listed device the person is enrolling again ("new" or nothing
    for a new device); `after_id` the newest device id when the page was opened, so the live
    status follows this enrollment, not an earlier device's.
    """
    listed = journey.listed_devices(user, platform)
    reenrolling = journey.reenrolling_device(user, platform, reenroll)
    decision = enrollment.explain(
        user, platform=platform, os_version=os_range.version, reenrolling=reenrolling
    )
    try:
        org_name = organization().name
    except NoOrganization:
        org_name = ""
    steps = guide.steps(
        platform=platform,
        enrollment_type=EnrollmentType(decision.type),
        method=EnrollmentMethod(decision.method),
        org_name=org_name,
        email=user.email,
        managed_apple_id=user.managed_apple_id,
    )
    # On the device itself, in its browser: "open the link in Safari" is already done.
    browsing_on = guide.from_user_agent(user_agent)
    on_device = browsing_on is not None and browsing_on[0] == platform
    if on_device and steps and steps[0].opens_link:
        steps[0] = guide.Step(steps[0].title, steps[0].screen, 0, opens_link=True)
    if after_id is None:
        after_id = last_device_id(user)
    status = lifecycle.enrollment_status(user, platform=platform, after_id=after_id)
    profile_url = None
    if decision.method == EnrollmentMethod.PROFILE:
        args = {"platform": platform.value, "os": os_range.version}
        if reenrolling is not None:
            args["reenroll"] = reenrolling.id
        profile_url = url_for("mdm.profile", **args)
    limit_reached = (
        reenrolling is None
        and status.status is None
        and journey.limit_reached(user, platform, limit=device_limit)
    )
    return {
        "platform": platform.value,
        "device_name": guide.DEVICE_NAMES[platform],
        "status_device_name": guide.DEVICE_NAMES[status.platform or platform],
        "ranges": guide.OS_RANGES[platform],
        "selected_range": os_range,
        "guessed": guessed,
        "on_device": on_device,
        "on_computer": on_a_computer(user_agent),
        "decision": decision,
        "steps": steps,
        "enroll_status": status,
        "current_step": guide.current_step(steps, status.step),
        "profile_url": profile_url,
        "listed_devices": listed,
        "reenrolling": reenrolling,
        "after_id": after_id,
        "device_limit": device_limit,
        "limit_reached": limit_reached,
        "capabilities": capabilities.capabilities(decision.type.value, platform.value),
    }
