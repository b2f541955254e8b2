"""The large set's departments (as groups), people and their memberships."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Group,
    Role,
    User,
    UserSource,
)
from ..passwords import passwords
from .data import DEPARTMENTS, FIRST_NAMES, LAST_NAMES, SPAN
from .writer import Writer


@dataclass
class Groups:
    ids: dict[str, int]
    rows: list[dict]


def add_groups(writer: Writer) -> Groups:
    first = writer.next_id(Group.__table__)
    existing = set(db.session.scalars(sa.select(Group.name)))
    ids: dict[str, int] = {}
    rows = []
    for offset, (name, description) in enumerate(d for d in DEPARTMENTS if d[0] not in existing):
        ids[name] = first + offset
        rows.append(
            {
                "id": first + offset,
                "name": name,
                "description": description,
                "source": UserSource.LOCAL.value,
                "created_at": datetime.now(UTC) - SPAN,
            }
        )
    for name in existing:
        ids.setdefault(name, db.session.scalar(sa.select(Group.id).where(Group.name == name)))
    return Groups(ids=ids, rows=rows)


class People:
    def __init__(self, rng, writer: Writer, org, count: int, now: datetime) -> None:
        self.rng, self.org, self.count, self.now = rng, org, count, now
        self.first_id = writer.next_id(User.__table__)
        self.ids = list(range(self.first_id, self.first_id + count))
        self.emails: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self.locales: dict[int, str | None] = {}
        self.department: dict[int, str] = {}
        self.inactive: set[int] = set()
        self.staff: list[int] = []

    def rows(self) -> Iterator[dict]:
        rng, now = self.rng, self.now
        password_hash = passwords.hash("demo-password")
        departments = [d[0] for d in DEPARTMENTS]
        weights = [12, 5, 20, 4, 2, 10, 6, 2, 4, 3, 6, 4]
        subdomain = "appleid." if self.org.apple_id_subdomain else ""
        for n, user_id in enumerate(self.ids, start=1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"person.{n:05d}"
            email = f"{local}@example.com"
            source = rng.choices((UserSource.LOCAL, UserSource.LDAP, UserSource.ENTRA), (2, 3, 5))[
                0
            ]
            role = Role.EMPLOYEE
            if n % 400 == 7:
                role = Role.HELPDESK
            elif n % 2000 == 11:
                role = Role.ADMIN
            deprovisioned = rng.random() < 0.03
            created = now - SPAN * rng.random() ** 0.5
            self.emails[user_id] = email
            self.names[user_id] = f"{first} {last}"
            self.locales[user_id] = "fr" if rng.random() < 0.35 else None
            self.department[user_id] = rng.choices(departments, weights)[0]
            if deprovisioned:
                self.inactive.add(user_id)
            if role is not Role.EMPLOYEE:
                self.staff.append(user_id)
            yield {
                "id": user_id,
                "org_id": self.org.id,
                "email": email,
                "upn": f"{local}@corp.example.com" if source is UserSource.ENTRA else None,
                "display_name": f"{first} {last}",
                "source": source.value,
                "external_id": (
                    f"uid={local},ou=people,dc=example,dc=com"
                    if source is UserSource.LDAP
                    else (f"{user_id:08x}-entra" if source is UserSource.ENTRA else None)
                ),
                "role": role.value,
                "device_role": rng.random() > 0.02,
                "password_hash": password_hash if source is UserSource.LOCAL else None,
                "locale": self.locales[user_id],
                "managed_apple_id": f"{local}@{subdomain}example.com",
                "managed_apple_id_conflict": None,
                "active": not deprovisioned,
                "deprovisioned_at": (created + (now - created) * rng.random())
                if deprovisioned
                else None,
                "directory_attributes": None,
                "created_at": created,
                "updated_at": created,
            }


def memberships(rng, people: People, group_ids: dict[str, int], byod: int | None):
    for user_id in people.ids:
        yield {"group_id": group_ids[people.department[user_id]], "user_id": user_id}
        if byod is not None and people.department[user_id] != "Field Technicians":
            if rng.random() < 0.45:
                yield {"group_id": byod, "user_id": user_id}
