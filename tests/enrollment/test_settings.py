"""Enrollment settings: validated, ordered by priority, assigned to groups, audited."""

import pytest
import sqlalchemy as sa

from portal.enrollment import settings
from portal.extensions import db
from portal.models import AuditEvent, EnrollmentSetting, Group, User, setting_assignment


@pytest.fixture
def adam(seeded):
    # A request context: error messages are lazy translations, rendered in a request.
    with seeded.test_request_context():
        yield db.session.scalar(sa.select(User).filter_by(email="adam@example.com"))


def by_name(name):
    return db.session.scalar(sa.select(EnrollmentSetting).filter_by(name=name))


def events(action):
    return list(db.session.scalars(sa.select(AuditEvent).filter_by(action=action)))


def state():
    """Everything a settings change could touch."""
    rows = db.session.execute(
        sa.select(
            EnrollmentSetting.id,
            EnrollmentSetting.name,
            EnrollmentSetting.description,
            EnrollmentSetting.enrollment_type,
            EnrollmentSetting.device_owner,
            EnrollmentSetting.priority,
            EnrollmentSetting.is_default,
        ).order_by(EnrollmentSetting.id)
    ).all()
    assignments = db.session.execute(sa.select(setting_assignment)).all()
    audit = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    return rows, sorted(assignments), audit


def make(adam, name, **values):
    args = {"name": name, "enrollment_type": "device", "device_owner": "employee"}
    args.update(values)
    return settings.create_setting(adam, **args)


def names():
    return [s.name for s in settings.list_settings()]


def test_new_settings_go_to_the_bottom_above_the_default(adam):
    first = make(adam, "Contractors", description="  Short term ")
    second = make(adam, "Kiosks", device_owner="company")
    db.session.commit()
    assert names() == ["BYOD – User Enrollment", "Contractors", "Kiosks", "Default"]
    assert (first.priority, second.priority) == (20, 30)
    assert first.description == "Short term"
    (event, _) = events("setting.created")
    assert event.after["name"] == "Contractors" and event.after["enrollment_type"] == "device"


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"name": ""}, settings.SettingNameRequired),
        ({"name": "  "}, settings.SettingNameRequired),
        ({"name": "x" * 201}, settings.SettingNameTooLong),
        ({"name": "default"}, settings.DuplicateSettingName),
        ({"description": "x" * 501}, settings.DescriptionTooLong),
        ({"enrollment_type": "mam"}, settings.InvalidEnrollmentType),
        ({"enrollment_type": None}, settings.InvalidEnrollmentType),
        ({"device_owner": "someone"}, settings.InvalidDeviceOwner),
        (
            {"enrollment_type": "user", "device_owner": "company"},
            settings.CompanyOwnedUserEnrollment,
        ),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(adam, values, error):
    before = state()
    with pytest.raises(error) as raised:
        make(adam, **{"name": "New", **values})
    assert str(raised.value)
    db.session.rollback()
    assert state() == before


def test_company_owned_user_enrollment_message_is_clear(adam):
    error = settings.CompanyOwnedUserEnrollment()
    assert error.field == "device_owner" and error.status == 400
    assert "company-owned device uses Device Enrollment" in str(error)


def test_update_records_before_and_after(adam):
    byod = by_name("BYOD – User Enrollment")
    settings.update_setting(
        adam,
        byod.id,
        name="BYOD",
        description="Personal devices",
        enrollment_type="user",
        device_owner="employee",
    )
    db.session.commit()
    (event,) = events("setting.updated")
    assert event.before["name"] == "BYOD – User Enrollment"
    assert event.after["name"] == "BYOD" and event.after["description"] == "Personal devices"


def test_update_to_company_owned_user_enrollment_is_refused(adam):
    byod = by_name("BYOD – User Enrollment")
    before = state()
    with pytest.raises(settings.CompanyOwnedUserEnrollment):
        settings.update_setting(
            adam,
            byod.id,
            name=byod.name,
            description="",
            enrollment_type="user",
            device_owner="company",
        )
    db.session.rollback()
    assert state() == before


def test_the_default_setting_can_be_edited_but_stays_default(adam):
    default = by_name("Default")
    settings.update_setting(
        adam,
        default.id,
        name="Everyone else",
        description="",
        enrollment_type="user",
        device_owner="employee",
    )
    db.session.commit()
    assert default.is_default and names()[-1] == "Everyone else"


def test_delete_removes_the_setting_and_its_assignments_not_the_groups(adam):
    byod = by_name("BYOD – User Enrollment")
    byod_id = byod.id
    settings.delete_setting(adam, byod_id)
    db.session.commit()
    assert db.session.get(EnrollmentSetting, byod_id) is None
    assert db.session.execute(sa.select(setting_assignment)).all() == []
    assert db.session.scalar(sa.select(Group).filter_by(name="User Enrollment")) is not None
    (event,) = events("setting.deleted")
    assert event.before["groups"] == ["User Enrollment"]


