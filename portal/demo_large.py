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

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from . import audit
from .extensions import db
from .models import (
    DeliveryStatus,
    Device,
    DeviceLogEntry,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    Invitation,
    InvitationSender,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Platform,
    Role,
    User,
    UserSource,
    group_membership,
    setting_assignment,
)
from .passwords import passwords

PEOPLE = 20_000
DEVICES = 15_000
LOG_ENTRIES = 1_000_000
INVITATIONS = 30_000
# The marker: the first generated person. Present means the large set is already there.
MARKER = "person.00001@example.com"
SPAN = timedelta(weeks=10)
CHUNK = 20_000

FIRST_NAMES = (
    "Camille Léa Manon Chloé Inès Jade Louise Emma Alice Lina Sarah Zoé Clara Anna Julia "
    "Lucas Hugo Louis Gabriel Arthur Jules Adam Raphaël Nathan Léo Tom Ethan Noah Paul Sacha "
    "Priya Wei Kenji Amara Tunde Olga Mateo Sofia Yusuf Aiko Nia Diego Ingrid Rohan Mei"
).split()
LAST_NAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Martinez Nguyen Okafor Tanaka Kowalski Silva Novak Haddad"
).split()
DEPARTMENTS = (
    ("Sales", "Account executives and sales engineers."),
    ("Marketing", "Brand, events and growth."),
    ("Engineering", "Product engineering."),
    ("Finance", "Accounting, payroll and purchasing."),
    ("Legal", "Contracts and compliance."),
    ("Support", "Customer support."),
    ("Operations", "Facilities and logistics."),
    ("Human Resources", "People team."),
    ("Design", "Product and brand design."),
    ("Research", "Applied research."),
    ("Field Technicians", "On-site technicians with company iPads."),
    ("Contractors", "External contractors."),
)
BYOD_GROUP = "User Enrollment"
FIELD_SETTING = "Field tablets – Device Enrollment"
MODELS = {
    Platform.IOS: ("iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone17,3"),
    Platform.IPADOS: ("iPad13,16", "iPad14,3", "iPad16,3"),
    Platform.MACOS: ("Mac14,2", "Mac15,3", "MacBookPro18,1", "Mac16,1"),
}
OS_VERSIONS = {
    Platform.IOS: ("16.7.10", "17.6.1", "17.7", "18.0.1", "18.1", "18.2"),
    Platform.IPADOS: ("17.7", "18.1", "18.2"),
    Platform.MACOS: ("13.7.1", "14.7", "15.1", "15.2"),
}
DEVICE_NAMES = {Platform.IOS: "iPhone", Platform.IPADOS: "iPad", Platform.MACOS: "MacBook"}
# What a device's life adds to its log after enrolling, with how often.
ROUTINE = (
    ("push_token.updated", 30),
    ("command.queued", 25),
    ("command.acknowledged", 24),
    ("command.not_now", 4),
    ("command.error", 2),
    ("configuration", 6),
    ("app.install.requested", 5),
    ("command.timed_out", 1),
)
REQUEST_TYPES = (
    "DeviceInformation",
    "InstalledApplicationList",
    "ProfileList",
    "SecurityInfo",
    "InstallApplication",
    "CertificateList",
)


