"""Static groups: create, rename, delete, members; audited; bad input refused, nothing changed."""

import pytest
import sqlalchemy as sa

from portal.directory import groups
from portal.extensions import db
from portal.models import (
    AuditEvent,
    EnrollmentSetting,
    Group,
    User,
    group_membership,
    setting_assignment,
)


@pytest.fixture
def adam(seeded):
    # A request context: error messages are lazy translations, rendered in a request.
    with seeded.test_request_context():
        yield db.session.scalar(sa.select(User).filter_by(email="adam@example.com"))


def events(action):
    return list(db.session.scalars(sa.select(AuditEvent).filter_by(action=action)))


def counts():
    """A fingerprint of everything a group change could touch."""
    tables = (Group, AuditEvent, User, EnrollmentSetting)
    rows = [db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables]
    for table in (group_membership, setting_assignment):
        rows.append(db.session.scalar(sa.select(sa.func.count()).select_from(table)))
    names = sorted(db.session.scalars(sa.select(Group.name)))
    return rows, names


def test_create_group_trims_the_name_and_audits(adam):
    group = groups.create_group(adam, "  Sales   team ", " Field sales ")
    db.session.commit()
    assert group.name == "Sales team" and group.description == "Field sales"
    (event,) = events("group.created")
    assert event.actor_label == "adam@example.com"
    assert event.target_id == str(group.id)
    assert event.after == {"name": "Sales team", "description": "Field sales"}


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", groups.GroupNameRequired),
        ("   ", groups.GroupNameRequired),
        (None, groups.GroupNameRequired),
        ("x" * 201, groups.GroupNameTooLong),
        ("User Enrollment", groups.DuplicateGroupName),
        ("user   ENROLLMENT", groups.DuplicateGroupName),
    ],
)
def test_create_group_refuses_bad_names_and_changes_nothing(adam, name, error):
    before = counts()
    with pytest.raises(error) as raised:
        groups.create_group(adam, name)
    assert str(raised.value)  # a clear message for the form
    db.session.rollback()
    assert counts() == before


def test_duplicate_name_is_a_conflict_and_names_its_field(adam):
    error = groups.DuplicateGroupName()
    assert error.status == 409 and error.field == "name"
    assert str(error) == "Another group already has this name."


def test_rename_group_records_before_and_after(adam):
    group = groups.create_group(adam, "Sales")
    groups.rename_group(adam, group.id, "Sales EMEA", "Europe")
    db.session.commit()
    (event,) = events("group.renamed")
    assert event.before == {"name": "Sales", "description": ""}
    assert event.after == {"name": "Sales EMEA", "description": "Europe"}


def test_rename_to_the_same_name_in_other_case_is_allowed(adam):
    group = groups.create_group(adam, "Sales")
    groups.rename_group(adam, group.id, "SALES")
    assert group.name == "SALES"


def test_rename_without_change_records_nothing(adam):
    group = groups.create_group(adam, "Sales")
    groups.rename_group(adam, group.id, "Sales")
    assert events("group.renamed") == []


@pytest.mark.parametrize(
    ("name", "error"),
    [("", groups.GroupNameRequired), ("User Enrollment", groups.DuplicateGroupName)],
)
def test_rename_refuses_bad_names_and_changes_nothing(adam, name, error):
    group = groups.create_group(adam, "Sales")
    db.session.commit()
    before = counts()
    with pytest.raises(error):
        groups.rename_group(adam, group.id, name)
    db.session.rollback()
    assert counts() == before


@pytest.mark.parametrize("call", ["rename", "delete", "add", "remove", "get", "candidates"])
def test_unknown_group_is_refused(adam, call):
    before = counts()
    with pytest.raises(groups.UnknownGroup) as raised:
        {
            "rename": lambda: groups.rename_group(adam, 9999, "X"),
            "delete": lambda: groups.delete_group(adam, 9999),
            "add": lambda: groups.add_member(adam, 9999, "bob@example.com"),
            "remove": lambda: groups.remove_member(adam, 9999, adam.id),
            "get": lambda: groups.get_group(9999),
            "candidates": lambda: groups.member_candidates(9999, "bob"),
        }[call]()
    assert raised.value.status == 404
    db.session.rollback()
    assert counts() == before