@pytest.mark.parametrize("call", ["delete", "assign", "reorder"])
def test_the_default_setting_is_protected(adam, call):
    default = by_name("Default")
    byod = by_name("BYOD – User Enrollment")
    group = db.session.scalar(sa.select(Group))
    before = state()
    with pytest.raises(settings.DefaultSettingProtected) as raised:
        {
            "delete": lambda: settings.delete_setting(adam, default.id),
            "assign": lambda: settings.assign_group(adam, default.id, group.id),
            "reorder": lambda: settings.reorder(adam, [default.id, byod.id]),
        }[call]()
    assert raised.value.status == 409
    db.session.rollback()
    assert state() == before


def test_unknown_setting_is_refused(adam):
    before = state()
    for call in (
        lambda: settings.get_setting(9999),
        lambda: settings.delete_setting(adam, 9999),
        lambda: settings.assign_group(adam, 9999, 1),
        lambda: settings.update_setting(
            adam, 9999, name="X", description="", enrollment_type="user", device_owner="employee"
        ),
    ):
        with pytest.raises(settings.UnknownSetting):
            call()
    db.session.rollback()
    assert state() == before


def test_assign_and_unassign_groups(adam):
    setting = make(adam, "Contractors")
    group = db.session.scalar(sa.select(Group).filter_by(name="User Enrollment"))
    settings.assign_group(adam, setting.id, group.id)
    db.session.commit()
    assert [g.name for g in setting.groups] == ["User Enrollment"]
    (event,) = events("setting.group_assigned")
    assert event.before == {"groups": []}
    assert event.after == {"groups": ["User Enrollment"], "group_id": group.id}

    settings.unassign_group(adam, setting.id, group.id)
    db.session.commit()
    assert setting.groups == []
    assert events("setting.group_unassigned")[0].after["groups"] == []


def test_assignment_errors_change_nothing(adam):
    byod = by_name("BYOD – User Enrollment")
    group = db.session.scalar(sa.select(Group).filter_by(name="User Enrollment"))
    other = make(adam, "Contractors")
    db.session.commit()
    before = state()
    with pytest.raises(settings.AlreadyAssigned):
        settings.assign_group(adam, byod.id, group.id)
    with pytest.raises(settings.UnknownGroup):
        settings.assign_group(adam, byod.id, 9999)
    with pytest.raises(settings.UnknownGroup):
        settings.assign_group(adam, byod.id, None)
    with pytest.raises(settings.NotAssigned):
        settings.unassign_group(adam, other.id, group.id)
    db.session.rollback()
    assert state() == before


def test_reorder_renumbers_priorities_and_audits(adam):
    byod = by_name("BYOD – User Enrollment")
    a = make(adam, "A")
    b = make(adam, "B")
    settings.reorder(adam, [b.id, byod.id, a.id])
    db.session.commit()
    assert names() == ["B", "BYOD – User Enrollment", "A", "Default"]
    assert [b.priority, byod.priority, a.priority] == [10, 20, 30]
    (event,) = events("setting.reordered")
    assert [row["name"] for row in event.before["order"]] == ["BYOD – User Enrollment", "A", "B"]
    assert [row["name"] for row in event.after["order"]] == ["B", "BYOD – User Enrollment", "A"]


def test_reorder_to_the_same_order_records_nothing(adam):
    byod = by_name("BYOD – User Enrollment")
    a = make(adam, "A")
    settings.reorder(adam, [byod.id, a.id])
    assert events("setting.reordered") == []


@pytest.mark.parametrize(
    "order",
    [
        "missing",  # a setting created since the page was loaded
        "extra",  # a setting deleted since
        "duplicate",
        "empty",
    ],
)
def test_stale_reorder_is_refused_and_changes_nothing(adam, order):
    byod = by_name("BYOD – User Enrollment")
    a = make(adam, "A")
    db.session.commit()
    ids = {
        "missing": [a.id],
        "extra": [a.id, byod.id, 9999],
        "duplicate": [a.id, a.id, byod.id],
        "empty": [],
    }[order]
    before = state()
    with pytest.raises(settings.StaleOrder) as raised:
        settings.reorder(adam, ids)
    assert raised.value.status == 409
    assert "changed since this page was loaded" in str(raised.value)
    db.session.rollback()
    assert state() == before


def test_parse_order_reads_lists_and_comma_separated_values():
    assert settings.parse_order(["3,1", "2"]) == [3, 1, 2]
    assert settings.parse_order([" 4 , 5 "]) == [4, 5]
    assert settings.parse_order([]) == []
    for bad in (["1,x"], ["-1"], ["1" * 40]):
        with pytest.raises(settings.StaleOrder):
            settings.parse_order(bad)
