"""Fixtures of the device tests: the demo data with its devices, and helpers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    MDMCommand,
    Platform,
    User,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def with_devices(seeded):
    """The demo data with alice's User-Enrolled and bob's Device-Enrolled iPhones."""
    from portal import demo

    with seeded.app_context():
        demo.seed("testing", devices=True)
    return seeded


def device_id(email: str) -> int:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    ids = db.session.scalars(sa.select(Device.id).where(Device.user_id == user.id)).all()
    db.session.rollback()
    return ids[0]


def command_count() -> int:
    count = db.session.scalar(sa.select(sa.func.count(MDMCommand.id)))
    db.session.rollback()
    return count


def commands() -> list[tuple[str, dict]]:
    rows = db.session.execute(
        sa.select(MDMCommand.request_type, MDMCommand.payload).order_by(MDMCommand.id)
    ).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


def add_device(email: str, kind: EnrollmentType, platform: Platform, **values) -> int:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    device = Device(
        user_id=user.id,
        name=f"{kind} {platform}",
        platform=platform,
        enrollment_type=kind,
        enrollment_method=EnrollmentMethod.PROFILE,
        status=values.pop("status", DeviceStatus.ENROLLED),
        **values,
    )
    db.session.add(device)
    db.session.commit()
    return device.id
