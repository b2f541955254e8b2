"""Demo data (SPEC §9): an organization, settings, a group and four accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from . import audit
from .configurations.service import ensure_passcode_presets
from .directory import apple_id
from .extensions import db
from .models import (
    App,
    AppleIdScheme,
    AppOffer,
    Device,
    DeviceLogEntry,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    LicenceType,
    Organization,
    Platform,
    Role,
    User,
)
from .passwords import passwords

PASSWORD = "demo-password"  # noqa: S105  (documented demo password)
ORG = "Example Corp"
USERS = [
    # e-mail, display name, role, groups
    ("alice@example.com", "Alice Martin", Role.EMPLOYEE, ["User Enrollment"]),
    ("bob@example.com", "Bob Durand", Role.EMPLOYEE, []),
    ("helen@example.com", "Helen Petit", Role.HELPDESK, []),
    ("adam@example.com", "Adam Bernard", Role.ADMIN, []),
]


class RefusedInProduction(RuntimeError):
    pass


def _get_or_add(model, lookup: dict, **values):
    row = db.session.scalar(sa.select(model).filter_by(**lookup))
    created = row is None
    if created:
        row = model(**lookup, **values)
        db.session.add(row)
        db.session.flush()
    return row, created


def seed(environment: str, *, devices: bool | None = None) -> list[str]:
    """Create what is missing; never changes what exists. Returns what was created.

    Demo devices (alice's and bob's iPhones) come too, except in tests unless asked for
    (`devices=True`): the test suite enrolls its own devices.
    """
    if environment == "production":
        raise RefusedInProduction("demo data is never seeded when PORTAL_ENV=production")
    created: list[str] = []
    org, new = _get_or_add(
        Organization,
        {"name": ORG},
        domains=["example.com"],
        apple_id_scheme=AppleIdScheme.EMAIL,
        apple_id_subdomain=True,
        abm_linked=True,
        abm_organization_name=ORG,
        abm_organization_id="EXAMPLE-CORP-0001",
        vpp_token_organization=ORG,
    )
    if new:
        created.append(f"organization {ORG}")
    default, new = _get_or_add(
        EnrollmentSetting,
        {"name": "Default"},
        description="Applies to everyone in no assigned group.",
        enrollment_type=EnrollmentType.DEVICE,
        device_owner=DeviceOwner.EMPLOYEE,
        priority=1000,
        is_default=True,
    )
    if new:
        created.append("setting Default")
    group, new = _get_or_add(
        Group, {"name": "User Enrollment"}, description="Employees enrolling personal devices."
    )
    if new:
        created.append("group User Enrollment")
    byod, new = _get_or_add(
        EnrollmentSetting,
        {"name": "BYOD – User Enrollment"},
        description="Personal iPhones, iPads and Macs: only work apps and data are managed.",
        enrollment_type=EnrollmentType.USER,
        device_owner=DeviceOwner.EMPLOYEE,
        priority=10,
    )
    if new:
        byod.groups.append(group)
        created.append("setting BYOD – User Enrollment")

    demo_hash = None
    for email, name, role, groups in USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            continue
        demo_hash = demo_hash or passwords.hash(PASSWORD)
        user = User(
            org_id=org.id,
            email=email,
            display_name=name,
            role=role,
            password_hash=demo_hash,
            managed_apple_id=apple_id.derive(
                email=email, upn=None, scheme=org.apple_id_scheme, subdomain=org.apple_id_subdomain
            ),
        )
        user.groups = [db.session.scalar(sa.select(Group).filter_by(name=g)) for g in groups]
        db.session.add(user)
        created.append(f"user {email}")
    created += [f"configuration {name}" for name in ensure_passcode_presets()]
    if environment != "testing":
        created += _seed_location_token(org)
        created += _seed_apps()
    if devices is None:
        devices = environment != "testing"
    if devices:
        created += _seed_devices()
    if created:
        audit.record(None, "demo.seed", channel="cli", after={"created": created})
    db.session.commit()
    return created


def _seed_location_token(org: Organization) -> list[str]:
    """A location token file for the demo organization, as if uploaded on the Apple setup
    page: the checklist, the Apps page and the enrollment policy all see the same token (its
    token is made up, so Apple's Apps and Books service refuses it when asked)."""
    import base64
    import json
    import secrets as random

    from flask import current_app

    from .apple import vpp_token

    if vpp_token.record() is not None:
        return []
    expires = datetime.now(UTC) + timedelta(days=365)
    content = {
        "orgName": ORG,
        "token": "demo-" + random.token_urlsafe(24),
        "expDate": expires.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }
    data = base64.b64encode(json.dumps(content).encode())
    vpp_token.upload(None, org, data, secret_key=current_app.config["SECRET_KEY"])
    return ["Apps and Books location token (demo)"]


DEMO_APPS = [
    # Apple ID, name, platform, licence type, licences bought
    ("951937596", "Microsoft Outlook", Platform.IOS, LicenceType.USER, 25),
    ("1113153706", "Microsoft Teams", Platform.IOS, LicenceType.USER, 1),
    ("985367838", "Microsoft Outlook for Mac", Platform.MACOS, LicenceType.USER, 10),
    ("361285480", "Keynote", Platform.IOS, LicenceType.DEVICE, 5),
]


# Work apps offered in the employees' catalogue: (Apple ID, group or None for everyone,
# required).
DEMO_OFFERS = [
    ("951937596", "User Enrollment", True),
    ("1113153706", None, False),
    ("985367838", "User Enrollment", False),
]


def _seed_apps() -> list[str]:
    created = []
    for adam_id, name, platform, licence_type, total in DEMO_APPS:
        _app, new = _get_or_add(
            App,
            {"adam_id": adam_id},
            name=name,
            platform=platform,
            licence_type=licence_type,
            total_licences=total,
            assigned_licences=0,
        )
        if new:
            created.append(f"app {name}")
    for adam_id, group_name, required in DEMO_OFFERS:
        app = db.session.scalar(sa.select(App).filter_by(adam_id=adam_id))
        group = (
            db.session.scalar(sa.select(Group).filter_by(name=group_name)) if group_name else None
        )
        where = AppOffer.group_id.is_(None) if group is None else AppOffer.group_id == group.id
        if db.session.scalar(sa.select(AppOffer.id).where(AppOffer.app_id == app.id, where)):
            continue
        db.session.add(AppOffer(app=app, group=group, required=required))
        created.append(f"offer {app.name} to {group_name or 'everyone'}")
    return created


DEMO_DEVICES = [
    # owner, values; looked up by enrollment ID or UDID
    (
        "alice@example.com",
        {
            "name": "Alice's iPhone",
            "platform": Platform.IOS,
            "os_version": "18.1",
            "model": "iPhone16,1",
            "enrollment_type": EnrollmentType.USER,
            "enrollment_method": EnrollmentMethod.ACCOUNT_DRIVEN,
            "enrollment_id": "DEMO-UE-7C1D2E3F-4A5B-4C6D-8E9F-0A1B2C3D4E5F",
        },
    ),
    (
        "bob@example.com",
        {
            "name": "Bob's iPhone",
            "platform": Platform.IOS,
            "os_version": "17.6",
            "model": "iPhone15,2",
            "enrollment_type": EnrollmentType.DEVICE,
            "enrollment_method": EnrollmentMethod.PROFILE,
            "udid": "00008110-000DEMO0B0B0001",
            "serial_number": "DEMOB0B00001",
        },
    ),
]
DEMO_LOG = [
    ("enrollment.started", "invited"),
    ("checkin.authenticate", "authenticated"),
    ("checkin.token_update", "enrolled"),
]


def _seed_devices() -> list[str]:
    created = []
    now = datetime.now(UTC)
    for email, values in DEMO_DEVICES:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        key = "enrollment_id" if values.get("enrollment_id") else "udid"
        if user is None or db.session.scalar(sa.select(Device).filter_by(**{key: values[key]})):
            continue
        device = Device(
            user_id=user.id,
            status=DeviceStatus.ENROLLED,
            device_owner=DeviceOwner.EMPLOYEE,
            enrolled_at=now - timedelta(days=3),
            last_checkin_at=now - timedelta(hours=2),
            **values,
        )
        db.session.add(device)
        db.session.flush()
        for minutes, (action, status) in enumerate(DEMO_LOG):
            details = {"enrollment_id": device.enrollment_id} if device.enrollment_id else {}
            db.session.add(
                DeviceLogEntry(
                    device_id=device.id,
                    action=action,
                    status=status,
                    details=details,
                    created_at=now - timedelta(days=3) + timedelta(minutes=minutes),
                )
            )
        created.append(f"device {values['name']}")
    return created
