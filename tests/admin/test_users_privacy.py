"""No users page, fragment, log line or audit row shows a whole Managed Apple ID."""

import logging

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.admin.users_support import HTMX, add_users, make_conflict, new_user, user_id


def _pages(app):
    ids = {email: user_id(app, email) for email in ("alice@example.com", "carol@example.com")}
    pages = [
        ("/admin/users", {}),
        ("/admin/users", HTMX),
        ("/admin/users?q=alice", HTMX),
        ("/admin/users?q=appleid", {}),
        ("/admin/users?filter=conflicts", {}),
        ("/admin/users?filter=conflicts&q=carol", HTMX),
        ("/admin/users?page=2", HTMX),
    ]
    with app.app_context():
        for uid in db.session.scalars(sa.select(User.id)):
            pages.append((f"/admin/users/{uid}", {}))
    for uid in ids.values():
        for query in ("platform=ios&os_version=18.1", "platform=macos&os_version=13&supervised=y"):
            pages.append((f"/admin/users/{uid}/decision?{query}&channel=web", HTMX))
            pages.append((f"/admin/users/{uid}/decision?{query}&channel=account", {}))
        pages.append((f"/admin/users/{uid}/decision?platform=ios&os_version=x", HTMX))
    return pages


@pytest.mark.parametrize("email", ["adam@example.com", "helen@example.com"])
def test_no_page_shows_a_whole_managed_apple_id(seeded, app, auth, client, email, caplog):
    caplog.set_level(logging.DEBUG)
    add_users(seeded, 30)
    make_conflict(seeded)
    with seeded.app_context():
        secrets = [
            value
            for row in db.session.execute(
                sa.select(User.managed_apple_id, User.managed_apple_id_conflict)
            )
            for value in row
            if value
        ]
    assert "alice@appleid.example.com" in secrets and "carol@appleid.example.com" in secrets
    auth.login(email)
    bodies = []
    for path, headers in _pages(seeded):
        response = client.get(path, headers=headers)
        assert response.status_code in (200, 400), path
        bodies.append((path, response.get_data(as_text=True)))
    if email == "adam@example.com":
        bodies.append(("/admin/users/new", client.get("/admin/users/new").get_data(as_text=True)))
        created = new_user(client, email="dora@example.com")
        bodies.append(("created", client.get(created.headers["Location"]).get_data(as_text=True)))
        secrets.append("dora@appleid.example.com")
        bodies.append(("/admin/audit", client.get("/admin/audit").get_data(as_text=True)))
    for path, body in bodies:
        for secret in secrets:
            assert secret not in body, (path, secret)
    everything = "".join(body for _path, body in bodies)
    assert "al***@appleid.example.com" in everything
    assert "ca***@appleid.example.com" in everything
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage()
    with seeded.app_context():
        for event in db.session.scalars(sa.select(AuditEvent)):
            text = f"{event.before} {event.after}"
            for secret in secrets:
                assert secret not in text, event.action
