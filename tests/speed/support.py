"""Helpers of the speed tests: counting SQL statements, enrolled devices that check in."""

from __future__ import annotations

import os
import plistlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.enrollment.lifecycle import hash_secret
from portal.extensions import db
from portal.models import (
    Device,
    DeviceLogEntry,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Platform,
    User,
)

TOPIC = "com.apple.mgmt.External.speed-test"
CHECKIN = "application/x-apple-aspen-mdm-checkin"


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sql)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.sql if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE"}]


@contextmanager
def counting(app):
    """Every statement `app`'s engine runs meanwhile (BEGIN/COMMIT/ROLLBACK left out)."""
    with app.app_context():
        engine = db.engine
    seen = Statements()

    def record(conn, cursor, statement, parameters, context, executemany):
        word = statement.lstrip().split()[0].upper()
        if word not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA"}:
            seen.sql.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class EnrolledDevice:
    id: int
    secret: str
    udid: str
    token: bytes
    magic: str

    def token_update(self, token: bytes | None = None) -> bytes:
        return plistlib.dumps(
            {
                "MessageType": "TokenUpdate",
                "Topic": TOPIC,
                "UDID": self.udid,
                "Token": token or self.token,
                "PushMagic": self.magic,
            }
        )

    @property
    def checkin_path(self) -> str:
        return f"/mdm/checkin?e={self.secret}"


def enrolled_device(email: str, n: int = 0, *, seen_minutes_ago: int = 10) -> EnrolledDevice:
    """A profile-enrolled (Device Enrollment) iPhone of `email`, known by its check-in secret."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    secret = f"speed-secret-{n}-{os.urandom(8).hex()}"
    udid = f"SPEED-{n:04d}-{os.urandom(4).hex().upper()}"
    token = os.urandom(32)
    now = datetime.now(UTC)
    device = Device(
        user_id=user.id,
        name=f"Speed iPhone {n}",
        platform=Platform.IOS,
        os_version="18.1",
        model="iPhone16,1",
        enrollment_type=EnrollmentType.DEVICE,
        enrollment_method=EnrollmentMethod.PROFILE,
        status=DeviceStatus.ENROLLED,
        udid=udid,
        checkin_secret_hash=hash_secret(secret),
        topic=TOPIC,
        push_token=token.hex(),
        push_magic=f"magic-{n}",
        enrolled_at=now - timedelta(days=1),
        last_checkin_at=now - timedelta(minutes=seen_minutes_ago),
    )
    db.session.add(device)
    db.session.commit()
    return EnrolledDevice(device.id, secret, udid, token, f"magic-{n}")


def add_log_entries(device_id: int, count: int) -> None:
    now = datetime.now(UTC)
    db.session.execute(
        sa.insert(DeviceLogEntry),
        [
            {
                "device_id": device_id,
                "action": "command.acknowledged" if n % 2 else "push_token.updated",
                "status": "enrolled",
                "details": {"n": n},
                "created_at": now - timedelta(minutes=n),
            }
            for n in range(count)
        ],
    )
    db.session.commit()
