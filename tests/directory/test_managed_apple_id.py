"""Managed Apple IDs: derived by the org's scheme, unique, conflicts recorded and audited."""

import pytest
import sqlalchemy as sa

from portal.directory import service
from portal.extensions import db
from portal.models import AppleIdScheme, AuditEvent, Organization, User


@pytest.fixture
def org(ctx):
    org = Organization(name="Example Corp", domains=["example.com"], apple_id_subdomain=True)
    db.session.add(org)
    db.session.commit()
    return org


def make_user(org, email, **values):
    user = User(org_id=org.id, email=email, display_name=email.split("@")[0], **values)
    db.session.add(user)
    db.session.flush()
    return user


def events(action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_derives_into_the_appleid_subdomain_and_audits_masked(org):
    jane = make_user(org, "jane.doe@example.com")
    assert service.apply_managed_apple_id(jane, org, actor=None) is True
    assert jane.managed_apple_id == "jane.doe@appleid.example.com"
    assert jane.managed_apple_id_conflict is None
    (event,) = events("user.managed_apple_id_set")
    assert event.after["managed_apple_id"] == "ja***@appleid.example.com"
    assert event.target_id == str(jane.id) and event.actor_label == "system"


def test_upn_scheme_without_subdomain(org):
    org.apple_id_scheme, org.apple_id_subdomain = AppleIdScheme.UPN, False
    jane = make_user(org, "jane@example.com", upn="J.Doe@Corp.Example.com")
    assert service.apply_managed_apple_id(jane, org, actor=None)
    assert jane.managed_apple_id == "j.doe@corp.example.com"


def test_upn_scheme_without_a_upn_changes_nothing(org):
    org.apple_id_scheme = AppleIdScheme.UPN
    jane = make_user(org, "jane@example.com")
    assert service.apply_managed_apple_id(jane, org, actor=None) is False
    assert jane.managed_apple_id is None and jane.managed_apple_id_conflict is None
    assert events("user.managed_apple_id_set") == []


def test_already_held_records_the_conflict_and_leaves_the_user_unchanged(org):
    make_user(org, "first@example.com", managed_apple_id="jane@appleid.example.com")
    jane = make_user(org, "jane@example.com", managed_apple_id="old@appleid.example.com")
    assert service.apply_managed_apple_id(jane, org, actor=None) is False
    db.session.commit()
    db.session.refresh(jane)
    assert jane.managed_apple_id == "old@appleid.example.com"
    assert jane.managed_apple_id_conflict == "jane@appleid.example.com"
    (event,) = events("user.managed_apple_id_conflict")
    assert event.after["managed_apple_id_conflict"] == "ja***@appleid.example.com"
    assert "jane@appleid.example.com" not in str(event.before) + str(event.after)


def test_the_same_conflict_twice_is_audited_once(org):
    make_user(org, "first@example.com", managed_apple_id="jane@appleid.example.com")
    jane = make_user(org, "jane@example.com")
    service.apply_managed_apple_id(jane, org, actor=None)
    service.apply_managed_apple_id(jane, org, actor=None)
    assert len(events("user.managed_apple_id_conflict")) == 1


def test_conflict_clears_once_the_other_account_lets_go(org):
    first = make_user(org, "first@example.com", managed_apple_id="jane@appleid.example.com")
    jane = make_user(org, "jane@example.com")
    service.apply_managed_apple_id(jane, org, actor=None)
    first.managed_apple_id = None
    db.session.flush()
    assert service.apply_managed_apple_id(jane, org, actor=None) is True
    assert jane.managed_apple_id == "jane@appleid.example.com"
    assert jane.managed_apple_id_conflict is None


def test_unchanged_id_writes_no_event(org):
    jane = make_user(org, "jane@example.com", managed_apple_id="jane@appleid.example.com")
    assert service.apply_managed_apple_id(jane, org, actor=None) is True
    assert events("user.managed_apple_id_set") == []


def test_database_rejects_a_second_holder(org):
    make_user(org, "first@example.com", managed_apple_id="x@appleid.example.com")
    with pytest.raises(sa.exc.IntegrityError):
        make_user(org, "second@example.com", managed_apple_id="x@appleid.example.com")
    db.session.rollback()


def test_a_holder_appearing_after_the_check_is_caught_by_the_database(org, monkeypatch):
    make_user(org, "first@example.com", managed_apple_id="jane@appleid.example.com")
    jane = make_user(org, "jane@example.com", managed_apple_id="old@appleid.example.com")
    # Simulate the race: the check sees nobody, the unique index says otherwise.
    calls = iter([None, 1])
    monkeypatch.setattr(service, "_holder_of", lambda value, user: next(calls))
    assert service.apply_managed_apple_id(jane, org, actor=None) is False
    db.session.commit()
    db.session.refresh(jane)
    assert jane.managed_apple_id == "old@appleid.example.com"
    assert jane.managed_apple_id_conflict == "jane@appleid.example.com"
