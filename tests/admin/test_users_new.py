"""Adding a local user and fixing Managed Apple ID conflicts: admins only, audited."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.admin.users_support import count_users, make_conflict, new_user, user_id
from tests.conftest import csrf_token


def test_admin_adds_a_local_user(seeded, auth, client):
    auth.login("adam@example.com")
    response = new_user(client, role="helpdesk", password="a long enough password")
    assert response.status_code == 303
    zoe = user_id(seeded, "zoe@example.com")
    assert response.headers["Location"] == f"/admin/users/{zoe}"
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zoé Martin was added." in body and "zo***@appleid.example.com" in body
    with seeded.app_context():
        user = db.session.get(User, zoe)
        assert user.role == "helpdesk" and user.source == "local"
        assert user.managed_apple_id == "zoe@appleid.example.com"
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="user.created"))
        assert event.actor_label == "adam@example.com" and event.target_id == str(zoe)
    # The new account can sign in with its password.
    other = seeded.test_client()
    token = csrf_token(other)
    signed_in = other.post(
        "/login",
        data={
            "email": "zoe@example.com",
            "password": "a long enough password",
            "csrf_token": token,
        },
    )
    assert signed_in.status_code == 302


@pytest.mark.parametrize(
    ("values", "status", "field", "message"),
    [
        ({"email": "Alice@Example.com"}, 409, "email", "Another account already uses this"),
        ({"email": "not-an-address"}, 400, "email", "Enter a valid e-mail address"),
        ({"email": ""}, 400, "email", "work e-mail."),
        ({"display_name": ""}, 400, "display_name", "Enter the person"),
        ({"password": "short"}, 400, "password", "at least 12 characters"),
        ({"role": "root"}, 400, "role", "Not a valid choice"),
    ],
)
def test_bad_new_user_shows_the_error_and_changes_nothing(
    seeded, auth, client, values, status, field, message
):
    auth.login("adam@example.com")
    before = count_users(seeded)
    response = new_user(client, **values)
    body = response.get_data(as_text=True)
    assert response.status_code == status
    assert f'id="{field}-error"' in body and message in body
    assert "Traceback" not in body
    assert count_users(seeded) == before
    with seeded.app_context():
        assert db.session.scalar(sa.select(AuditEvent).filter_by(action="user.created")) is None


def test_new_user_whose_apple_id_is_held_gets_the_conflict_shown(seeded, auth, client):
    with seeded.app_context():
        bob = db.session.scalar(sa.select(User).filter_by(email="bob@example.com"))
        bob.managed_apple_id = "zoe@appleid.example.com"
        db.session.commit()
    auth.login("adam@example.com")
    response = new_user(client)
    assert response.status_code == 303
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Another account already holds the Managed Apple ID" in body
    assert 'id="apple-id-conflict"' in body and "Held by Bob Durand" in body
    assert "zo***@appleid.example.com" in body and "zoe@appleid.example.com" not in body
    with seeded.app_context():
        zoe = db.session.scalar(sa.select(User).filter_by(email="zoe@example.com"))
        assert zoe.managed_apple_id is None
        assert zoe.managed_apple_id_conflict == "zoe@appleid.example.com"
    listing = client.get("/admin/users?filter=conflicts").get_data(as_text=True)
    assert "Zoé Martin" in listing and "Conflict" in listing


def test_helpdesk_forged_post_is_403_and_changes_nothing(seeded, auth, client):
    auth.login("helen@example.com")
    token = csrf_token(client, "/admin/users")
    before = count_users(seeded)
    response = client.post(
        "/admin/users/new",
        data={
            "email": "mallory@example.com",
            "display_name": "Mallory",
            "role": "admin",
            "csrf_token": token,
        },
    )
    assert response.status_code == 403
    assert count_users(seeded) == before
    make_conflict(seeded)
    carol = user_id(seeded, "carol@example.com")
    response = client.post(f"/admin/users/{carol}/managed-apple-id", data={"csrf_token": token})
    assert response.status_code == 403
    with seeded.app_context():
        assert db.session.get(User, carol).managed_apple_id_conflict is not None
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert not [a for a in actions if a.startswith("user.")]


def test_new_user_without_csrf_token_is_refused(seeded, auth, client):
    auth.login("adam@example.com")
    before = count_users(seeded)
    response = client.post(
        "/admin/users/new",
        data={"email": "zoe@example.com", "display_name": "Zoé", "role": "employee"},
    )
    assert response.status_code == 400 and count_users(seeded) == before


def test_admin_derives_again_once_the_conflict_is_resolved(seeded, auth, client):
    make_conflict(seeded)
    carol = user_id(seeded, "carol@example.com")
    auth.login("adam@example.com")
    page = client.get(f"/admin/users/{carol}").get_data(as_text=True)
    assert "Derive the Managed Apple ID again" in page
    token = csrf_token(client, f"/admin/users/{carol}")
    still = client.post(f"/admin/users/{carol}/managed-apple-id", data={"csrf_token": token})
    assert still.status_code == 303
    assert "Another account already holds" in client.get(f"/admin/users/{carol}").get_data(
        as_text=True
    )
    with seeded.app_context():
        db.session.get(User, user_id(seeded, "bob@example.com")).managed_apple_id = None
        db.session.commit()
    client.post(f"/admin/users/{carol}/managed-apple-id", data={"csrf_token": token})
    body = client.get(f"/admin/users/{carol}").get_data(as_text=True)
    assert "The Managed Apple ID is set." in body and 'id="apple-id-conflict"' not in body
    with seeded.app_context():
        assert db.session.get(User, carol).managed_apple_id == "carol@appleid.example.com"
        event = db.session.scalar(
            sa.select(AuditEvent).filter_by(action="user.managed_apple_id_set")
        )
        assert event.actor_label == "adam@example.com"
