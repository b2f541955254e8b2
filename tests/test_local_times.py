"""Admin pages write times in the reader's time zone and language, never as raw UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Device, User
from tests.conftest import csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# 08:30 UTC on 15 January 2026 is 17:30 in Tokyo (no daylight saving time there).
MOMENT = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)


def test_no_template_formats_a_time_by_hand():
    """strftime writes UTC in one format for every language: the Flask-Babel filters do not."""
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if ".strftime(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


@pytest.fixture
def tokyo_admin(seeded):
    from portal import demo
    from portal.outbox import service as outbox

    with seeded.app_context():
        demo.seed("testing", devices=True)
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        adam.time_zone = "Asia/Tokyo"
        device = db.session.scalars(sa.select(Device).order_by(Device.id)).first()
        device.facts_updated_at = MOMENT
        device.enrolled_at = MOMENT
        device.last_checkin_at = MOMENT
        message = outbox.enqueue(recipient="zoe@example.com", subject="Hello", body_text="Hi")
        message.attempts = 2
        message.next_attempt_at = MOMENT
        db.session.commit()
        return seeded, device.id


@pytest.mark.parametrize(
    ("locale", "local", "utc"),
    [("en", "1/15/26, 5:30\u202fPM", "8:30"), ("fr", "15/01/2026 17:30", "08:30")],
)
def test_admin_pages_show_times_in_the_readers_zone(tokyo_admin, auth, client, locale, local, utc):
    _app, device_id = tokyo_admin
    auth.login("adam@example.com")
    client.post("/locale", data={"locale": locale, "csrf_token": csrf_token(client, "/")})
    for path in (f"/admin/devices/{device_id}", "/admin/outbox"):
        page = client.get(path).get_data(as_text=True)
        text = re.sub(r"<[^>]+>", " ", page)
        assert local in text, path
        assert utc not in text, path
        assert "UTC" not in text, path
