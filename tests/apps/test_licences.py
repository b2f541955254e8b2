"""Licences first come, first served; Apple's rules for User Enrollment; release."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.apple import notifications
from portal.apps import catalogue, licences, service
from portal.enrollment import lifecycle
from portal.extensions import db
from portal.models import (
    AdminNotification,
    AuditEvent,
    DeviceLogEntry,
    DeviceStatus,
    EnrollmentType,
    LicenceAssignment,
    LicenceType,
    MDMCommand,
    Platform,
)

from .conftest import admin, enrolled, new_app, org, person


def active(app) -> list[LicenceAssignment]:
    return list(
        db.session.scalars(
            sa.select(LicenceAssignment).where(
                LicenceAssignment.app_id == app.id, LicenceAssignment.released_at.is_(None)
            )
        )
    )


def install(device, app):
    outcome = service.install(admin(), device, app, org=org())
    db.session.commit()
    return outcome


def test_a_user_enrolled_iphone_gets_a_user_based_licence_and_the_install_command(people):
    app = new_app(total=3)
    device = enrolled("alice@example.com")
    outcome = install(device, app)
    assert outcome.ok and not outcome.reused and outcome.failure is None
    held = outcome.assignment
    assert (held.licence_type, held.enrollment_type) == (LicenceType.USER, EnrollmentType.USER)
    assert held.user.email == "alice@example.com"
    db.session.refresh(app)
    assert (app.assigned_licences, app.free_licences) == (1, 2)
    command = db.session.scalar(sa.select(MDMCommand).where(MDMCommand.device_id == device.id))
    assert command.request_type == "InstallApplication"
    sent = command.payload
    assert sent["iTunesStoreID"] == 951937596
    assert sent["Options"] == {"PurchaseMethod": 1}
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "app.install"))


def test_the_same_person_on_a_second_device_uses_the_same_licence(people):
    app = new_app(total=1)
    install(enrolled("alice@example.com"), app)
    outcome = install(enrolled("alice@example.com", platform=Platform.IPADOS), app)
    assert outcome.ok and outcome.reused
    db.session.refresh(app)
    assert app.assigned_licences == 1 and len(active(app)) == 1


def test_user_and_device_enrollment_use_separate_licences(people):
    app = new_app(total=5)
    install(enrolled("alice@example.com", EnrollmentType.USER), app)
    install(enrolled("alice@example.com", EnrollmentType.DEVICE), app)
    kinds = sorted(str(a.enrollment_type) for a in active(app))
    assert kinds == ["device", "user"]
    db.session.refresh(app)
    assert app.assigned_licences == 2


def test_a_device_based_licence_is_never_used_for_a_user_enrolled_device(people):
    app = new_app("361285480", "Keynote", total=5, licence_type=LicenceType.DEVICE)
    device = enrolled("alice@example.com", EnrollmentType.USER)
    with pytest.raises(service.InstallRefused) as refused:
        service.install(admin(), device, app, org=org())
    assert refused.value.code == "device_licence_user_enrollment"
    assert "User Enrollment" in str(refused.value)
    db.session.rollback()
    db.session.refresh(app)
    assert app.assigned_licences == 0 and active(app) == []
    assert db.session.scalar(sa.select(sa.func.count(MDMCommand.id))) == 0
    # The same app goes to a Device-Enrolled device, as a device-based licence.
    outcome = install(enrolled("bob@example.com", EnrollmentType.DEVICE), app)
    assert outcome.ok and outcome.assignment.licence_type == LicenceType.DEVICE


def test_the_last_licence_goes_to_the_first_and_the_second_gets_a_notification(people):
    app = new_app(total=1)
    first = install(enrolled("alice@example.com"), app)
    second = install(enrolled("bob@example.com"), app)
    assert first.ok
    assert not second.ok and second.command is None and second.assignment is None
    assert second.failure.code == "licence_none_left"
    items = [n for n in notifications.collect() if n.code == "licence_none_left"]
    assert len(items) == 1
    assert "Outlook" in items[0].message and "Bob Durand" in items[0].message
    assert items[0].endpoint == "apps.app_detail" and items[0].args == {"app_id": app.id}
    log = db.session.scalar(
        sa.select(DeviceLogEntry).where(DeviceLogEntry.action == "licence.failed")
    )
    assert log.details["reason"] == "licence_none_left"
    audited = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "licence.failed"))
    assert audited.after["reason"] == "licence_none_left" and audited.actor_id == admin().id
    # Trying again does not pile up notifications; buying more resolves it.
    install(enrolled("bob@example.com", platform=Platform.IPADOS), app)
    assert licences.open_count() == 1
    catalogue.update(
        admin(), app, name=app.name, platform="ios", licence_type="user", total_licences=2
    )
    db.session.commit()
    assert install(enrolled("bob@example.com"), app).ok
    assert licences.open_count() == 0
    resolved = db.session.scalar(sa.select(AdminNotification))
    assert resolved.resolution == "resolved"


def test_unenrollment_frees_the_licence_for_the_next_person(people):
    app = new_app(total=1)
    device = enrolled("alice@example.com")
    install(device, app)
    lifecycle.transition(device, DeviceStatus.UNENROLLED, action="checkin.checkout")
    db.session.commit()
    db.session.refresh(app)
    assert app.assigned_licences == 0
    released = db.session.scalar(sa.select(LicenceAssignment))
    assert released.released_at is not None and released.release_reason == "unenrolled"
    assert install(enrolled("bob@example.com"), app).ok


def test_a_licence_stays_while_another_device_of_the_same_type_uses_it(people):
    app = new_app(total=1)
    phone, tablet = (
        enrolled("alice@example.com"),
        enrolled("alice@example.com", platform=Platform.IPADOS),
    )
    install(phone, app)
    install(tablet, app)
    lifecycle.transition(phone, DeviceStatus.UNENROLLED, action="checkin.checkout")
    db.session.commit()
    assert len(active(app)) == 1
    lifecycle.transition(tablet, DeviceStatus.UNENROLLED, action="checkin.checkout")
    db.session.commit()
    db.session.refresh(app)
    assert active(app) == [] and app.assigned_licences == 0


def test_a_device_based_licence_is_freed_when_its_device_leaves(people):
    app = new_app("361285480", "Keynote", total=1, licence_type=LicenceType.DEVICE)
    first = enrolled("bob@example.com", EnrollmentType.DEVICE)
    install(first, app)
    assert not install(enrolled("bob@example.com", EnrollmentType.DEVICE), app).ok
    lifecycle.transition(first, DeviceStatus.UNENROLLED, action="checkin.checkout")
    db.session.commit()
    assert install(enrolled("bob@example.com", EnrollmentType.DEVICE), app).ok


def test_a_token_of_another_organization_fails_with_a_notification(people):
    app = new_app(total=5)
    org().vpp_token_organization = "Another Company Ltd"
    db.session.commit()
    outcome = install(enrolled("alice@example.com"), app)
    assert not outcome.ok and outcome.failure.code == "licence_org_mismatch"
    db.session.refresh(app)
    assert app.assigned_licences == 0
    (item,) = [n for n in notifications.collect() if n.code == "licence_org_mismatch"]
    assert "Another Company Ltd" in item.message and "Example Corp" in item.message
    assert item.endpoint == "apple.setup_page"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("helpdesk", "not_permitted"),
        ("pending", "not_enrolled"),
        ("mac", "wrong_platform"),
        ("no_apple_id", "no_managed_apple_id"),
    ],
)
def test_refusals_change_nothing(people, setup, code):
    app = new_app(total=5)
    actor = admin()
    device = enrolled("alice@example.com")
    if setup == "helpdesk":
        actor = person("helen@example.com")
    elif setup == "pending":
        device = enrolled("alice@example.com", status=DeviceStatus.PROFILE_DOWNLOADED)
    elif setup == "mac":
        device = enrolled("alice@example.com", platform=Platform.MACOS)
    elif setup == "no_apple_id":
        person("alice@example.com").managed_apple_id = None
        db.session.commit()
    with pytest.raises(service.InstallRefused) as refused:
        service.install(actor, device, app, org=org())
    assert refused.value.code == code
    db.session.rollback()
    db.session.refresh(app)
    assert app.assigned_licences == 0
    assert db.session.scalar(sa.select(sa.func.count(LicenceAssignment.id))) == 0


def test_a_notification_can_be_dismissed(people):
    app = new_app(total=0)
    install(enrolled("alice@example.com"), app)
    (stored,) = licences.open_notifications()
    assert licences.dismiss(stored.id, actor=admin()) is stored
    db.session.commit()
    assert licences.open_count() == 0
    assert notifications.count() == len(notifications.system_alerts())
    assert licences.dismiss(stored.id, actor=admin()) is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"adam_id": "not a number"}, "adam_id"),
        ({"adam_id": "0123"}, "adam_id"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"platform": "android"}, "platform"),
        ({"licence_type": "site"}, "platform"),
        ({"total_licences": -1}, "total_licences"),
    ],
)
def test_catalogue_input_is_checked(people, values, field):
    given = {
        "adam_id": "951937596",
        "name": "Outlook",
        "platform": "ios",
        "licence_type": "user",
        "total_licences": 3,
        **values,
    }
    with pytest.raises(catalogue.CatalogueError) as error:
        catalogue.add(admin(), **given)
    assert error.value.field == field


def test_an_app_store_link_gives_the_apple_id_and_duplicates_are_refused(people):
    app = catalogue.add(
        admin(),
        adam_id="https://apps.apple.com/fr/app/microsoft-outlook/id951937596",
        name="Outlook",
        platform="ipados",
        licence_type="user",
        total_licences=1,
    )
    assert app.adam_id == "951937596" and app.platform == Platform.IOS
    db.session.commit()
    with pytest.raises(catalogue.CatalogueError) as error:
        new_app()
    assert error.value.status == 409


def test_counts_cannot_drop_below_use_and_used_apps_stay(people):
    app = new_app(total=2)
    install(enrolled("alice@example.com"), app)
    with pytest.raises(catalogue.CatalogueError) as error:
        catalogue.update(
            admin(), app, name="Outlook", platform="ios", licence_type="user", total_licences=0
        )
    assert error.value.status == 409
    with pytest.raises(catalogue.CatalogueError):
        catalogue.update(
            admin(), app, name="Outlook", platform="ios", licence_type="device", total_licences=2
        )
    with pytest.raises(catalogue.CatalogueError):
        catalogue.remove(admin(), app)


def test_a_mac_still_enrolled_does_not_keep_an_iphone_apps_licence(people):
    app = new_app(total=1)
    phone = enrolled("alice@example.com")
    enrolled("alice@example.com", platform=Platform.MACOS)
    install(phone, app)
    lifecycle.transition(phone, DeviceStatus.UNENROLLED, action="checkin.checkout")
    db.session.commit()
    assert active(app) == []
