"""Importing from a real OpenLDAP: people, whole groups, OUs, sync, and a directory down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import Result

from portal.directory import ldap_import
from portal.directory.ldap import LdapSettings, LdapUnavailable
from portal.extensions import db
from portal.models import AuditEvent, Group, Invitation, Organization, User, UserSource
from tests.conftest import Auth, csrf_token
from tests.support.ldap_server import SUFFIX, GroupEntry, Person, data_ldif, start_server

MOBILE = f"cn=Mobile Staff,ou=groups,{SUFFIX}"
JANE = f"uid=jane,ou=people,{SUFFIX}"


def _settings(app) -> LdapSettings:
    return LdapSettings.from_config(app.config)


def _users(app) -> dict[str, User]:
    with app.app_context():
        rows = db.session.scalars(sa.select(User).where(User.source == UserSource.LDAP)).all()
        for row in rows:
            db.session.expunge(row)
        return {u.email: u for u in rows}


def _counts(app):
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(User)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Group)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
        )


def test_group_import_brings_members_with_managed_apple_ids(ldap_app):
    with ldap_app.app_context():
        report = ldap_import.import_selection(_settings(ldap_app), actor=None, group_dns=[MOBILE])
    # Olga is a member but outside the user filter: not imported.
    assert sorted(report.created) == ["jane.doe@example.com", "john.smith@example.com"]
    users = _users(ldap_app)
    assert users["jane.doe@example.com"].managed_apple_id == "jane.doe@appleid.example.com"
    assert users["john.smith@example.com"].managed_apple_id == "john.smith@appleid.example.com"
    assert users["jane.doe@example.com"].device_role is True
    assert users["john.smith@example.com"].device_role is False
    assert "olga.ext@example.com" not in users
    with ldap_app.app_context():
        group = db.session.scalar(sa.select(Group).filter_by(name="Mobile Staff"))
        assert group.source == UserSource.LDAP and group.external_id == MOBILE
        assert sorted(u.email for u in group.members) == sorted(report.created)
        assert "ldap.import" in db.session.scalars(sa.select(AuditEvent.action)).all()


def test_upn_scheme_uses_the_directory_upn(ldap_app_factory):
    app = ldap_app_factory(LDAP_ATTR_UPN="userPrincipalName")
    with app.app_context():
        org = db.session.scalar(sa.select(Organization))
        org.apple_id_scheme = "upn"
        org.apple_id_subdomain = False
        db.session.commit()
        ldap_import.import_selection(_settings(app), actor=None, user_dns=[JANE])
    assert _users(app)["jane.doe@example.com"].managed_apple_id == "jane.doe@corp.example.com"


def test_ou_import_takes_everyone_in_the_unit(ldap_app):
    with ldap_app.app_context():
        report = ldap_import.import_selection(
            _settings(ldap_app), actor=None, ou_dns=[f"ou=sales,{SUFFIX}"]
        )
    assert report.created == ["kate.moss@example.com"]


def test_imported_users_are_invited_when_the_org_says_so(ldap_app):
    with ldap_app.app_context():
        db.session.scalar(sa.select(Organization)).invite_imported_users = True
        db.session.commit()
        report = ldap_import.import_selection(_settings(ldap_app), actor=None, user_dns=[JANE])
        assert report.invited == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_importing_twice_changes_nothing_the_second_time(ldap_app):
    with ldap_app.app_context():
        ldap_import.import_selection(_settings(ldap_app), actor=None, group_dns=[MOBILE])
        again = ldap_import.import_selection(_settings(ldap_app), actor=None, group_dns=[MOBILE])
    assert again.created == [] and len(again.unchanged) == 2


def test_a_local_account_with_the_same_address_is_not_taken_over(ldap_app_factory, tmp_path):
    ldif = data_ldif(
        people=[Person("alice", "Alice Ldap", "alice@example.com")],
        groups=[GroupEntry("Empty")],
    )
    server = start_server(tmp_path / "other", ldif)
    try:
        app = ldap_app_factory(LDAP_URL=server.url, LDAP_DEVICE_GROUP_DN="")
        with app.app_context():
            report = ldap_import.import_selection(
                _settings(app), actor=None, user_dns=[f"uid=alice,ou=people,{SUFFIX}"]
            )
            alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
            assert alice.source == UserSource.LOCAL and alice.display_name == "Alice Martin"
        assert report.created == [] and report.skipped
    finally:
        server.stop()


def test_directory_down_imports_nothing(ldap_app_factory):
    from tests.support.ldap_server import free_port

    app = ldap_app_factory(LDAP_URL=f"ldap://127.0.0.1:{free_port()}")
    before = _counts(app)
    with app.app_context(), pytest.raises(LdapUnavailable):
        ldap_import.import_selection(_settings(app), actor=None, group_dns=[MOBILE])
    assert _counts(app) == before


def test_directory_failing_half_way_imports_nothing(ldap_app, monkeypatch):
    from portal.directory import ldap as ldap_module

    calls = {"n": 0}
    real = ldap_module.Directory.person

    def flaky(self, dn):
        calls["n"] += 1
        if calls["n"] == 2:
            raise LdapUnavailable("the directory stopped answering")
        return real(self, dn)

    monkeypatch.setattr(ldap_module.Directory, "person", flaky)
    before = _counts(ldap_app)
    with ldap_app.app_context(), pytest.raises(LdapUnavailable):
        ldap_import.import_selection(_settings(ldap_app), actor=None, group_dns=[MOBILE])
    assert _counts(ldap_app) == before


def test_database_failure_half_way_rolls_everything_back(ldap_app, monkeypatch):
    real = ldap_import.upsert_group

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ldap_import, "upsert_group", broken)
    before = _counts(ldap_app)
    with ldap_app.app_context(), pytest.raises(RuntimeError):
        ldap_import.import_selection(_settings(ldap_app), actor=None, group_dns=[MOBILE])
    monkeypatch.setattr(ldap_import, "upsert_group", real)
    assert _counts(ldap_app) == before


def test_sync_updates_and_deprovisions(ldap_app_factory, tmp_path):
    people = [
        Person("jane", "Jane Doe", "jane.doe@example.com"),
        Person("john", "John Smith", "john.smith@example.com"),
    ]
    first = start_server(
        tmp_path / "v1", data_ldif(people, [GroupEntry("Mobile Staff", [p.dn for p in people])])
    )
    app = ldap_app_factory(LDAP_URL=first.url, LDAP_DEVICE_GROUP_DN="")
    try:
        with app.app_context():
            ldap_import.import_selection(_settings(app), actor=None, group_dns=[MOBILE])
    finally:
        first.stop()
    # The directory changes: Jane is renamed, John leaves, Kate joins the group.
    people = [
        Person("jane", "Jane Martin", "jane.martin@example.com"),
        Person("kate", "Kate Moss", "kate.moss@example.com"),
    ]
    second = start_server(
        tmp_path / "v2", data_ldif(people, [GroupEntry("Mobile Staff", [p.dn for p in people])])
    )
    app.config["LDAP_URL"] = second.url
    try:
        result: Result = app.test_cli_runner().invoke(args=["users", "sync-ldap"])
    finally:
        second.stop()
    assert result.exit_code == 0, result.output
    assert "1 deactivated" in result.output
    users = _users(app)
    assert users["jane.martin@example.com"].display_name == "Jane Martin"
    assert users["jane.martin@example.com"].managed_apple_id == "jane.martin@appleid.example.com"
    assert users["john.smith@example.com"].active is False
    assert users["john.smith@example.com"].deprovisioned_at is not None
    assert users["kate.moss@example.com"].active is True
    with app.app_context():
        group = db.session.scalar(sa.select(Group).filter_by(name="Mobile Staff"))
        assert sorted(u.email for u in group.members) == [
            "jane.martin@example.com",
            "kate.moss@example.com",
        ]


def test_sync_refuses_an_empty_directory(ldap_app_factory, tmp_path):
    app = ldap_app_factory()
    with app.app_context():
        ldap_import.import_selection(_settings(app), actor=None, user_dns=[JANE])
    empty = start_server(tmp_path / "empty", data_ldif([], []))
    app.config["LDAP_URL"] = empty.url
    try:
        result = app.test_cli_runner().invoke(args=["users", "sync-ldap"])
    finally:
        empty.stop()
    assert result.exit_code != 0
    assert "returned no people" in result.output
    assert _users(app)["jane.doe@example.com"].active is True


def test_sync_with_the_directory_down_is_a_clear_error(ldap_app_factory):
    from tests.support.ldap_server import free_port

    app = ldap_app_factory(LDAP_URL=f"ldap://127.0.0.1:{free_port()}")
    result = app.test_cli_runner().invoke(args=["users", "sync-ldap"])
    assert result.exit_code != 0
    assert "cannot be reached" in result.output


# -- the admin page ----------------------------------------------------------------------


def _admin(app):
    client = app.test_client()
    Auth(client).login("adam@example.com")
    return client


def test_admin_searches_people_groups_and_units(ldap_app):
    client = _admin(ldap_app)
    page = client.get("/admin/ldap?q=jane&kind=people", headers={"HX-Request": "true"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="ldap-results"' in text and "<html" not in text
    assert JANE in text and "Olga" not in text
    groups = client.get("/admin/ldap?q=staff&kind=groups").get_data(as_text=True)
    assert "Mobile Staff" in groups and "3 members" in groups
    units = client.get("/admin/ldap?q=sales&kind=ous").get_data(as_text=True)
    assert "Kate Moss" in units


def test_admin_imports_a_group_from_the_page(ldap_app):
    client = _admin(ldap_app)
    token = csrf_token(client, "/admin/ldap")
    response = client.post("/admin/ldap/import", data={"csrf_token": token, "group_dn": MOBILE})
    assert response.status_code == 200
    assert "2 accounts created" in response.get_data(as_text=True)
    assert set(_users(ldap_app)) == {"jane.doe@example.com", "john.smith@example.com"}


def test_admin_import_with_the_directory_down_says_so(ldap_app_factory):
    from tests.support.ldap_server import free_port

    app = ldap_app_factory(LDAP_URL=f"ldap://127.0.0.1:{free_port()}")
    client = _admin(app)
    before = _counts(app)
    response = client.post(
        "/admin/ldap/import",
        data={"csrf_token": csrf_token(client, "/admin/ldap"), "user_dn": JANE},
    )
    assert response.status_code == 502
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    search = client.get("/admin/ldap?q=jane&kind=people")
    assert search.status_code == 502
    assert _counts(app)[:2] == before[:2]


def test_admin_import_without_a_choice_is_400(ldap_app):
    client = _admin(ldap_app)
    response = client.post(
        "/admin/ldap/import", data={"csrf_token": csrf_token(client, "/admin/ldap")}
    )
    assert response.status_code == 400


def test_ldap_pages_are_for_admins_only(ldap_app):
    client = ldap_app.test_client()
    Auth(client).login("helen@example.com")
    assert client.get("/admin/ldap").status_code == 403
    assert client.get("/admin/sign-in").status_code == 403


def test_sign_in_sources_connection_test_counts_people(ldap_app):
    client = _admin(ldap_app)
    token = csrf_token(client, "/admin/sign-in")
    response = client.post(
        "/admin/sign-in/ldap-test", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Connected. 3 people match the user filter" in response.get_data(as_text=True)
