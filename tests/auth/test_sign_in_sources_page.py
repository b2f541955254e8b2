"""The admin's sign-in sources page: status, checks on demand, SCIM token, Apple ID scheme."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Organization, ScimToken, User
from tests.conftest import Auth, csrf_token

HX = {"HX-Request": "true"}


def _admin(app):
    client = app.test_client()
    Auth(client).login("adam@example.com")
    return client


def test_page_shows_what_is_configured_without_calling_anyone(seeded_factory):
    # The issuer does not answer: the page must still load (no network on page load).
    app = seeded_factory(OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="portal")
    client = _admin(app)
    page = client.get("/admin/sign-in")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "http://127.0.0.1:9" in text and "portal" in text
    assert "/login/oidc/callback" in text
    assert "Set LDAP_URL" in text
    assert "/scim/v2" in text
    assert 'href="/admin/sign-in"' in text  # the nav link


def test_oidc_metadata_check_on_demand(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings())
    client = _admin(app)
    token = csrf_token(client, "/admin/sign-in")
    response = client.post("/admin/sign-in/oidc-check", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.strip().startswith('<div id="oidc-check"')
    assert "It supports PKCE (S256)." in text
    fake_idp.metadata_overrides = {"issuer": "https://evil.example"}
    response = client.post("/admin/sign-in/oidc-check", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 502
    assert "names the issuer" in response.get_data(as_text=True)


def test_oidc_check_when_unreachable_or_unconfigured(seeded_factory):
    from tests.support.ldap_server import free_port

    app = seeded_factory(OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", OIDC_CLIENT_ID="x")
    client = _admin(app)
    token = csrf_token(client, "/admin/sign-in")
    response = client.post("/admin/sign-in/oidc-check", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 502
    assert "cannot be fetched" in response.get_data(as_text=True)
    plain = _admin(seeded_factory())
    token = csrf_token(plain, "/admin/sign-in")
    response = plain.post("/admin/sign-in/oidc-check", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 409


def test_checks_need_the_csrf_token(seeded_factory):
    client = _admin(seeded_factory())
    assert client.post("/admin/sign-in/oidc-check", headers=HX).status_code == 400
    assert client.post("/admin/sign-in/scim-token", data={"action": "create"}).status_code == 400


def test_scim_token_is_shown_once_rotated_and_revoked(seeded_factory):
    app = seeded_factory()
    client = _admin(app)
    token = csrf_token(client, "/admin/sign-in")
    created = client.post(
        "/admin/sign-in/scim-token", data={"csrf_token": token, "action": "create"}, headers=HX
    )
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    text = created.get_data(as_text=True)
    raw = text.split('id="new-scim-token" type="text" readonly value="')[1].split('"')[0]
    assert raw.startswith("scim_") and len(raw) > 40
    assert "It will not be shown again" in text
    # Shown once: the page afterwards has only its last characters.
    again = client.get("/admin/sign-in").get_data(as_text=True)
    assert raw not in again and raw[-4:] in again
    scim = app.test_client()
    assert scim.get("/scim/v2/Users", headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    rotated = client.post(
        "/admin/sign-in/scim-token", data={"csrf_token": token, "action": "rotate"}, headers=HX
    ).get_data(as_text=True)
    new_raw = rotated.split('readonly value="')[1].split('"')[0]
    assert new_raw != raw
    assert scim.get("/scim/v2/Users", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    ok = scim.get("/scim/v2/Users", headers={"Authorization": f"Bearer {new_raw}"})
    assert ok.status_code == 200

    client.post("/admin/sign-in/scim-token", data={"csrf_token": token, "action": "revoke"})
    assert (
        scim.get("/scim/v2/Users", headers={"Authorization": f"Bearer {new_raw}"}).status_code
        == 401
    )
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert {"scim.token_created", "scim.token_rotated", "scim.token_revoked"} <= set(actions)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ScimToken)) == 2


def test_unknown_token_action_is_400(seeded_factory):
    client = _admin(seeded_factory())
    token = csrf_token(client, "/admin/sign-in")
    response = client.post(
        "/admin/sign-in/scim-token", data={"csrf_token": token, "action": "steal"}, headers=HX
    )
    assert response.status_code == 400


def test_apple_id_preview_follows_the_form(seeded_factory):
    client = _admin(seeded_factory())
    query = {
        "apple_id_scheme": "upn",
        "apple_id_subdomain": "y",
        "sample_email": "jane@example.com",
        "sample_upn": "JDoe@corp.example.com",
    }
    response = client.get("/admin/sign-in/apple-id-preview", query_string=query, headers=HX)
    text = response.get_data(as_text=True)
    assert text.strip().startswith('<p id="apple-id-preview"')
    assert "jdoe@appleid.corp.example.com" in text
    query.update(apple_id_scheme="email", apple_id_subdomain="")
    text = client.get("/admin/sign-in/apple-id-preview", query_string=query, headers=HX).get_data(
        as_text=True
    )
    assert "jane@example.com" in text
    query.update(apple_id_scheme="upn", sample_upn="")
    text = client.get("/admin/sign-in/apple-id-preview", query_string=query, headers=HX).get_data(
        as_text=True
    )
    assert "No Managed Apple ID can be made" in text


def test_saving_a_new_scheme_rederives_managed_apple_ids(seeded_factory):
    app = seeded_factory()
    client = _admin(app)
    response = client.post(
        "/admin/sign-in/identity",
        data={
            "csrf_token": csrf_token(client, "/admin/sign-in"),
            "apple_id_scheme": "email",
            "invite_imported_users": "y",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        org = db.session.scalar(sa.select(Organization))
        assert org.apple_id_subdomain is False and org.invite_imported_users is True
        alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
        assert alice.managed_apple_id == "alice@example.com"
        assert (
            "org.identity_settings_changed"
            in db.session.scalars(sa.select(AuditEvent.action)).all()
        )
    assert "Managed Apple IDs changed" in client.get("/admin/sign-in").get_data(as_text=True)


def test_saving_a_bad_scheme_is_400_and_changes_nothing(seeded_factory):
    app = seeded_factory()
    client = _admin(app)
    response = client.post(
        "/admin/sign-in/identity",
        data={"csrf_token": csrf_token(client, "/admin/sign-in"), "apple_id_scheme": "sms"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(Organization)).apple_id_subdomain is True


def test_ldap_test_button(seeded_factory):
    from tests.support.ldap_server import free_port

    app = seeded_factory(
        LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LDAP_BASE_DN="dc=x", LDAP_TIMEOUT=2
    )
    client = _admin(app)
    token = csrf_token(client, "/admin/sign-in")
    response = client.post("/admin/sign-in/ldap-test", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)
