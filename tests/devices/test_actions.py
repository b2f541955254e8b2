"""Actions by Apple's rules: one decision, forged requests refused, others' devices hidden."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import audit
from portal.devices import service
from portal.devices.capabilities import REASONS, Action, forbidden_reason
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Device,
    DeviceStatus,
    EnrollmentType,
    Platform,
    User,
)
from tests.conftest import csrf_token

from .conftest import HX, add_device, command_count, commands, device_id

W, U, L, R = Action.WIPE, Action.UNLOCK, Action.LOCK, Action.REMOVE_WORK_DATA
# SPEC §5: (enrollment type, platform) → the actions Apple allows.
TABLE = {
    (EnrollmentType.USER, Platform.IOS): {L, R},
    (EnrollmentType.USER, Platform.IPADOS): {L, R},
    (EnrollmentType.USER, Platform.MACOS): {R},
    (EnrollmentType.MAM, Platform.IOS): {R},
    (EnrollmentType.DEVICE, Platform.IOS): {W, U, L, R},
    (EnrollmentType.DEVICE, Platform.MACOS): {W, L, R},
}
FORBIDDEN = [
    (kind, action)
    for kind, allowed in TABLE.items()
    for action in sorted(set(Action) - allowed)  # a stable order: pytest-xdist workers must agree
]


def test_unlock_is_inactive_without_the_devices_unlock_token(seeded, ctx):
    device = db.session.get(
        Device, add_device("alice@example.com", EnrollmentType.DEVICE, Platform.IOS)
    )
    unlock = service.availability(device, "unlock")
    assert not unlock.allowed and unlock.reason_code == "no_unlock_token"
    assert "unlock token" in str(unlock.reason_text)
    with pytest.raises(service.ActionRefused):
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        service.perform_action(device, "unlock", actor=adam, settings=None)
    assert command_count() == 0


@pytest.mark.parametrize(("kind", "platform"), list(TABLE))
def test_the_service_follows_apples_table(seeded, ctx, kind, platform):
    # A stored unlock token (only its presence counts here): without one, Unlock is inactive.
    ident = add_device("alice@example.com", kind, platform, unlock_token="encrypted")
    device = db.session.get(Device, ident)
    choices = service.allowed_actions(device)
    assert [c.action for c in choices] == list(Action)
    assert {c.action for c in choices if c.allowed} == TABLE[(kind, platform)]
    for choice in choices:
        assert choice.allowed == (choice.reason_code is None) == (choice.reason_text is None)


@pytest.mark.parametrize(("kind_platform", "action"), FORBIDDEN)
def test_a_forged_request_for_a_forbidden_action_is_refused(
    seeded, client, auth, kind_platform, action
):
    with seeded.app_context():
        ident = add_device("alice@example.com", *kind_platform)
        before = command_count()
    auth.login("alice@example.com")
    token = csrf_token(client, f"/devices/{ident}")
    response = client.post(f"/devices/{ident}/actions/{action}", data={"csrf_token": token})
    assert response.status_code == 409
    reason = REASONS[forbidden_reason(action, *kind_platform)]
    with seeded.test_request_context():
        assert str(reason) in response.get_data(as_text=True)
    confirm = client.get(f"/devices/{ident}/actions/{action}")
    assert confirm.status_code == 409
    with seeded.app_context():
        assert command_count() == before


@pytest.mark.parametrize("action", list(Action))
def test_a_device_not_enrolled_accepts_no_command(seeded, client, auth, action):
    with seeded.app_context():
        ident = add_device(
            "bob@example.com", EnrollmentType.DEVICE, Platform.IOS, status=DeviceStatus.INVITED
        )
    auth.login("bob@example.com")
    token = csrf_token(client, f"/devices/{ident}")
    response = client.post(
        f"/devices/{ident}/actions/{action}", data={"csrf_token": token}, headers=HX
    )
    assert response.status_code == 409
    assert "not enrolled" in response.get_data(as_text=True)
    with seeded.app_context():
        assert command_count() == 0


def test_another_users_device_is_not_found(with_devices, client, auth):
    with with_devices.app_context():
        bobs = device_id("bob@example.com")
    auth.login("alice@example.com")
    token = csrf_token(client, "/devices")
    assert client.get(f"/devices/{bobs}").status_code == 404
    assert client.get(f"/devices/{bobs}/commands").status_code == 404
    assert client.get(f"/devices/{bobs}/actions/lock").status_code == 404
    response = client.post(f"/devices/{bobs}/actions/lock", data={"csrf_token": token})
    assert response.status_code == 404
    response = client.post(f"/devices/{bobs}/name", data={"csrf_token": token, "name": "Mine"})
    assert response.status_code == 404
    assert client.get("/devices/999999").status_code == 404
    with with_devices.app_context():
        assert command_count() == 0


def test_an_unknown_action_is_not_found(with_devices, client, auth):
    with with_devices.app_context():
        mine = device_id("bob@example.com")
    auth.login("bob@example.com")
    token = csrf_token(client, "/devices")
    response = client.post(f"/devices/{mine}/actions/explode", data={"csrf_token": token})
    assert response.status_code == 404


def test_lock_and_remove_work_data_queue_their_commands(with_devices, client, auth):
    with with_devices.app_context():
        mine = device_id("alice@example.com")
    auth.login("alice@example.com")
    token = csrf_token(client, f"/devices/{mine}")
    confirm = client.get(f"/devices/{mine}/actions/remove_work_data", headers=HX)
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'id="confirm-panel"' in text
    assert "work volume and its encryption keys are deleted" in text
    assert "Nothing personal is touched" in text
    response = client.post(f"/devices/{mine}/actions/lock", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 200
    assert 'id="commands"' in response.get_data(as_text=True)
    assert "every 2s" in response.get_data(as_text=True)
    response = client.post(f"/devices/{mine}/actions/remove_work_data", data={"csrf_token": token})
    assert response.status_code == 302
    with with_devices.app_context():
        queued = commands()
        assert [name for name, _payload in queued] == ["DeviceLock", "RemoveProfile"]
        assert queued[1][1]["Identifier"]
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "device.lock" in actions and "device.remove_work_data" in actions


def test_helpdesk_reads_and_only_admins_act(with_devices, client, auth):
    with with_devices.app_context():
        alices, bobs = device_id("alice@example.com"), device_id("bob@example.com")
    auth.login("helen@example.com")
    page = client.get(f"/admin/devices/{bobs}").get_data(as_text=True)
    assert "Helpdesk accounts can only view devices" in page
    token = csrf_token(client, f"/admin/devices/{bobs}")
    response = client.post(f"/admin/devices/{bobs}/actions/lock", data={"csrf_token": token})
    assert response.status_code == 403
    auth.logout()
    auth.login("adam@example.com")
    token = csrf_token(client, f"/admin/devices/{bobs}")
    response = client.post(f"/admin/devices/{alices}/actions/wipe", data={"csrf_token": token})
    assert response.status_code == 409
    response = client.post(
        f"/admin/devices/{bobs}/actions/wipe", data={"csrf_token": token}, headers=HX
    )
    assert response.status_code == 200
    with with_devices.app_context():
        assert commands() == [("EraseDevice", {})]


def test_the_service_refuses_an_actor_who_is_not_the_owner(with_devices, ctx):
    bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
    alices = db.session.get(Device, device_id("alice@example.com"))
    with pytest.raises(service.NotPermitted):
        service.perform_action(alices, "lock", actor=bob, settings=None)
    with pytest.raises(service.DeviceNotFound):
        service.own_device(bob, alices.id)
    assert audit is not None


def test_rename_inline_and_audited(with_devices, client, auth):
    with with_devices.app_context():
        mine = device_id("alice@example.com")
    auth.login("alice@example.com")
    token = csrf_token(client, f"/devices/{mine}")
    form = client.get(f"/devices/{mine}/name?edit=1", headers=HX).get_data(as_text=True)
    assert 'for="device-name-input"' in form
    bad = client.post(
        f"/devices/{mine}/name", data={"csrf_token": token, "name": "   "}, headers=HX
    )
    assert bad.status_code == 422 and "Give the device a name." in bad.get_data(as_text=True)
    long = client.post(f"/devices/{mine}/name", data={"csrf_token": token, "name": "x" * 201})
    assert long.status_code == 400
    good = client.post(
        f"/devices/{mine}/name", data={"csrf_token": token, "name": " Work  phone "}, headers=HX
    )
    assert good.status_code == 200 and "Work phone" in good.get_data(as_text=True)
    with with_devices.app_context():
        assert db.session.get(Device, mine).name == "Work phone"
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "device.renamed")
        )
        assert event.after == {"name": "Work phone"}