def test_add_and_remove_member_by_email(adam):
    group = groups.create_group(adam, "Sales")
    user = groups.add_member(adam, group.id, "  BOB@example.com ")
    db.session.commit()
    assert user.email == "bob@example.com"
    assert [u.email for u in group.members] == ["bob@example.com"]
    (added,) = events("group.member_added")
    assert added.after["user"] == "bob@example.com" and added.after["members"] == 1

    groups.remove_member(adam, group.id, user.id)
    db.session.commit()
    assert group.members == []
    (removed,) = events("group.member_removed")
    assert removed.before["user"] == "bob@example.com" and removed.after == {"members": 0}
    assert db.session.get(User, user.id) is not None


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("", groups.MemberEmailRequired),
        ("nobody@example.com", groups.UnknownUser),
        ("alice@example.com", groups.AlreadyMember),
    ],
)
def test_add_member_refuses_bad_input_and_changes_nothing(adam, email, error):
    group = db.session.scalar(sa.select(Group).filter_by(name="User Enrollment"))
    before = counts()
    with pytest.raises(error) as raised:
        groups.add_member(adam, group.id, email)
    assert raised.value.field == "email"
    db.session.rollback()
    assert counts() == before


def test_remove_member_refuses_an_outsider_or_unknown_user(adam):
    group = db.session.scalar(sa.select(Group).filter_by(name="User Enrollment"))
    bob = db.session.scalar(sa.select(User).filter_by(email="bob@example.com"))
    before = counts()
    with pytest.raises(groups.NotAMember):
        groups.remove_member(adam, group.id, bob.id)
    with pytest.raises(groups.UnknownUser):
        groups.remove_member(adam, group.id, 9999)
    db.session.rollback()
    assert counts() == before


def test_delete_group_removes_memberships_and_assignments_not_users(adam):
    group = db.session.scalar(sa.select(Group).filter_by(name="User Enrollment"))
    group_id = group.id
    users_before = db.session.scalar(sa.select(sa.func.count(User.id)))
    groups.delete_group(adam, group_id)
    db.session.commit()
    assert db.session.get(Group, group_id) is None
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before
    memberships = sa.select(group_membership).where(group_membership.c.group_id == group_id)
    assignments = sa.select(setting_assignment).where(setting_assignment.c.group_id == group_id)
    assert db.session.execute(memberships).all() == []
    assert db.session.execute(assignments).all() == []
    alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    assert alice.groups == []
    (event,) = events("group.deleted")
    assert event.before["members"] == ["alice@example.com"]
    assert event.before["settings"] == ["BYOD – User Enrollment"]


def test_list_groups_counts_members_and_lists_settings(adam):
    groups.create_group(adam, "Empty")
    rows = {row.group.name: row for row in groups.list_groups()}
    assert rows["Empty"].member_count == 0 and rows["Empty"].settings == []
    assert rows["User Enrollment"].member_count == 1
    assert [s.name for s in rows["User Enrollment"].settings] == ["BYOD – User Enrollment"]


def test_member_candidates_match_name_or_email_outside_the_group(adam):
    group = db.session.scalar(sa.select(Group).filter_by(name="User Enrollment"))
    assert [u.email for u in groups.member_candidates(group.id, "durand")] == ["bob@example.com"]
    assert [u.email for u in groups.member_candidates(group.id, "BOB@")] == ["bob@example.com"]
    # Alice is already a member; wildcards are taken literally.
    assert groups.member_candidates(group.id, "alice") == []
    assert groups.member_candidates(group.id, "%") == []
    assert groups.member_candidates(group.id, "   ") == []
