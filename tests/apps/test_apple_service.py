"""The Apps and Books client and sync against a local stand-in of Apple's service."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.apple import vpp_token
from portal.apps import service, sync
from portal.apps.client import AppsAndBooksClient, AppsAndBooksError
from portal.enrollment import lifecycle
from portal.extensions import db
from portal.models import App, AuditEvent, DeviceStatus, EnrollmentType, LicenceType
from tests.support.apps_books import TOKEN, AppsBooksStandIn

from .conftest import admin, enrolled, new_app, org


@pytest.fixture
def apple():
    stand_in = AppsBooksStandIn()
    url = stand_in.start()
    stand_in.url = url
    yield stand_in
    stand_in.stop()


@pytest.fixture
def linked(app_factory, apple):
    """The demo data with a location token of the same organization, Apple at the stand-in."""
    flask_app = app_factory(APPS_AND_BOOKS_URL=apple.url)
    from portal import demo

    with flask_app.app_context():
        demo.seed("testing")
        content = {
            "orgName": org().abm_organization_name,
            "expDate": (datetime.now(UTC) + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "token": TOKEN,
        }
        vpp_token.upload(
            admin(),
            org(),
            base64.b64encode(json.dumps(content).encode()),
            secret_key=flask_app.config["SECRET_KEY"],
        )
        db.session.commit()
        yield flask_app


def client_of(flask_app) -> AppsAndBooksClient:
    client = service.apple_client(flask_app.config)
    assert client is not None
    return client


def test_no_token_no_client(seeded):
    with seeded.app_context():
        assert service.apple_client(seeded.config) is None


def test_assets_are_read_page_by_page_with_the_token(linked, apple):
    for n in range(5):
        apple.add_asset(f"10000000{n}", total=10 + n)
    assets = client_of(linked).assets()
    assert [a.adam_id for a in assets] == [f"10000000{n}" for n in range(5)]
    assert [a.total for a in assets] == [10, 11, 12, 13, 14]
    pages = apple.calls_to("assets")
    assert [c.query["pageIndex"] for c in pages] == ["0", "1", "2"]
    assert {c.authorization for c in pages} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"errorNumber": 9622, "errorMessage": "Invalid authentication token"}, "9622"),
        (500, None, "http_500"),
        (200, None, "bad_response"),
    ],
)
def test_apples_errors_become_one_exception(linked, apple, status, body, code):
    apple.fail_next("assets", status, body)
    with pytest.raises(AppsAndBooksError) as error:
        client_of(linked).assets()
    assert error.value.code == code


def test_an_unreachable_service_is_an_error_too():
    client = AppsAndBooksClient("http://127.0.0.1:9/mdm/v2", "token", timeout=2)
    with pytest.raises(AppsAndBooksError) as error:
        client.assets()
    assert error.value.code == "unreachable"


def test_install_registers_the_person_and_associates_the_licence_at_apple(linked, apple):
    apple.add_asset("951937596", total=2)
    app = new_app(total=2)
    device = enrolled("alice@example.com")
    outcome = service.install(admin(), device, app, org=org(), client=client_of(linked))
    db.session.commit()
    assert outcome.ok
    client_id = service.client_user_id(device.user)
    assert apple.users[client_id]["managedAppleId"] == device.user.managed_apple_id
    assert apple.assignments == [
        {"adamId": "951937596", "pricingParam": "STDQ", "clientUserId": client_id}
    ]
    (call,) = apple.calls_to("assets/associate")
    assert call.body == {
        "assets": [{"adamId": "951937596", "pricingParam": "STDQ"}],
        "clientUserIds": [client_id],
    }


def test_a_refusal_by_apple_takes_no_licence_and_notifies(linked, apple):
    apple.add_asset("951937596", total=0)  # Apple has none left, the catalogue thinks 2
    app = new_app(total=2)
    outcome = service.install(
        admin(), enrolled("alice@example.com"), app, org=org(), client=client_of(linked)
    )
    db.session.commit()
    assert not outcome.ok and outcome.failure.code == "licence_apple_refused"
    assert "No licenses available" in outcome.failure.details["error"]
    db.session.refresh(app)
    assert app.assigned_licences == 0


def test_a_device_based_licence_goes_to_the_serial_number(linked, apple):
    apple.add_asset("361285480", total=1)
    app = new_app("361285480", "Keynote", total=1, licence_type=LicenceType.DEVICE)
    device = enrolled("bob@example.com", kind=EnrollmentType.DEVICE)
    assert service.install(admin(), device, app, org=org(), client=client_of(linked)).ok
    db.session.commit()
    assert apple.assignments[0]["serialNumber"] == device.serial_number


def test_sync_takes_apples_counts_adds_new_apps_and_releases_what_the_portal_freed(linked, apple):
    apple.add_asset("951937596", total=7)
    apple.add_asset("985367838", total=3, platforms=("macOS",))
    apple.add_asset("111111111", total=9, product="Book")
    app = new_app(total=2)
    device = enrolled("alice@example.com")
    service.install(admin(), device, app, org=org(), client=client_of(linked))
    db.session.commit()
    assert apple.assets["951937596"]["assignedCount"] == 1
    # The device leaves: the portal frees the licence; the next sync frees it at Apple.
    lifecycle.transition(device, DeviceStatus.UNENROLLED, action="checkin.checkout")
    db.session.commit()
    result = sync.sync(admin(), client_of(linked))
    db.session.commit()
    assert result.released_at_apple == 1 and apple.assignments == []
    assert result.added == ["985367838"]
    apps = {a.adam_id: a for a in db.session.scalars(sa.select(App))}
    assert set(apps) == {"951937596", "985367838"}  # books are not apps
    assert (apps["951937596"].total_licences, apps["951937596"].assigned_licences) == (7, 0)
    assert apps["985367838"].platform == "macos" and apps["951937596"].synced_at is not None
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "apps.synced"))


def test_sync_keeps_licences_still_in_use_and_counts_others_at_apple(linked, apple):
    apple.add_asset("951937596", total=5)
    app = new_app(total=5)
    service.install(
        admin(), enrolled("alice@example.com"), app, org=org(), client=client_of(linked)
    )
    db.session.commit()
    apple.assignments.append(
        {"adamId": "951937596", "pricingParam": "STDQ", "clientUserId": "other-tool"}
    )
    apple.assets["951937596"]["assignedCount"] += 1
    result = sync.sync(admin(), client_of(linked))
    db.session.commit()
    assert result.released_at_apple == 0 and len(apple.assignments) == 2
    db.session.refresh(app)
    assert (app.total_licences, app.assigned_licences, app.free_licences) == (5, 2, 3)


def test_a_failed_sync_changes_nothing(linked, apple):
    apple.add_asset("951937596", total=7)
    app = new_app(total=2)
    apple.fail_next("assets", 503, {"errorNumber": 9603, "errorMessage": "Service unavailable"})
    with pytest.raises(AppsAndBooksError):
        sync.sync(admin(), client_of(linked))
    db.session.rollback()
    db.session.refresh(app)
    assert app.total_licences == 2 and app.synced_at is None


def test_the_sync_command_for_cron(linked, apple):
    apple.add_asset("951937596", total=4)
    result = linked.test_cli_runner().invoke(args=["apps", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 apps added, 0 updated, 0 licences released at Apple" in result.output
    apple.fail_next("assignments", 401, {"errorNumber": 9622, "errorMessage": "Invalid token"})
    failed = linked.test_cli_runner().invoke(args=["apps", "sync"])
    assert failed.exit_code == 1 and "Invalid token" in failed.output


def test_the_sync_command_without_a_token(seeded):
    result = seeded.test_cli_runner().invoke(args=["apps", "sync"])
    assert result.exit_code == 1 and "No Apps and Books location token" in result.output
