"""A large demo organization for measuring the portal at scale (`demo seed --large`).

20,000 people in departments, 15,000 devices in every enrollment state, 1,000,000 device-log
entries and 30,000 invitations spread over ten weeks: delivered, used, expired, revoked,
stuck in the outbox or failed. Rows are generated in memory in chunks and written in bulk:
`COPY … FROM STDIN` on PostgreSQL (a few minutes for the full size), `executemany` elsewhere
(`--scale` makes a smaller set for SQLite). The same random seed gives the same data.

Everything is added on top of the ordinary demo data (`demo.seed`), which runs first; a
second run finds the large set present and adds nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import (
    Device,
    DeviceLogEntry,
    DeviceOwner,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    Invitation,
    Organization,
    OutboxMessage,
    User,
    group_membership,
    setting_assignment,
)
from .data import BYOD_GROUP, DEPARTMENTS, FIELD_SETTING, MARKER, SPAN, Sizes
from .devices import Devices, log_entries
from .invitations import Invitations
from .people import People, add_groups, memberships
from .writer import Writer

# Read by the CLI, the tests and the benchmarks.
__all__ = ["DEPARTMENTS", "SPAN", "Sizes", "seed_large"]


def seed_large(
    *, scale: float = 1.0, echo: Callable[[str], None] = lambda _m: None
) -> dict[str, int]:
    """Add the large demo set (the ordinary demo data must exist). Returns rows added by table.

    Commits. An empty result means the set was already there.
    """
    sizes = Sizes.scaled(scale)
    if db.session.scalar(sa.select(User.id).where(User.email == MARKER)) is not None:
        return {}
    org = db.session.scalar(sa.select(Organization).order_by(Organization.id))
    if org is None:
        raise RuntimeError("run the ordinary demo seed first")
    rng = random.Random(16)  # noqa: S311  (demo data, not secrets)
    now = datetime.now(UTC).replace(microsecond=0)
    writer = Writer(db.session.connection())
    counts: dict[str, int] = {}

    def step(label: str, table: sa.Table, rows: Iterable[dict]) -> None:
        started = time.monotonic()
        counts[table.name] = writer.insert(table, rows)
        echo(f"  {counts[table.name]:>9,} {label} ({time.monotonic() - started:.1f} s)")

    groups = add_groups(writer)
    step("groups", Group.__table__, groups.rows)
    byod = db.session.scalar(sa.select(Group.id).where(Group.name == BYOD_GROUP))
    setting_id = writer.next_id(EnrollmentSetting.__table__)
    step(
        "enrollment settings",
        EnrollmentSetting.__table__,
        [
            {
                "id": setting_id,
                "name": FIELD_SETTING,
                "description": "Company iPads of the field teams: the whole device is managed.",
                "enrollment_type": EnrollmentType.DEVICE.value,
                "device_owner": DeviceOwner.COMPANY.value,
                "priority": 20,
                "is_default": False,
                "created_at": now - SPAN,
            }
        ],
    )
    writer.insert(
        setting_assignment,
        [{"setting_id": setting_id, "group_id": groups.ids["Field Technicians"]}],
    )

    people = People(rng, writer, org, sizes.people, now)
    step("people", User.__table__, people.rows())
    step(
        "group memberships",
        group_membership,
        memberships(rng, people, groups.ids, byod),
    )
    devices = Devices(rng, writer, people, sizes.devices, now)
    step("devices", Device.__table__, devices.rows())
    step(
        "device-log entries",
        DeviceLogEntry.__table__,
        log_entries(rng, writer, devices, sizes.log_entries, now),
    )
    invitations = Invitations(rng, writer, people, sizes.invitations, now)
    step("outbox messages", OutboxMessage.__table__, invitations.messages())
    step("invitations", Invitation.__table__, invitations.rows())
    writer.finish()
    audit.record(None, "demo.seed_large", channel="cli", after=counts)
    db.session.commit()
    return counts
