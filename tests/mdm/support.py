"""Helpers for the MDM tests: captured messages, device requests, database snapshots."""

from __future__ import annotations

import plistlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from portal.enrollment.pki import unwrap_signed_data
from portal.extensions import db
from portal.models import AuditEvent, Base, Device, User

DATA = Path(__file__).resolve().parent.parent / "data" / "mdm"
BASE = "https://portal.example.com"
CHECKIN = "application/x-apple-aspen-mdm-checkin"
CONNECT = "application/x-apple-aspen-mdm"
CHALLENGE = f'Bearer method="apple-as-web" url="{BASE}/mdm/enroll/auth"'
HARDWARE_KEYS = ("UDID", "SerialNumber", "IMEI", "MEID")


def load(name: str, **changes: Any) -> dict[str, Any]:
    """A captured plist from tests/data/mdm, with `changes` applied (None removes a key)."""
    message = plistlib.loads((DATA / name).read_bytes())
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return message


def dumps(message: dict[str, Any]) -> bytes:
    return plistlib.dumps(message)


def profile_of(response) -> dict[str, Any]:
    """The profile inside a served (signed) .mobileconfig."""
    content = unwrap_signed_data(response.data)
    assert content is not None, "the profile is not CMS SignedData"
    return plistlib.loads(content)


def mdm_payload(profile: dict[str, Any]) -> dict[str, Any]:
    (payload,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm"]
    return payload


def secret_of(profile: dict[str, Any]) -> str:
    """The per-enrollment secret in the profile's CheckInURL."""
    return parse_qs(urlsplit(mdm_payload(profile)["CheckInURL"]).query)["e"][0]


class DeviceClient:
    """Speaks to the portal as an enrolled device does."""

    def __init__(self, client, *, secret: str | None = None, bearer: str | None = None):
        self.client = client
        self.secret = secret
        self.bearer = bearer

    def _kwargs(self, body, content_type):
        data = body if isinstance(body, bytes) else dumps(body)
        headers = {"Authorization": f"Bearer {self.bearer}"} if self.bearer else {}
        query = {"e": self.secret} if self.secret else {}
        kwargs = {"data": data, "headers": headers, "query_string": query}
        if content_type is not None:
            kwargs["content_type"] = content_type
        return kwargs

    def checkin(self, body, content_type: str | None = CHECKIN, **extra):
        return self.client.put("/mdm/checkin", **self._kwargs(body, content_type), **extra)

    def connect(self, body, content_type: str | None = CONNECT, **extra):
        return self.client.put("/mdm/connect", **self._kwargs(body, content_type), **extra)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table but the audit log (refusals are audited)."""
    state = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "audit_event":
            continue
        query = sa.select(table).order_by(*table.primary_key.columns)
        state[table.name] = [tuple(row) for row in db.session.execute(query)]
    db.session.rollback()
    return state


def refusals() -> list[dict]:
    """The `after` of every `mdm.refused` audit event, oldest first."""
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "mdm.refused").order_by(AuditEvent.id)
    ).all()
    result = [dict(e.after or {}, target_id=e.target_id) for e in events]
    db.session.rollback()
    return result


def audit_actions() -> list[str]:
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    db.session.rollback()
    return actions


def devices_of(email: str) -> list[Device]:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    return list(db.session.scalars(sa.select(Device).where(Device.user_id == user.id)))


def only_device(email: str) -> Device:
    (device,) = devices_of(email)
    return device


CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def sign_in(client, email: str, password: str = "demo-password", next_url: str = ""):
    """Send the sign-in form as a browser does; returns the answer (a redirect)."""
    page = client.get("/login").get_data(as_text=True)
    data = {"email": email, "password": password, "csrf_token": CSRF_RE.search(page).group(1)}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data)
