"""How many SQL statements each page and device request costs, and that none grows with the
data (no N+1): the same page over more rows runs the same statements."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Device, Organization, User

from .support import CHECKIN, add_log_entries, counting, enrolled_device

HX = {"HX-Request": "true"}


def _count(client, path: str, **kwargs) -> int:
    with counting(client.application) as seen:
        response = client.get(path, **kwargs)
    assert response.status_code in (200, 304), (path, response.status_code)
    return seen.count


def _flat(client, path: str, grow, **kwargs) -> int:
    """The statements of `path`, the same before and after `grow()` added rows."""
    client.get(path, **kwargs)  # once: anything done once per process is not counted
    before = _count(client, path, **kwargs)
    with client.application.app_context():
        grow()
    after = _count(client, path, **kwargs)
    assert after == before, f"{path}: {before} statements, then {after} with more rows"
    return before


def _add_users(n: int, start: int) -> None:
    org_id = db.session.scalar(sa.select(Organization.id))
    db.session.execute(
        sa.insert(User),
        [
            {
                "org_id": org_id,
                "email": f"extra{start + k}@example.com",
                "display_name": f"Extra Martin {start + k}",
                "managed_apple_id": f"extra{start + k}@appleid.example.com",
                "created_at": datetime.now(UTC),
                "updated_at": datetime.now(UTC),
            }
            for k in range(n)
        ],
    )
    db.session.commit()


def _device_ids(email: str) -> list[int]:
    user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
    ids = list(db.session.scalars(sa.select(Device.id).where(Device.user_id == user_id)))
    db.session.rollback()
    return ids


@pytest.fixture
def admin_client(seeded, client, auth):
    with seeded.app_context():
        for n in range(2):
            enrolled_device("alice@example.com", n)
        _add_users(3, 0)
    assert auth.login("adam@example.com").status_code == 302
    return client


def test_admin_pages_run_the_same_statements_over_more_rows(seeded, admin_client):
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User.id).where(User.email == "alice@example.com"))
        device = _device_ids("alice@example.com")[0]
        add_log_entries(device, 3)
    counter = iter(range(100, 10_000))

    def more_devices():
        for _ in range(5):
            enrolled_device("alice@example.com", next(counter))

    counts = {
        "users": _flat(admin_client, "/admin/users", lambda: _add_users(30, 100)),
        "users search": _flat(admin_client, "/admin/users?q=martin", lambda: _add_users(30, 200)),
        "user": _flat(admin_client, f"/admin/users/{alice}", more_devices),
        "devices": _flat(admin_client, "/admin/devices", more_devices),
        "device": _flat(
            admin_client, f"/admin/devices/{device}", lambda: add_log_entries(device, 60)
        ),
        "device logs": _flat(
            admin_client,
            f"/admin/devices/{device}/logs?action=command.acknowledged",
            lambda: add_log_entries(device, 60),
            headers=HX,
        ),
    }
    # Ceilings: a page is a handful of statements, whatever the organization's size.
    assert max(counts.values()) <= 25, counts


def test_a_users_page_reads_their_setting_once_for_all_its_decisions(seeded, admin_client):
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User.id).where(User.email == "alice@example.com"))
    path = f"/admin/users/{alice}"  # alice has two enrolled devices: three decisions shown
    admin_client.get(path)
    with counting(admin_client.application) as seen:
        assert admin_client.get(path).status_code == 200
    froms = [" ".join(sql.split()).split(" FROM ", 1)[1].split()[0] for sql in seen.sql]
    assert froms.count("enrollment_setting") == 1, seen.sql
    # Once for the decisions, once for the page's branding (every page).
    assert froms.count("organization") == 2, seen.sql
    assert seen.count <= 12, seen.sql


def test_employee_pages_run_the_same_statements_over_more_rows(seeded, client, auth):
    with seeded.app_context():
        enrolled_device("alice@example.com", 0)
    assert auth.login("alice@example.com").status_code == 302
    counter = iter(range(100, 10_000))

    def more_devices():
        for _ in range(4):
            enrolled_device("alice@example.com", next(counter))

    with seeded.app_context():
        device = _device_ids("alice@example.com")[0]
    counts = {
        "devices": _flat(client, "/devices", more_devices),
        "device": _flat(client, f"/devices/{device}", lambda: add_log_entries(device, 40)),
        "enroll": _flat(client, "/enroll?platform=ios&os=18", more_devices),
    }
    assert max(counts.values()) <= 25, counts


def test_status_poll_costs_one_statement_when_nothing_changed(seeded, client, auth):
    assert auth.login("alice@example.com").status_code == 302
    path = "/enroll/status?platform=ios&os=18"
    first = client.get(path, headers=HX)
    assert first.status_code == 200 and first.headers["ETag"].startswith('W/"')
    assert first.headers["Cache-Control"] == "no-store"  # personal: the poll sends its ETag
    with counting(seeded) as seen:
        again = client.get(path, headers={**HX, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # The session with its user and the person's newest enrollment, in one statement.
    assert seen.count == 1, seen.sql
    assert "FROM device" in seen.sql[0] and "user_session" in seen.sql[0]


def test_the_poll_and_the_page_agree_on_the_etag(seeded, client, auth):
    """The fingerprint read with the session equals the one the fragment's path reads."""
    from portal.enrollment import lifecycle
    from portal.models import User

    assert auth.login("alice@example.com").status_code == 302
    with seeded.app_context():
        enrolled_device("alice@example.com", 0)
    path = "/enroll/status?platform=ios&os=18"
    first = client.get(path, headers=HX)
    assert (
        client.get(path, headers={**HX, "If-None-Match": first.headers["ETag"]}).status_code == 304
    )
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        alone = lifecycle.status_fingerprint(alice, platform="ios")
        assert alone.split("|")[1:3] == ["enrolled", "ios"]
        assert lifecycle.status_fingerprint(alice, platform="macos") == "none"


