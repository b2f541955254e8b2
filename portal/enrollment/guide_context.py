"""What the enrollment page shows for one person and one device choice."""

from __future__ import annotations

from flask import url_for

from ..directory.service import NoOrganization, organization
from ..models import EnrollmentMethod, EnrollmentType, Platform, User
from . import guide, lifecycle
from . import service as enrollment


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


def build(user: User, platform: Platform, os_range: guide.OsRange, guessed: bool) -> dict:
    """Template context for the guide and its live status (the same for page and fragment)."""
    decision = enrollment.explain(user, platform=platform, os_version=os_range.version)
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
    status = lifecycle.enrollment_status(user, platform=platform)
    profile_url = None
    if decision.method == EnrollmentMethod.PROFILE:
        profile_url = url_for("mdm.profile", platform=platform.value, os=os_range.version)
    return {
        "platform": platform.value,
        "device_name": guide.DEVICE_NAMES[platform],
        "status_device_name": guide.DEVICE_NAMES[status.platform or platform],
        "ranges": guide.OS_RANGES[platform],
        "selected_range": os_range,
        "guessed": guessed,
        "decision": decision,
        "steps": steps,
        "enroll_status": status,
        "current_step": guide.current_step(steps, status.step),
        "profile_url": profile_url,
    }
