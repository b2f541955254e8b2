"""A rollout in progress, inserted in bulk: people in groups, invitations, sessions, devices
and decisions spread over the last weeks, deterministic for a given seed.

`seed_rollout(people=20_000, invitations=30_000, devices=15_000)` is the size the rollout
pages must serve; tests use smaller numbers where the size does not matter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Device,
    EnrollmentDecision,
    EnrollmentSetting,
    Group,
    Invitation,
    Organization,
    User,
    UserSession,
    group_membership,
)

GROUPS = (("Rollout Sales", "user"), ("Rollout Engineering", "user"), ("Rollout Field", "device"))


@dataclass
class Seeded:
    now: datetime
    group_ids: list[int]
    user_ids: list[int]


def _naive(moment: datetime) -> datetime:
    # Through the ORM's bulk insert: the UTC column type wants aware datetimes.
    return moment.astimezone(UTC)


def seed_rollout(
    *,
    people: int = 2_000,
    invitations: int = 3_000,
    devices: int = 1_500,
    now: datetime | None = None,
    seed: int = 18,
) -> Seeded:
    """Insert a rollout on top of the demo organization; commits."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    org = db.session.scalar(sa.select(Organization).limit(1))
    group_ids = []
    for name, kind in GROUPS:
        group = Group(name=name, description="")
        setting = EnrollmentSetting(
            name=f"{name} setting", enrollment_type=kind, priority=10 + len(group_ids)
        )
        setting.groups.append(group)
        db.session.add_all([group, setting])
        db.session.flush()
        group_ids.append(group.id)
    first = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
    stamp = _naive(now)
    db.session.execute(
        sa.insert(User),
        [
            {
                "id": first + i,
                "org_id": org.id,
                "email": f"rollout{i}@example.com",
                "display_name": f"Rollout Person {i:05d}",
                "source": "local",
                "role": "employee",
                "device_role": True,
                "active": i % 97 != 0,
                "managed_apple_id": None if i % 13 == 0 else f"rollout{i}@appleid.example.com",
                "managed_apple_id_conflict": (
                    f"taken{i}@appleid.example.com" if i % 211 == 0 else None
                ),
                "created_at": stamp,
                "updated_at": stamp,
            }
            for i in range(people)
        ],
    )
    user_ids = [first + i for i in range(people)]
    db.session.execute(
        group_membership.insert(),
        [
            {"group_id": group_ids[i % len(group_ids)], "user_id": uid}
            for i, uid in enumerate(user_ids)
        ],
    )
    # Everyone gets one invitation in the last 60 days; some get a second one later.
    inv_rows, sessions, first_invited = [], [], {}
    extra = max(invitations - people, 0)
    second = set(rng.sample(user_ids, min(extra, people)))
    inv_id = (db.session.scalar(sa.select(sa.func.max(Invitation.id))) or 0) + 1
    for uid in user_ids:
        created = now - timedelta(days=rng.uniform(0, 60))
        first_invited[uid] = created
        times = [created]
        if uid in second:
            times.append(created + timedelta(days=rng.uniform(0.5, 10)))
        for n, at in enumerate(times):
            last = n == len(times) - 1
            opened = last and rng.random() < 0.7
            used = opened and rng.random() < 0.8
            revoked = not last
            if at > now:
                at = now - timedelta(minutes=5)
            inv_rows.append(
                {
                    "id": inv_id,
                    "user_id": uid,
                    "token_hash": f"{inv_id:064x}",
                    "expires_at": _naive(at + timedelta(days=7)),
                    "sent_by": "admin",
                    "delivery_status": "sent",
                    "opened_at": _naive(at + timedelta(hours=1)) if opened else None,
                    "used_at": _naive(at + timedelta(hours=2)) if used else None,
                    "revoked_at": _naive(at + timedelta(days=1)) if revoked else None,
                    "created_at": _naive(at),
                }
            )
            inv_id += 1
            if used:
                sessions.append(
                    {
                        "id": f"{uid:032x}{n:032x}",
                        "user_id": uid,
                        "created_at": _naive(at + timedelta(hours=2)),
                        "last_seen_at": _naive(at + timedelta(hours=2)),
                        "method": "local",
                    }
                )
    db.session.execute(sa.insert(Invitation), inv_rows)
    if sessions:
        db.session.execute(sa.insert(UserSession), sessions)
    # Devices: most enrolled a while after the first invitation, the rest stuck half-way.
    dev_id = (db.session.scalar(sa.select(sa.func.max(Device.id))) or 0) + 1
    owners = rng.sample(user_ids, min(devices, people))
    dev_rows, decisions = [], []
    for n, uid in enumerate(owners):
        index = uid - first
        kind = GROUPS[index % len(GROUPS)][1]
        started = first_invited[uid] + timedelta(hours=rng.uniform(1, 72))
        if started > now:
            started = now - timedelta(minutes=1)
        enrolled = rng.random() < 0.7
        enrolled_at = started + timedelta(minutes=rng.uniform(2, 600)) if enrolled else None
        if enrolled_at and enrolled_at > now:
            enrolled_at = now
        status = "enrolled" if enrolled else rng.choice(("profile_downloaded", "authenticated"))
        dev_rows.append(
            {
                "id": dev_id + n,
                "user_id": uid,
                "name": f"Device {n}",
                "platform": rng.choice(("ios", "ios", "ipados", "macos")),
                "os_version": "17.5",
                "model": "",
                "enrollment_type": kind,
                "enrollment_method": "account_driven" if n % 2 else "profile",
                "device_owner": "employee",
                "status": status,
                "enrollment_id": f"E-{dev_id + n}" if kind == "user" else None,
                "udid": f"U-{dev_id + n}" if kind == "device" else None,
                "enrolled_at": _naive(enrolled_at) if enrolled_at else None,
                "created_at": _naive(started),
            }
        )
    for uid in user_ids:
        index = uid - first
        # People of User Enrollment groups without a Managed Apple ID fell back.
        if index % 13 == 0 and GROUPS[index % len(GROUPS)][1] == "user":
            decisions.append(
                {
                    "user_id": uid,
                    "created_at": _naive(first_invited[uid] + timedelta(hours=3)),
                    "platform": "ios",
                    "os_version": "17.5",
                    "supervised": False,
                    "channel": "web",
                    "enrollment_type": "device",
                    "enrollment_method": "profile",
                    "reason_codes": ["no_managed_apple_id"],
                    "asked_via": "web",
                }
            )
    db.session.execute(sa.insert(Device), dev_rows)
    if decisions:
        db.session.execute(sa.insert(EnrollmentDecision), decisions)
    if db.session.get_bind().dialect.name == "postgresql":
        # The rows above came with their ids: move the sequences past them.
        for table in ("user", "invitation", "device"):
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT MAX(id) FROM "{table}"))'
                )
            )
    db.session.commit()
    return Seeded(now=now, group_ids=group_ids, user_ids=user_ids)