def test_status_poll_brings_the_fragment_back_when_the_enrollment_moved(seeded, client, auth):
    assert auth.login("alice@example.com").status_code == 302
    path = "/enroll/status?platform=ios&os=18"
    first = client.get(path, headers=HX)
    assert "Not enrolled yet" in first.get_data(as_text=True)
    # The page polls the address its fragment gives (it names the devices listed before).
    path = html.unescape(re.search(r'hx-get="([^"]+)"', first.get_data(as_text=True)).group(1))
    with seeded.app_context():
        enrolled_device("alice@example.com", 0)
    moved = client.get(path, headers={**HX, "If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200
    assert moved.headers["ETag"] != first.headers["ETag"]
    assert "is enrolled" in moved.get_data(as_text=True)
    same = client.get(path, headers={**HX, "If-None-Match": moved.headers["ETag"]})
    assert same.status_code == 304


def test_unchanged_token_update_writes_nothing(seeded, client):
    with seeded.app_context():
        device = enrolled_device("bob@example.com", seen_minutes_ago=0)
    with counting(seeded) as seen:
        response = client.put(device.checkin_path, data=device.token_update(), content_type=CHECKIN)
    assert response.status_code == 200
    assert seen.writes == [], seen.sql
    assert seen.count <= 2, seen.sql


def test_check_in_after_a_while_notes_the_time_once(seeded, client):
    with seeded.app_context():
        device = enrolled_device("bob@example.com", seen_minutes_ago=5)
    with counting(seeded) as seen:
        response = client.put(device.checkin_path, data=device.token_update(), content_type=CHECKIN)
    assert response.status_code == 200
    assert len(seen.writes) == 1 and "last_checkin_at" in seen.writes[0], seen.sql
    with seeded.app_context():
        seen_at = db.session.get(Device, device.id).last_checkin_at
    assert datetime.now(UTC) - seen_at < timedelta(seconds=30)


def test_discovery_and_healthz_are_cheap(seeded, client):
    with counting(seeded) as seen:
        found = client.get(
            "/.well-known/com.apple.remotemanagement"
            "?user-identifier=alice@appleid.example.com&model-family=iPhone"
        )
    assert found.status_code == 200
    assert seen.count <= 8, seen.sql
    with counting(seeded) as seen:
        assert client.get("/healthz").status_code == 200
    assert seen.count <= 5, seen.sql
