"""CSV exports hold exactly what the screen shows for the same filters, streamed."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import User
from tests.rollout.seeding import seed_rollout


@pytest.fixture
def rollout(seeded):
    with seeded.app_context():
        return seed_rollout(people=120, invitations=160, devices=80)


@pytest.fixture
def admin(seeded, auth, client):
    auth.login("adam@example.com")
    return client


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _all_pages(client, path: str, pattern: str) -> list[str]:
    found, page = [], 1
    while True:
        html = client.get(f"{path}&page={page}").get_data(as_text=True)
        found += re.findall(pattern, html)
        if f"page={page + 1}" not in html.replace("&amp;", "&"):
            return found
        page += 1


def test_users_csv_equals_the_users_list(rollout, admin):
    on_screen = _all_pages(
        admin, "/admin/users?q=Person+000", r"<td>(rollout\d+@example\.com)</td>"
    )
    rows = _csv(admin.get("/admin/rollout/export/users.csv?q=Person+000"))
    assert [r["email"] for r in rows] == on_screen and len(on_screen) > 25
    first = rows[0]
    assert first["expected_enrollment_type"] in ("user", "device")
    assert first["enrollment_status"] in (
        "not_started",
        "profile_downloaded",
        "authenticated",
        "enrolled",
    )
    # Managed Apple IDs stay masked in exports, as on screen.
    assert all("***" in r["managed_apple_id"] for r in rows if r["managed_apple_id"])
    fell_back = [r for r in rows if r["last_decision"] == "device"]
    assert fell_back and all(r["last_decision_at"].endswith("Z") for r in fell_back)


def test_users_csv_follows_the_conflict_filter(rollout, admin):
    rows = _csv(admin.get("/admin/rollout/export/users.csv?filter=conflicts"))
    assert rows and all(r["managed_apple_id_conflict"] for r in rows)


def test_devices_csv_equals_the_devices_list(rollout, admin):
    path = "/admin/devices?kind=user&status=enrolled"
    on_screen = _all_pages(admin, path, r"/admin/devices/(\d+)\"")
    rows = _csv(admin.get("/admin/rollout/export/devices.csv?kind=user&status=enrolled"))
    assert [r["id"] for r in rows] == on_screen
    assert {r["enrollment_type"] for r in rows} == {"user"}
    assert {r["status"] for r in rows} == {"enrolled"}


def test_funnel_csv_equals_the_dashboard(rollout, admin):
    since = (rollout.now.date() - timedelta(days=59)).isoformat()
    html = admin.get(f"/admin/rollout?from={since}").get_data(as_text=True)
    table = html.split('class="funnel"', 1)[1].split("</table>", 1)[0]
    on_screen = [
        int(n)
        for n in re.findall(
            r'people\?[^"]*">(\d+)</a></td>\s*<td class="num">[^<]*</td>'
            r'\s*<td class="num">[^<]*</td>',
            table,
        )
    ]
    rows = list(
        csv.reader(
            io.StringIO(
                admin.get(f"/admin/rollout/export/funnel.csv?from={since}").get_data(as_text=True)
            )
        )
    )
    header, everyone = rows[0], rows[1]
    assert header[:3] == ["breakdown", "key", "label"]
    assert everyone[0] == "all"
    assert [int(n) for n in everyone[3:8]] == on_screen
    groups = [r for r in rows if r[0] == "group"]
    assert {r[2] for r in groups} == {"Rollout Sales", "Rollout Engineering", "Rollout Field"}


def test_people_csv_equals_the_people_list(rollout, admin):
    since = (rollout.now.date() - timedelta(days=59)).isoformat()
    path = f"/admin/rollout/people?from={since}&stage=signed_in&exact=1"
    on_screen = _all_pages(admin, path, r"<td>(rollout\d+@example\.com)</td>")
    rows = _csv(admin.get(path.replace("/people?", "/export/people.csv?")))
    assert [r["email"] for r in rows] == on_screen
    assert {r["furthest_step"] for r in rows} == {"signed_in"}


def test_audit_csv_equals_the_audit_log(seeded, admin):
    with seeded.app_context():
        from portal import audit

        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        for n in range(60):
            audit.record(alice, "test.exported", after={"n": n, "note": "=HYPERLINK(1)"})
        db.session.commit()
    # The page shows each event's time in the reader's format: count its rows (one per event).
    on_screen = _all_pages(admin, "/admin/audit?action=test.", r"<tr>\s*<td>([^<]+)</td>")
    rows = _csv(admin.get("/admin/rollout/export/audit.csv?action=test."))
    assert len(rows) == len(on_screen) == 60
    assert [int(r["id"]) for r in rows] == sorted((int(r["id"]) for r in rows), reverse=True)
    assert rows[0]["action"] == "test.exported"


def test_exports_need_the_role_of_their_page(seeded, auth, client):
    auth.login("helen@example.com")
    assert client.get("/admin/rollout/export/audit.csv").status_code == 403
    assert client.get("/admin/rollout/export/users.csv").status_code == 200
    auth.logout()
    auth.login("alice@example.com")
    assert client.get("/admin/rollout/export/users.csv").status_code == 403


def test_cells_a_spreadsheet_would_run_are_defused(seeded, admin):
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        alice.display_name = '=HYPERLINK("http://evil.example")'
        db.session.commit()
    rows = _csv(admin.get("/admin/rollout/export/users.csv?q=alice"))
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil.example")'
