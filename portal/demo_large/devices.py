"""The large set's devices in every enrollment state, and their device-log entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ..models import (
    Device,
    DeviceLogEntry,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Platform,
)
from .data import DEVICE_NAMES, MODELS, OS_VERSIONS, REQUEST_TYPES, ROUTINE, SPAN, random_hex
from .people import People
from .writer import Writer


class Devices:
    def __init__(self, rng, writer: Writer, people: People, count: int, now: datetime) -> None:
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
                "checkin_secret_hash": random_hex(rng) if with_secret else None,
                "topic": "com.apple.mgmt.External.demo" if enrolled_now else None,
                "push_token": random_hex(rng) if enrolled_now else None,
                "push_magic": f"{rng.getrandbits(128):032x}" if enrolled_now else None,
                "enrolled_at": enrolled,
                "last_checkin_at": last,
                "unenrolled_at": unenrolled,
                "created_at": created,
            }


def log_entries(rng, writer: Writer, devices: Devices, total: int, now: datetime):
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
