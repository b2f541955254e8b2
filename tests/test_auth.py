"""Local sign-in: credentials, sessions, CSRF, rate limits."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, UserSession
from tests.conftest import csrf_token

SAME_MESSAGE = "That e-mail and password do not match an account."


def test_sign_in_with_demo_account_lands_on_home(seeded, auth, client):
    response = auth.login("alice@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Alice Martin" in page.get_data(as_text=True)


def test_email_is_case_insensitive(seeded, auth):
    assert auth.login("  ALICE@Example.com ").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(seeded, auth):
    wrong = auth.login("alice@example.com", "not-her-password")
    unknown = auth.login("nobody@example.com", "whatever")
    assert wrong.status_code == unknown.status_code == 401
    assert SAME_MESSAGE in wrong.get_data(as_text=True)
    assert SAME_MESSAGE in unknown.get_data(as_text=True)


def test_empty_form_says_what_is_missing(seeded, client):
    response = client.post("/login", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter your work e-mail." in body
    assert "Enter your password." in body


def test_missing_csrf_token_is_refused_with_a_clear_page(seeded, client):
    response = client.post(
        "/login", data={"email": "alice@example.com", "password": "demo-password"}
    )
    assert response.status_code == 400
    assert "The form expired or was sent from another site" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_sign_in_rotates_the_session(seeded, auth, client, app):
    client.get("/login")
    before = client.get_cookie("portal_session").value
    auth.login("alice@example.com")
    after = client.get_cookie("portal_session").value
    assert before != after
    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession)).all()
        assert len(rows) == 1 and rows[0].ended_at is None
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "auth.sign_in" in actions


def test_sign_out_is_a_post_and_ends_the_session_on_the_server(seeded, auth, client, app):
    auth.login("alice@example.com")
    stolen_cookie = client.get_cookie("portal_session").value
    assert client.get("/logout").status_code == 405
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    # Replaying the cookie from before sign-out does not bring the session back.
    replay = app.test_client()
    replay.set_cookie("portal_session", stolen_cookie)
    assert replay.get("/").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(UserSession.ended_at)) is not None


def test_idle_session_ends(seeded, auth, client, app):
    auth.login("alice@example.com")
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession))
        row.last_seen_at = row.last_seen_at.replace(year=row.last_seen_at.year - 1)
        db.session.commit()
    assert client.get("/").status_code == 302


def test_disabled_account_cannot_sign_in_or_keep_its_session(seeded, auth, client, app):
    from portal.models import User

    auth.login("alice@example.com")
    with app.app_context():
        db.session.scalar(sa.select(User).filter_by(email="alice@example.com")).active = False
        db.session.commit()
    assert client.get("/").status_code == 302
    assert auth.login("alice@example.com").status_code == 401


def test_sixth_failed_sign_in_for_one_account_is_refused_with_429(seeded, auth, client):
    statuses = [auth.login("bob@example.com", "wrong").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    response = auth.login("bob@example.com", "demo-password")  # even the right password waits
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    # Another account from the same address is not affected.
    assert auth.login("alice@example.com").status_code == 302


def test_twenty_people_from_one_address_are_not_limited(seeded, app):
    from portal.extensions import db as _db
    from portal.models import Organization, User
    from portal.passwords import passwords

    with app.app_context():
        org = _db.session.scalar(sa.select(Organization))
        hashed = passwords.hash("office-password")
        for i in range(20):
            _db.session.add(
                User(
                    org_id=org.id,
                    email=f"staff{i}@example.com",
                    display_name=f"Staff {i}",
                    password_hash=hashed,
                )
            )
        _db.session.commit()
    for i in range(20):
        client = app.test_client()  # one browser each, all behind one office address
        token = csrf_token(client)
        # Each mistypes once, then signs in.
        typo = client.post(
            "/login",
            data={"email": f"staff{i}@example.com", "password": "typo", "csrf_token": token},
        )
        assert typo.status_code == 401
        ok = client.post(
            "/login",
            data={
                "email": f"staff{i}@example.com",
                "password": "office-password",
                "csrf_token": token,
            },
        )
        assert ok.status_code == 302, f"person {i} was limited"


def test_next_is_kept_and_open_redirects_are_refused(seeded, client):
    assert client.get("/admin/audit").headers["Location"] == "/login?next=/admin/audit"
    token = csrf_token(client)
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ]:
        response = client.post(
            "/login",
            data={
                "email": "adam@example.com",
                "password": "demo-password",
                "csrf_token": token,
                "next": evil,
            },
        )
        assert response.headers["Location"] == "/", evil
        token = csrf_token(client, "/admin/audit")
        client.post("/logout", data={"csrf_token": token})
        token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "email": "adam@example.com",
            "password": "demo-password",
            "csrf_token": token,
            "next": "/admin/audit",
        },
    )
    assert response.headers["Location"] == "/admin/audit"


def test_sign_out_can_return_to_a_same_origin_sign_in(seeded, auth, client):
    auth.login("alice@example.com")
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token, "next": "/mdm/enroll/auth?x=1"})
    assert response.headers["Location"] == "/login?next=/mdm/enroll/auth?x%3D1"
    auth.login("alice@example.com")
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token, "next": "//evil.example/"})
    assert response.headers["Location"] == "/login"
