"""Bringing the catalogue in line with Apple's Apps and Books service.

1. Licences the portal released (a device left management) are disassociated at Apple.
2. Each app asset's counts replace the catalogue's; apps bought since are added (named by
   their Apple ID until an admin renames them).
Apple is asked first and the catalogue changed last, so a failure leaves it as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import App, Device, LicenceAssignment, LicenceType, Platform, User, utcnow
from .client import AppsAndBooksClient
from .service import client_id_of


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    released_at_apple: int = 0


def _platform(platforms: tuple[str, ...]) -> Platform:
    names = {p.lower() for p in platforms}
    return Platform.MACOS if names and names <= {"macos"} else Platform.IOS


def _stale_assignments(client: AppsAndBooksClient, apps: dict[str, App]) -> list[tuple]:
    """Apple's assignments to our people and devices that the portal no longer holds."""
    ever = db.session.execute(
        sa.select(LicenceAssignment.user_id, LicenceAssignment.device_id).distinct()
    ).all()
    users = {client_id_of(uid): uid for uid, _ in ever}  # no query per person
    serials = {
        device.serial_number: device.id
        for device in db.session.scalars(
            sa.select(Device).where(
                Device.id.in_([did for _, did in ever if did]), Device.serial_number.is_not(None)
            )
        )
    }
    active = db.session.execute(
        sa.select(
            LicenceAssignment.app_id, LicenceAssignment.user_id, LicenceAssignment.device_id
        ).where(LicenceAssignment.released_at.is_(None))
    ).all()
    held_users = {(app_id, uid) for app_id, uid, _ in active}
    held_devices = {(app_id, did) for app_id, _, did in active}
    stale = []
    for item in client.assignments():
        app = apps.get(item.adam_id)
        if app is None:
            continue
        if item.client_user_id in users and (app.id, users[item.client_user_id]) not in held_users:
            stale.append((item, "user"))
        elif (
            item.serial_number in serials
            and app.licence_type == LicenceType.DEVICE
            and (app.id, serials[item.serial_number]) not in held_devices
        ):
            stale.append((item, "device"))
    return stale


def sync(
    actor: User | None, client: AppsAndBooksClient, *, now: datetime | None = None
) -> SyncResult:
    """Run one sync; the caller commits. Raises AppsAndBooksError if Apple fails."""
    now = now or utcnow()
    apps = {app.adam_id: app for app in db.session.scalars(sa.select(App))}
    result = SyncResult()
    for item, kind in _stale_assignments(client, apps):
        if kind == "user":
            client.disassociate(
                item.adam_id,
                pricing_param=item.pricing_param,
                client_user_ids=[item.client_user_id],
            )
        else:
            client.disassociate(
                item.adam_id, pricing_param=item.pricing_param, serial_numbers=[item.serial_number]
            )
        result.released_at_apple += 1
    assets = [a for a in client.assets() if a.product_type.lower() in ("app", "application")]
    in_use = dict(
        db.session.execute(
            sa.select(LicenceAssignment.app_id, sa.func.count())
            .where(LicenceAssignment.released_at.is_(None))
            .group_by(LicenceAssignment.app_id)
        ).all()
    )
    for asset in assets:
        app = apps.get(asset.adam_id)
        if app is None:
            app = App(
                adam_id=asset.adam_id,
                name=asset.adam_id,
                platform=_platform(asset.platforms),
                licence_type=LicenceType.USER,
                total_licences=0,
                assigned_licences=0,
            )
            db.session.add(app)
            db.session.flush()
            result.added.append(asset.adam_id)
        elif (app.total_licences, app.assigned_licences) != (asset.total, asset.assigned):
            result.updated.append(asset.adam_id)
        app.total_licences = asset.total
        # Apple's count after the releases above; never below what the portal holds.
        assigned = max(asset.assigned, in_use.get(app.id, 0))
        app.assigned_licences = assigned
        app.synced_at = now
    audit.record(
        actor,
        "apps.synced",
        channel="web" if actor else "cli",
        after={
            "added": result.added,
            "updated": result.updated,
            "released_at_apple": result.released_at_apple,
        },
    )
    return result
