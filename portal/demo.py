"""Demo data (SPEC §9): an organization, settings, a group and four accounts."""

from __future__ import annotations

import sqlalchemy as sa

from . import audit
from .directory import apple_id
from .extensions import db
from .models import (
    AppleIdScheme,
    DeviceOwner,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    Organization,
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


def seed(environment: str) -> list[str]:
    """Create what is missing; never changes what exists. Returns what was created."""
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
    if created:
        audit.record(None, "demo.seed", channel="cli", after={"created": created})
    db.session.commit()
    return created
