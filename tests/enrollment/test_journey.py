"""The journey around the guide: device limit, listed devices, unfinished enrollments, the
personal-device request, the next action; and the branding an admin sets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import branding
from portal.enrollment import journey
from portal.extensions import db
from portal.i18n import valid_time_zone
from portal.models import (
    AdminNotification,
    AuditEvent,
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Organization,
    User,
    utcnow,
)


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _device(user: User, status: DeviceStatus, platform: str = "ios", enrolled=True) -> Device:
    device = Device(
        user_id=user.id,
        platform=platform,
        enrollment_type=EnrollmentType.USER,
        enrollment_method=EnrollmentMethod.PROFILE,
        status=status,
        enrolled_at=utcnow() if enrolled else None,
    )
    db.session.add(device)
    db.session.flush()
    return device


@pytest.fixture
def alice(seeded, ctx):
    return _user("alice@example.com")


def test_the_limit_counts_active_devices_per_platform(alice):
    journey.check_device_limit(alice, "ios", limit=1)  # none yet
    listed = _device(alice, DeviceStatus.ENROLLED)
    _device(alice, DeviceStatus.PROFILE_DOWNLOADED, enrolled=False)  # unfinished: not counted
    _device(alice, DeviceStatus.UNENROLLED)  # gone: not counted
    with pytest.raises(journey.DeviceLimitReached) as caught:
        journey.check_device_limit(alice, "ios", limit=1)
    assert caught.value.status == 409 and "1 enrolled devices" in str(caught.value)
    # Another platform, no limit, or a listed device enrolling again: allowed.
    journey.check_device_limit(alice, "macos", limit=1)
    journey.check_device_limit(alice, "ios", limit=0)
    journey.check_device_limit(alice, "ios", limit=1, reenrolling=listed)


def test_only_the_persons_enrolled_devices_of_that_platform_can_enroll_again(alice):
    mine = _device(alice, DeviceStatus.ENROLLED)
    never = _device(alice, DeviceStatus.PROFILE_DOWNLOADED, enrolled=False)
    mac = _device(alice, DeviceStatus.ENROLLED, platform="macos")
    bobs = _device(_user("bob@example.com"), DeviceStatus.ENROLLED)
    assert journey.listed_devices(alice, "ios") == [mine]
    assert journey.reenrolling_device(alice, "ios", str(mine.id)) == mine
    for other in (never.id, mac.id, bobs.id, "new", None, "x"):
        assert journey.reenrolling_device(alice, "ios", other) is None


def test_cancelling_an_unfinished_enrollment(alice):
    pending = _device(alice, DeviceStatus.PROFILE_DOWNLOADED, enrolled=False)
    enrolled = _device(alice, DeviceStatus.ENROLLED)
    bobs = _device(_user("bob@example.com"), DeviceStatus.PROFILE_DOWNLOADED, enrolled=False)
    assert journey.unfinished(alice) == [pending]
    assert journey.next_action(alice).kind == "continue"
    with pytest.raises(journey.NotYourDevice):
        journey.cancel_unfinished(alice, bobs.id)
    with pytest.raises(journey.NotUnfinished):
        journey.cancel_unfinished(alice, enrolled.id)
    pending_id = pending.id
    journey.cancel_unfinished(alice, pending_id)
    assert db.session.get(Device, pending_id) is None
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "enrollment.cancelled")
    ).target_id == str(pending_id)
    assert journey.next_action(alice).kind == "none"


def test_next_action_for_someone_without_devices_is_to_enroll(alice):
    assert journey.next_action(alice).kind == "enroll"


def test_a_personal_device_request_notifies_once_per_platform(seeded, ctx):
    bob = _user("bob@example.com")
    first = journey.request_personal_review(bob, platform="ios", note="Mine")
    again = journey.request_personal_review(bob, platform="ios", note="Really mine")
    assert again.id == first.id and again.details["note"] == "Really mine"
    with pytest.raises(journey.NoteTooLong):
        journey.request_personal_review(bob, platform="ios", note="x" * 501)
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AdminNotification.id)).where(
                AdminNotification.code == journey.PERSONAL_DEVICE_REQUEST
            )
        )
        == 1
    )
    assert journey.open_personal_request(bob) == first


def test_personal_request_page_refuses_a_long_note(seeded, auth, client):
    from tests.conftest import csrf_token

    auth.login("bob@example.com")
    token = csrf_token(client, "/enroll")
    response = client.post(
        "/enroll/personal",
        data={"platform": "ios", "note": "x" * 600, "csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Keep the note under 500 characters." in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AdminNotification.id))) == 0


def test_cancel_of_someone_elses_enrollment_is_404(seeded, auth, client):
    from tests.conftest import csrf_token

    with seeded.app_context():
        bobs = _device(_user("bob@example.com"), DeviceStatus.PROFILE_DOWNLOADED, enrolled=False)
        db.session.commit()
        bobs_id = bobs.id
    auth.login("alice@example.com")
    token = csrf_token(client, "/devices")
    response = client.post(f"/enroll/unfinished/{bobs_id}/cancel", data={"csrf_token": token})
    assert response.status_code == 404
    with seeded.app_context():
        assert db.session.get(Device, bobs_id) is not None


def test_branding_is_validated_before_anything_is_saved(seeded, ctx):
    adam = _user("adam@example.com")
    org = db.session.scalar(sa.select(Organization))
    kwargs = {"name": "Acme", "accent_color": "", "welcome": {}, "support": {}}
    with pytest.raises(branding.AccentTooLight):
        branding.update(adam, org, **{**kwargs, "accent_color": "#ffee00"})
    with pytest.raises(branding.InvalidAccent):
        branding.update(adam, org, **{**kwargs, "accent_color": "blue"})
    with pytest.raises(branding.InvalidLogo):
        branding.update(adam, org, **kwargs, logo=(b"GIF89a....", "image/png"))
    with pytest.raises(branding.InvalidContact) as caught:
        branding.update(adam, org, **{**kwargs, "support": {"fr": {"url": "javascript:x"}}})
    assert caught.value.field == "support_url_fr"
    assert org.name == "Example Corp"

    branding.update(
        adam,
        org,
        name="Acme",
        accent_color="#7A1F5C",
        welcome={"en": "Hello", "fr": ""},
        support={"en": {"email": "it@acme.example"}, "fr": {}},
        logo=(b"\x89PNG\r\n\x1a\n" + b"0" * 10, "image/png"),
    )
    shown = branding.for_locale(org, "fr", "x")
    # French falls back to the English text where none is set.
    assert (shown.name, shown.accent, shown.welcome) == ("Acme", "#7a1f5c", "Hello")
    assert shown.support.email == "it@acme.example" and shown.has_logo


def test_time_zones_are_checked():
    assert valid_time_zone("Europe/Paris") == "Europe/Paris"
    for bad in ("Mars/Olympus", "", None, "../etc/passwd", "x" * 100):
        assert valid_time_zone(bad) is None


def test_the_time_zone_endpoint_keeps_only_known_zones(seeded, auth, client):
    from tests.conftest import csrf_token

    auth.login("alice@example.com")
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    assert (
        client.post("/time-zone", data={"time_zone": "Nowhere/Land"}, headers=headers).status_code
        == 400
    )
    assert (
        client.post("/time-zone", data={"time_zone": "Asia/Tokyo"}, headers=headers).status_code
        == 204
    )
    with seeded.app_context():
        assert _user("alice@example.com").time_zone == "Asia/Tokyo"
    assert client.get("/brand/logo").status_code == 404
    assert client.get("/brand/theme.css").status_code == 200