@dataclass(frozen=True)
class Sizes:
    people: int
    devices: int
    log_entries: int
    invitations: int

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        if not 0 < scale <= 1:
            raise ValueError("scale must be above 0 and at most 1")
        return cls(
            people=max(10, round(PEOPLE * scale)),
            devices=max(5, round(DEVICES * scale)),
            log_entries=max(50, round(LOG_ENTRIES * scale)),
            invitations=max(10, round(INVITATIONS * scale)),
        )


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
    writer = _Writer(db.session.connection())
    counts: dict[str, int] = {}

    def step(label: str, table: sa.Table, rows: Iterable[dict]) -> None:
        started = time.monotonic()
        counts[table.name] = writer.insert(table, rows)
        echo(f"  {counts[table.name]:>9,} {label} ({time.monotonic() - started:.1f} s)")

    groups = _groups(writer)
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

    people = _People(rng, writer, org, sizes.people, now)
    step("people", User.__table__, people.rows())
    step(
        "group memberships",
        group_membership,
        _memberships(rng, people, groups.ids, byod),
    )
    devices = _Devices(rng, writer, people, sizes.devices, now)
    step("devices", Device.__table__, devices.rows())
    step(
        "device-log entries",
        DeviceLogEntry.__table__,
        _log_entries(rng, writer, devices, sizes.log_entries, now),
    )
    invitations = _Invitations(rng, writer, people, sizes.invitations, now)
    step("outbox messages", OutboxMessage.__table__, invitations.messages())
    step("invitations", Invitation.__table__, invitations.rows())
    writer.finish()
    audit.record(None, "demo.seed_large", channel="cli", after=counts)
    db.session.commit()
    return counts


# -- writing ---------------------------------------------------------------------------------


