"""Fixtures of the Apps & Books tests: demo people, enrolled devices, catalogue apps."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from portal.apps import catalogue
from portal.directory import service as directory
from portal.extensions import db
from portal.models import (
    App,
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    LicenceType,
    Platform,
    User,
)

_serials = itertools.count(1)


def person(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def admin() -> User:
    return person("adam@example.com")


def enrolled(
    email: str,
    kind: EnrollmentType = EnrollmentType.USER,
    platform: Platform = Platform.IOS,
    status: DeviceStatus = DeviceStatus.ENROLLED,
) -> Device:
    """A device of `email`, enrolled (User Enrollment gives no serial number)."""
    number = next(_serials)
    device = Device(
        user=person(email),
        name=f"{kind} {platform} {number}",
        platform=platform,
        enrollment_type=kind,
        enrollment_method=EnrollmentMethod.PROFILE,
        status=status,
        enrollment_id=f"ENR-{number}" if kind == EnrollmentType.USER else None,
        udid=f"UDID-{number}" if kind == EnrollmentType.DEVICE else None,
        serial_number=f"SERIAL{number:04d}" if kind == EnrollmentType.DEVICE else None,
    )
    db.session.add(device)
    db.session.commit()
    return device


def new_app(
    adam_id: str = "951937596",
    name: str = "Outlook",
    *,
    total: int = 5,
    licence_type: LicenceType = LicenceType.USER,
    platform: Platform = Platform.IOS,
) -> App:
    app = catalogue.add(
        admin(),
        adam_id=adam_id,
        name=name,
        platform=platform,
        licence_type=licence_type,
        total_licences=total,
    )
    db.session.commit()
    return app


def org():
    return directory.organization()


@pytest.fixture
def people(seeded):
    """The demo organization and people, in an application context."""
    with seeded.app_context():
        yield seeded
