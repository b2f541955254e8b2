"""Group changes for a rollout: assigning a setting says first how many people move from
User to Device Enrollment; unassigning and deleting are confirmed and can be undone for a
short time; inviting the whole group shows the count first."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEvent,
    EnrollmentSetting,
    Group,
    Invitation,
    ReminderSchedule,
    UndoAction,
    User,
    group_membership,
    setting_assignment,
)
from tests.conftest import csrf_token


@pytest.fixture
def admin(seeded, auth, client):
    auth.login("adam@example.com")
    return client


def _ids(app):
    """The demo's "User Enrollment" group and setting, plus a Device Enrollment setting."""
    with app.app_context():
        group = db.session.scalar(sa.select(Group).where(Group.name == "User Enrollment"))
        user_setting = db.session.scalar(
            sa.select(EnrollmentSetting).where(
                EnrollmentSetting.is_default.is_(False), EnrollmentSetting.enrollment_type == "user"
            )
        )
        kiosk = EnrollmentSetting(name="Kiosks", enrollment_type="device", priority=1)
        db.session.add(kiosk)
        bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
        group.members.append(bob)
        db.session.commit()
        return group.id, user_setting.id, kiosk.id


def _post(client, path, **data):
    token = csrf_token(client, "/admin/groups")
    return client.post(path, data={"csrf_token": token, **data})


def test_assigning_says_how_many_move_to_device_enrollment_first(seeded, admin):
    group_id, _user_setting, kiosk = _ids(seeded)
    page = admin.get(f"/admin/rollout/groups/{group_id}/assign?setting_id={kiosk}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Alice and Bob: the Kiosks setting outranks "User Enrollment".
    assert "2 people move from User Enrollment to Device Enrollment" in html
    with seeded.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(setting_assignment.c.setting_id == kiosk)
            )
            == 0
        )
    response = _post(admin, f"/admin/rollout/groups/{group_id}/assign", setting_id=str(kiosk))
    assert response.status_code == 303
    with seeded.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(setting_assignment.c.setting_id == kiosk)
            )
            == 1
        )
        assert db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "setting.group_assigned")
        )


def test_unassign_is_confirmed_then_undone(seeded, admin):
    group_id, user_setting, _kiosk = _ids(seeded)
    confirm = admin.get(f"/admin/rollout/groups/{group_id}/unassign/{user_setting}")
    assert "2 people move from User Enrollment to Device Enrollment" in confirm.get_data(
        as_text=True
    )
    response = _post(admin, f"/admin/rollout/groups/{group_id}/unassign/{user_setting}")
    assert response.status_code == 303
    undo_url = response.headers["Location"]
    with seeded.app_context():
        assert not db.session.execute(
            sa.select(setting_assignment).where(setting_assignment.c.group_id == group_id)
        ).all()
    assert "Undo" in admin.get(undo_url).get_data(as_text=True)
    assert _post(admin, undo_url).status_code == 303
    with seeded.app_context():
        assert db.session.execute(
            sa.select(setting_assignment.c.setting_id).where(
                setting_assignment.c.group_id == group_id
            )
        ).scalars().all() == [user_setting]
    # Once only.
    _post(admin, undo_url)
    assert admin.get(undo_url).status_code == 410


def test_an_undo_expires(seeded, admin):
    group_id, user_setting, _kiosk = _ids(seeded)
    response = _post(admin, f"/admin/rollout/groups/{group_id}/unassign/{user_setting}")
    undo_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with seeded.app_context():
        action = db.session.get(UndoAction, undo_id)
        action.expires_at = action.created_at - timedelta(seconds=1)
        db.session.commit()
    _post(admin, f"/admin/rollout/undo/{undo_id}")
    with seeded.app_context():
        assert not db.session.execute(
            sa.select(setting_assignment).where(setting_assignment.c.group_id == group_id)
        ).all()


def test_a_deleted_group_comes_back_whole(seeded, admin):
    group_id, user_setting, _kiosk = _ids(seeded)
    with seeded.app_context():
        db.session.add(ReminderSchedule(group_id=group_id, days=[3], max_reminders=1))
        db.session.commit()
        members = set(
            db.session.scalars(
                sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group_id)
            )
        )
    confirm = admin.get(f"/admin/groups/{group_id}/delete").get_data(as_text=True)
    assert "2 people move from User Enrollment to Device Enrollment" in confirm
    assert f'action="/admin/rollout/groups/{group_id}/delete"' in confirm
    response = _post(admin, f"/admin/rollout/groups/{group_id}/delete")
    undo_url = response.headers["Location"]
    with seeded.app_context():
        assert db.session.get(Group, group_id) is None
    assert _post(admin, undo_url).status_code == 303
    with seeded.app_context():
        group = db.session.scalar(sa.select(Group).where(Group.name == "User Enrollment"))
        assert {u.id for u in group.members} == members
        assert db.session.execute(
            sa.select(setting_assignment.c.setting_id).where(
                setting_assignment.c.group_id == group.id
            )
        ).scalars().all() == [user_setting]
        schedule = db.session.scalar(sa.select(ReminderSchedule))
        assert schedule.group_id == group.id and schedule.days == [3]
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "group.deleted" in actions and "group.restored" in actions


def test_invite_the_whole_group_after_a_count(seeded, admin):
    group_id, _user_setting, _kiosk = _ids(seeded)
    page = admin.get(f"/admin/rollout/groups/{group_id}/invite").get_data(as_text=True)
    assert "2 people will get an invitation." in page
    token = csrf_token(admin, f"/admin/rollout/groups/{group_id}/invite")
    response = admin.post(
        f"/admin/groups/{group_id}/invite",
        data={"csrf_token": token, "next": f"/admin/groups/{group_id}"},
    )
    assert response.status_code == 302
    with seeded.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 2
    page = admin.get(f"/admin/rollout/groups/{group_id}/invite").get_data(as_text=True)
    assert "0 people will get an invitation." in page
    assert "2 already hold a valid link" in page


def test_helpdesk_cannot_change_groups(seeded, auth, client):
    group_id, user_setting, _kiosk = _ids(seeded)
    auth.login("helen@example.com")
    assert client.get(f"/admin/rollout/groups/{group_id}/invite").status_code == 403
    response = _post(client, f"/admin/rollout/groups/{group_id}/unassign/{user_setting}")
    assert response.status_code == 403