class _Writer:
    """Bulk inserts: COPY on PostgreSQL, executemany in chunks elsewhere; explicit ids."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.tables: set[str] = set()

    def next_id(self, table: sa.Table) -> int:
        self.tables.add(table.name)
        return (self.connection.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1

    def insert(self, table: sa.Table, rows: Iterable[dict]) -> int:
        count = 0
        for chunk in _chunks(rows, CHUNK):
            count += len(chunk)
            if self.postgres:
                self._copy(table, chunk)
            else:
                self.connection.execute(table.insert(), chunk)
        return count

    def _copy(self, table: sa.Table, rows: list[dict]) -> None:
        columns = list(rows[0])
        names = ", ".join(self.connection.dialect.identifier_preparer.quote(c) for c in columns)
        quoted = self.connection.dialect.identifier_preparer.format_table(table)
        cursor = self.connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_copyable(row[c]) for c in columns])

    def finish(self) -> None:
        """Move PostgreSQL's id sequences past the ids written explicitly."""
        if not self.postgres:
            return
        for name in sorted(self.tables):
            table = sa.table(name, sa.column("id"))
            highest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
            quoted = self.connection.dialect.identifier_preparer.quote(name)
            sequence = sa.func.pg_get_serial_sequence(quoted, "id")
            self.connection.execute(sa.select(sa.func.setval(sequence, highest)))


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _copyable(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


# -- what is written ---------------------------------------------------------------------------


@dataclass
class _Groups:
    ids: dict[str, int]
    rows: list[dict]


def _groups(writer: _Writer) -> _Groups:
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
    return _Groups(ids=ids, rows=rows)


class _People:
    def __init__(self, rng, writer: _Writer, org, count: int, now: datetime) -> None:
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


def _memberships(rng, people: _People, group_ids: dict[str, int], byod: int | None):
    for user_id in people.ids:
        yield {"group_id": group_ids[people.department[user_id]], "user_id": user_id}
        if byod is not None and people.department[user_id] != "Field Technicians":
            if rng.random() < 0.45:
                yield {"group_id": byod, "user_id": user_id}


class _Devices:
    def __init__(self, rng, writer: _Writer, people: _People, count: int, now: datetime) -> None:
        self.rng, self.people, self.count, self.now = rng, people, count, now
        self.first_id = writer.next_id(Device.__table__)
        # For the log: id → (status, method, enrollment_id, created, enrolled, last check-in).
        self.facts: dict[int, tuple] = {}

    def rows(self) -> Iterator[dict]:
        rng, now = self.rng, self.now
        active = [u for u in self.people.ids if u not in self.people.inactive]
        owners = rng.sample(active, min(len(active), round(self.count * 0.8)))
        while len(owners) < self.count:
            owners.append(rng.choice(owners))
        for offset, user_id in enumerate(owners):
            device_id = self.first_id + offset
            field = self.people.department[user_id] == "Field Technicians"
            platform = (
                Platform.IPADOS
                if field
                else rng.choices((Platform.IOS, Platform.IPADOS, Platform.MACOS), (70, 12, 18))[0]
            )
            user_enrollment = not field and rng.random() < 0.6
            if user_enrollment:
                etype = EnrollmentType.USER
                method = rng.choices(
                    (EnrollmentMethod.ACCOUNT_DRIVEN, EnrollmentMethod.PROFILE), (3, 1)
                )[0]
            else:
                etype = EnrollmentType.DEVICE
                method = (
                    EnrollmentMethod.ADE
                    if field
                    else rng.choices((EnrollmentMethod.PROFILE, EnrollmentMethod.ADE), (4, 1))[0]
                )
            roll = rng.random()
            if roll < 0.05:
                status = DeviceStatus.INVITED
            elif roll < 0.075:
                status = DeviceStatus.PROFILE_DOWNLOADED
            elif roll < 0.09:
                status = DeviceStatus.EXPIRED  # a profile downloaded and never installed
            elif roll < 0.11:
                status = DeviceStatus.AUTHENTICATED
            elif roll < 0.19:
                status = DeviceStatus.UNENROLLED
            else:
                status = DeviceStatus.ENROLLED
            created = now - SPAN * rng.random()
            enrolled = last = unenrolled = None
            if status in (DeviceStatus.ENROLLED, DeviceStatus.UNENROLLED):
                enrolled = created + timedelta(minutes=rng.randint(2, 90))
                stale = rng.random() < 0.06
                span = (now - enrolled) * (rng.random() if stale else 1)
                last = enrolled + span - timedelta(minutes=rng.randint(0, 600))
                last = max(last, enrolled)
                if status is DeviceStatus.UNENROLLED:
                    unenrolled = last
            elif status is DeviceStatus.AUTHENTICATED:
                last = created + timedelta(minutes=rng.randint(1, 30))
            enrollment_id = udid = serial = None
            if etype is EnrollmentType.USER:
                enrollment_id = f"LARGE-UE-{rng.getrandbits(96):024X}"
            else:
                udid = f"0000{rng.getrandbits(64):016X}-LARGE{offset:06d}"
                serial = f"LRG{rng.getrandbits(40):010X}"[:12]
            with_secret = method is EnrollmentMethod.PROFILE and status is not DeviceStatus.INVITED
            enrolled_now = status is DeviceStatus.ENROLLED
            first_name = self.people.names[user_id].split()[0]
            self.facts[device_id] = (status, method, enrollment_id, created, enrolled, last)
            yield {
                "id": device_id,
                "user_id": user_id,
                "name": f"{first_name}'s {DEVICE_NAMES[platform]}",
                "platform": platform.value,
                "os_version": rng.choice(OS_VERSIONS[platform]),
                "model": rng.choice(MODELS[platform]),
                "enrollment_type": etype.value,
                "enrollment_method": method.value,
                "device_owner": (DeviceOwner.COMPANY if field else DeviceOwner.EMPLOYEE).value,
                "status": status.value,
                "enrollment_id": enrollment_id,
                "enrollment_user_id": None,
                "udid": udid,
                "serial_number": serial,
                "checkin_secret_hash": _hex(rng) if with_secret else None,
                "topic": "com.apple.mgmt.External.demo" if enrolled_now else None,
                "push_token": _hex(rng) if enrolled_now else None,
                "push_magic": f"{rng.getrandbits(128):032x}" if enrolled_now else None,
                "enrolled_at": enrolled,
                "last_checkin_at": last,
                "unenrolled_at": unenrolled,
                "created_at": created,
            }


def _hex(rng) -> str:
    return f"{rng.getrandbits(256):064x}"


def _log_entries(rng, writer: _Writer, devices: _Devices, total: int, now: datetime):
    """`total` entries: each device's enrollment steps, then routine spread over its life."""
    first_id = writer.next_id(DeviceLogEntry.__table__)
    actions = [a for a, _w in ROUTINE]
    action_weights = [w for _a, w in ROUTINE]
    opening: dict[int, list[tuple[str, str, datetime]]] = {}
    lively: list[int] = []
    weights: list[float] = []
    for device_id, (status, method, _eid, created, enrolled, _last) in devices.facts.items():
        steps = [("enrollment.started", DeviceStatus.INVITED.value, created)]
        if status is not DeviceStatus.INVITED:
            if method is EnrollmentMethod.PROFILE:
                steps.append(
                    ("profile.downloaded", "profile_downloaded", created + timedelta(minutes=1))
                )
            if status is not DeviceStatus.PROFILE_DOWNLOADED:
                steps.append(
                    ("checkin.authenticate", "authenticated", created + timedelta(minutes=2))
                )
        if enrolled is not None:
            steps.append(("checkin.token_update", "enrolled", enrolled))
            lively.append(device_id)
            weights.append(rng.expovariate(1.0) + 0.05)
        opening[device_id] = steps
    fixed = sum(len(s) for s in opening.values()) + sum(
        1 for f in devices.facts.values() if f[0] is DeviceStatus.UNENROLLED
    )
    spare = max(0, total - fixed)
    scale = spare / sum(weights) if weights else 0
    routine = {d: int(w * scale) for d, w in zip(lively, weights, strict=True)}
    # Whatever rounding left over goes to the busiest devices.
    leftover = spare - sum(routine.values())
    for device_id in sorted(routine, key=routine.get, reverse=True)[:leftover]:
        routine[device_id] += 1
    next_id = first_id
    for device_id, steps in opening.items():
        status, _method, enrollment_id, _created, enrolled, last = devices.facts[device_id]
        base = {"enrollment_id": enrollment_id} if enrollment_id else {}
        rows = [(a, s, t, dict(base)) for a, s, t in steps]
        count = routine.get(device_id, 0)
        if count:
            span = max((last or now) - enrolled, timedelta(minutes=1))
            times = sorted(enrolled + span * rng.random() for _ in range(count))
            for when, action in zip(
                times, rng.choices(actions, action_weights, k=count), strict=True
            ):
                details = dict(base)
                if action.startswith("command.") or action == "app.install.requested":
                    details["command_uuid"] = _uuid(rng)
                    details["request_type"] = rng.choice(REQUEST_TYPES)
                elif action == "configuration":
                    details["message"] = rng.choice(("accepted", "sent"))
                rows.append((action, "enrolled", when, details))
        if status is DeviceStatus.UNENROLLED:
            rows.append(("checkin.check_out", "unenrolled", last, dict(base)))
        for action, state, when, details in rows:
            yield {
                "id": next_id,
                "device_id": device_id,
                "created_at": when,
                "action": action,
                "status": state,
                "details": details,
            }
            next_id += 1


def _uuid(rng) -> str:
    h = f"{rng.getrandbits(128):032X}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Invitations:
    """Invitations with their e-mails: most delivered, some used, expired, revoked, stuck."""

    def __init__(self, rng, writer: _Writer, people: _People, count: int, now: datetime) -> None:
        self.rng, self.people, self.count, self.now = rng, people, count, now
        self.first_id = writer.next_id(Invitation.__table__)
        self.first_message = writer.next_id(OutboxMessage.__table__)
        self.plan: list[dict] = []
        staff = people.staff or [None]
        active = [u for u in people.ids if u not in people.inactive]
        for offset in range(count):
            user_id = rng.choice(active)
            created = now - SPAN * rng.random()
            sender = rng.choices(
                (
                    InvitationSender.IMPORT,
                    InvitationSender.SYSTEM,
                    InvitationSender.ADMIN,
                    InvitationSender.HELPDESK,
                    InvitationSender.SLACK,
                ),
                (40, 20, 15, 15, 10),
            )[0]
            roll = rng.random()
            fate = (
                "used"
                if roll < 0.5
                else "open"
                if roll < 0.62
                else "expired"
                if roll < 0.85
                else "revoked"
                if roll < 0.9
                else "failed"
                if roll < 0.96
                else "stuck"
            )
            if fate == "open":
                created = now - timedelta(days=6) * rng.random()
            self.plan.append(
                {
                    "offset": offset,
                    "user_id": user_id,
                    "created": created,
                    "sender": sender,
                    "by": rng.choice(staff)
                    if sender in (InvitationSender.ADMIN, InvitationSender.HELPDESK)
                    else None,
                    "fate": fate,
                }
            )

    def messages(self) -> Iterator[dict]:
        for item in self.plan:
            user_id, created, fate = item["user_id"], item["created"], item["fate"]
            email = self.people.emails[user_id]
            french = self.people.locales[user_id] == "fr"
            subject = (
                "Inscrivez votre appareil auprès d’Example Corp"
                if french
                else "Enroll your device with Example Corp"
            )
            message_id = f"<large-{item['offset']:06d}@example.com>"
            body = (
                f"Hello {self.people.names[user_id]},\r\n\r\nOpen the link below on the "
                "device you want to enroll.\r\n"
            )
            raw = (
                f"From: Example Corp <no-reply@example.com>\r\nTo: {email}\r\n"
                f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
            ).encode()
            if fate == "failed":
                status, attempts, error = OutboxStatus.DEAD, 8, "550 5.1.1 mailbox unavailable"
            elif fate == "stuck":
                status, attempts, error = (
                    OutboxStatus.PENDING,
                    self.rng.randint(3, 6),
                    "[Errno 111] Connection refused",
                )
            else:
                status, attempts, error = OutboxStatus.SENT, 1, None
            sent = created + timedelta(seconds=self.rng.randint(1, 40))
            yield {
                "id": self.first_message + item["offset"],
                "kind": "email",
                "message_id": message_id,
                "sender": "Example Corp <no-reply@example.com>",
                "recipient": email,
                "subject": subject,
                "body_text": body,
                "body_html": None,
                "raw": raw,
                "locale": "fr" if french else "en",
                "status": status.value,
                "attempts": attempts,
                "next_attempt_at": (
                    self.now + timedelta(minutes=self.rng.randint(5, 240))
                    if status is OutboxStatus.PENDING
                    else sent
                ),
                "last_error": error,
                "sent_at": sent if status is OutboxStatus.SENT else None,
                "claimed_until": None,
                "claimed_by": None,
                "created_at": created,
            }

    def rows(self) -> Iterator[dict]:
        for item in self.plan:
            created, fate = item["created"], item["fate"]
            expires = created + timedelta(days=7)
            delivery = {
                "failed": DeliveryStatus.FAILED,
                "stuck": DeliveryStatus.QUEUED,
            }.get(fate, DeliveryStatus.SENT)
            used = revoked = None
            if fate == "used":
                used = created + (expires - created) * self.rng.random() ** 3
                used = min(used, self.now)
            elif fate == "revoked":
                revoked = created + timedelta(hours=self.rng.randint(1, 100))
                revoked = min(revoked, self.now)
            token = hashlib.sha256(f"large-{item['offset']}-{_hex(self.rng)}".encode()).hexdigest()
            yield {
                "id": self.first_id + item["offset"],
                "user_id": item["user_id"],
                "token_hash": token,
                "expires_at": expires,
                "sent_by": item["sender"].value,
                "sent_by_user_id": item["by"],
                "delivery_status": delivery.value,
                "outbox_message_id": self.first_message + item["offset"],
                "used_at": used,
                "revoked_at": revoked,
                "created_at": created,
            }
