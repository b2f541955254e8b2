"""Signing in with a directory password: bind, wrong password, filter, directory down."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import User, UserSession, UserSource
from tests.conftest import Auth
from tests.support.ldap_server import free_port

SAME_MESSAGE = "That e-mail and password do not match an account."


def _login(app, email, password="ldap-password"):
    client = app.test_client()
    return client, Auth(client).login(email, password)


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(email=email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_unknown_directory_user_is_imported_at_first_sign_in_with_jit(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True, LDAP_ATTR_UPN="userPrincipalName")
    client, response = _login(app, "Jane.Doe@example.com")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Jane Doe" in client.get("/").get_data(as_text=True)
    user = _user(app, "jane.doe@example.com")
    assert user.source == UserSource.LDAP
    assert user.external_id == "uid=jane,ou=people,dc=example,dc=com"
    assert user.upn == "jane.doe@corp.example.com"
    assert user.device_role is True  # in "Device Managers"
    assert user.managed_apple_id == "jane.doe@appleid.example.com"
    with app.app_context():
        assert db.session.scalar(sa.select(UserSession.method)) == "ldap"


def test_member_outside_the_device_group_has_no_device_role(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    assert _login(app, "john.smith@example.com")[1].status_code == 302
    assert _user(app, "john.smith@example.com").device_role is False


def test_device_role_by_attribute(ldap_app_factory):
    app = ldap_app_factory(
        LDAP_JIT_USERS=True, LDAP_DEVICE_GROUP_DN="", LDAP_DEVICE_ATTRIBUTE="cn=John Smith"
    )
    assert _login(app, "john.smith@example.com")[1].status_code == 302
    assert _user(app, "john.smith@example.com").device_role is True


def test_without_jit_an_unknown_directory_user_is_refused(ldap_app):
    _client, response = _login(ldap_app, "jane.doe@example.com")
    assert response.status_code == 401
    assert SAME_MESSAGE in response.get_data(as_text=True)
    assert _user(ldap_app, "jane.doe@example.com") is None


def test_imported_ldap_user_signs_in_by_bind(ldap_app):
    with ldap_app.app_context():
        from portal.directory import ldap_import
        from portal.directory.ldap import LdapSettings

        ldap_import.import_selection(
            LdapSettings.from_config(ldap_app.config),
            actor=None,
            user_dns=["uid=john,ou=people,dc=example,dc=com"],
        )
    client, response = _login(ldap_app, "john.smith@example.com")
    assert response.status_code == 302
    assert "John Smith" in client.get("/").get_data(as_text=True)


def test_wrong_password_gets_the_same_message(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    _client, wrong = _login(app, "jane.doe@example.com", "not-her-password")
    _client, unknown = _login(app, "nobody@example.com", "whatever-password")
    assert wrong.status_code == unknown.status_code == 401
    assert SAME_MESSAGE in wrong.get_data(as_text=True)
    assert SAME_MESSAGE in unknown.get_data(as_text=True)
    assert _user(app, "jane.doe@example.com") is None


def test_empty_password_is_never_an_anonymous_bind(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    with app.app_context():
        from portal.directory import ldap_import
        from portal.directory.ldap import LdapSettings

        settings = LdapSettings.from_config(app.config)
        assert ldap_import.sign_in(settings, "jane.doe@example.com", "") is None


def test_user_outside_the_filter_cannot_sign_in(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    _client, response = _login(app, "olga.ext@example.com")
    assert response.status_code == 401
    assert SAME_MESSAGE in response.get_data(as_text=True)
    assert _user(app, "olga.ext@example.com") is None


def test_directory_down_gets_the_same_message_and_changes_nothing(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True, LDAP_URL=f"ldap://127.0.0.1:{free_port()}")
    _client, response = _login(app, "jane.doe@example.com")
    assert response.status_code == 401
    assert SAME_MESSAGE in response.get_data(as_text=True)
    assert _user(app, "jane.doe@example.com") is None


def test_local_accounts_still_use_their_own_password(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    assert _login(app, "alice@example.com", "demo-password")[1].status_code == 302
    # A directory password never opens a local account.
    assert _login(app, "alice@example.com", "ldap-password")[1].status_code == 401


def test_deactivated_ldap_account_cannot_sign_in(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    assert _login(app, "jane.doe@example.com")[1].status_code == 302
    with app.app_context():
        db.session.scalar(sa.select(User).filter_by(email="jane.doe@example.com")).active = False
        db.session.commit()
    assert _login(app, "jane.doe@example.com")[1].status_code == 401


def test_ldap_filter_injection_is_escaped(ldap_app_factory):
    app = ldap_app_factory(LDAP_JIT_USERS=True)
    _client, response = _login(app, "*)(mail=*")
    assert response.status_code in (400, 401)
    _client, response = _login(app, "jane*@example.com")
    assert response.status_code == 401
