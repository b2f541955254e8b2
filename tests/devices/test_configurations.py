"""The passcode policy: a signed configuration profile queued as InstallProfile, by admins
only, to enrolled devices, never to a Mac under User Enrollment."""

from __future__ import annotations

import plistlib
import subprocess

import pytest
import sqlalchemy as sa

from portal.devices import configurations, payloads, service
from portal.extensions import db, limiter
from portal.mdm import connect, plist
from portal.models import (
    AuditEvent,
    Device,
    DeviceLogEntry,
    DeviceStatus,
    EnrollmentType,
    MDMCommand,
    Platform,
    User,
)
from tests.conftest import csrf_token
from tests.support.pki import signing_config

from .conftest import add_device, command_count, commands, device_id

OPENSSL = "/usr/bin/openssl"
PREFIX = "com.example.portal"
IDENTIFIER = "com.example.portal.configuration.passcode"


@pytest.fixture(scope="session")
def signing_pki(tmp_path_factory) -> dict[str, str]:
    """A CA and a profile signing certificate, made once (RSA keys are slow)."""
    return signing_config(tmp_path_factory.mktemp("configurations-pki"))


@pytest.fixture
def app(app_factory, signing_pki):
    app = app_factory(MDM_PROFILE_IDENTIFIER=PREFIX, **signing_pki)
    with app.app_context():
        limiter.reset()
    return app


def apply(client, ident: int, preset: str = "work"):
    token = csrf_token(client, f"/admin/devices/{ident}")
    return client.post(
        f"/admin/devices/{ident}/configurations/passcode",
        data={"csrf_token": token, "preset": preset},
    )


def verified_content(signed: bytes, ca_file: str, tmp_path) -> dict:
    """The profile inside `signed`, once openssl has verified the signature up to the CA."""
    source, content = tmp_path / "passcode.mobileconfig", tmp_path / "content.plist"
    source.write_bytes(signed)
    result = subprocess.run(
        [OPENSSL, "cms", "-verify", "-inform", "DER", "-binary", "-in", str(source),
         "-CAfile", ca_file, "-out", str(content)],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return plistlib.loads(content.read_bytes())


def installed_profiles() -> list[bytes]:
    return [
        plist.from_json(payload)["Payload"]
        for request_type, payload in commands()
        if request_type == "InstallProfile"
    ]


def log_entries(ident: int) -> list[DeviceLogEntry]:
    entries = db.session.scalars(
        sa.select(DeviceLogEntry)
        .where(DeviceLogEntry.device_id == ident, DeviceLogEntry.action == "configuration")
        .order_by(DeviceLogEntry.id)
    ).all()
    db.session.expunge_all()
    return list(entries)


def audit_actions() -> list[str]:
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    db.session.rollback()
    return list(actions)


# --- the presets and the builder ---------------------------------------------------------


def test_the_work_preset_is_the_reference_guides_example():
    work = configurations.PASSCODE_PRESETS["work"].settings
    assert work["forcePIN"] is True and work["allowSimple"] is False and work["minLength"] == 6


@pytest.mark.parametrize("key", sorted(configurations.PASSCODE_PRESETS))
def test_every_preset_is_a_valid_passcode_policy(key):
    payloads.check_passcode_settings(configurations.PASSCODE_PRESETS[key].settings)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"forcePin": True},
        {"minLength": True},
        {"forcePIN": 1},
        {"minLength": 17},
        {"maxFailedAttempts": 1},
        {"minLength": "6"},
    ],
)
def test_the_builder_refuses_what_apple_would_not_accept(settings):
    with pytest.raises(payloads.PayloadError):
        payloads.build_passcode_profile(
            PREFIX, settings, version="x", organization="Org", display_name="N", description="D"
        )


# --- sending -----------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["alice@example.com", "bob@example.com"])
@pytest.mark.parametrize("preset", sorted(configurations.PASSCODE_PRESETS))
def test_the_admin_sends_a_signed_passcode_profile(
    with_devices, client, auth, signing_pki, tmp_path, email, preset
):
    with with_devices.app_context():
        ident = device_id(email)
    auth.login("adam@example.com")
    response = apply(client, ident, preset)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/devices/{ident}#configurations")
    with with_devices.app_context():
        (signed,) = installed_profiles()
        entries = log_entries(ident)
        actions = audit_actions()
    profile = verified_content(signed, signing_pki["MDM_CA_CERT"], tmp_path)
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadIdentifier"] == IDENTIFIER
    assert profile["PayloadOrganization"] == "Example Corp"
    assert profile["PayloadDisplayName"] == "Example Corp – passcode policy"
    assert profile["PayloadDescription"] == "Example Corp requires a passcode on this device."
    assert "PayloadRemovalDisallowed" not in profile
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.mobiledevice.passwordpolicy"
    assert payload["PayloadIdentifier"].startswith(IDENTIFIER + ".")
    wanted = configurations.PASSCODE_PRESETS[preset].settings
    (entry,) = entries
    if email == "alice@example.com":
        # User Enrollment: an iPhone ignores every passcode setting (Apple's schema) and
        # applies its own policy; they are left out, and the log says which.
        assert not wanted.keys() & payload.keys()
        assert entry.details["left_out_ignored"] == sorted(wanted)
    else:
        assert {key: payload[key] for key in wanted} == dict(wanted)
        assert "left_out_ignored" not in entry.details
    assert entry.details["message"] == "sent"
    assert entry.details["preset"] == preset
    assert entry.details["identifier"] == IDENTIFIER
    assert "device.configuration.sent" in actions and "mdm.command.queued" in actions
    page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert "sent to the device" in page
    assert 'id="passcode-last"' in page


def test_sending_again_replaces_the_profile(with_devices, client, auth, signing_pki, tmp_path):
    with with_devices.app_context():
        ident = device_id("bob@example.com")
    auth.login("adam@example.com")
    assert apply(client, ident, "work").status_code == 303
    assert apply(client, ident, "strict").status_code == 303
    with with_devices.app_context():
        first, second = installed_profiles()
    work = verified_content(first, signing_pki["MDM_CA_CERT"], tmp_path)
    strict = verified_content(second, signing_pki["MDM_CA_CERT"], tmp_path)
    assert work["PayloadIdentifier"] == strict["PayloadIdentifier"] == IDENTIFIER
    assert work["PayloadUUID"] != strict["PayloadUUID"]
    assert strict["PayloadContent"][0]["requireAlphanumeric"] is True


def test_the_device_gets_the_signed_bytes_in_its_command(with_devices, ctx, signing_pki):
    adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
    device = db.session.get(Device, device_id("alice@example.com"))
    settings = configurations.profile_service.MDMSettings.from_config(
        {"PUBLIC_BASE_URL": "https://mdm.example.com", "INSTANCE_PATH": "/nonexistent"}
        | {"MDM_PROFILE_IDENTIFIER": PREFIX, **signing_pki}
    )
    sent = configurations.send_configuration(
        device, "passcode", actor=adam, settings=settings, preset="work"
    )
    db.session.commit()
    command = plistlib.loads(connect.command_plist(sent.command))["Command"]
    assert command["RequestType"] == "InstallProfile"
    assert command["Payload"] == installed_profiles()[0]
    assert command["Payload"].startswith(b"\x30")  # DER, not a bare plist


# --- refusals ----------------------------------------------------------------------------


def test_a_mac_under_user_enrollment_is_refused_and_logged(seeded, client, auth):
    with seeded.app_context():
        ident = add_device(
            "alice@example.com", EnrollmentType.USER, Platform.MACOS, enrollment_id="MAC-UE-9"
        )
    auth.login("adam@example.com")
    page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert 'id="passcode-unavailable"' in page and 'id="apply-passcode"' not in page
    response = apply(client, ident)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Restrictions – this is not a valid request type" in text
    with seeded.app_context():
        assert command_count() == 0
        (entry,) = log_entries(ident)
        assert entry.status == "error"
        assert entry.details["message"] == configurations.INVALID_REQUEST_TYPE
        assert "device.configuration.refused" in audit_actions()
    logs = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert "passcode: Restrictions – this is not a valid request type" in logs


def test_helpdesk_cannot_send_a_configuration(with_devices, client, auth):
    with with_devices.app_context():
        ident = device_id("alice@example.com")
    auth.login("helen@example.com")
    page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert 'id="apply-passcode"' not in page
    assert "Only an administrator can apply a passcode policy." in page
    response = apply(client, ident)
    assert response.status_code == 403
    with with_devices.app_context():
        assert command_count() == 0
        assert log_entries(ident) == []


def test_the_service_refuses_a_helpdesk_actor(with_devices, ctx):
    helen = db.session.scalar(sa.select(User).where(User.email == "helen@example.com"))
    device = db.session.get(Device, device_id("alice@example.com"))
    with pytest.raises(service.NotPermitted):
        configurations.send_configuration(device, "passcode", actor=helen, preset="work")
    assert command_count() == 0


@pytest.mark.parametrize("status", [DeviceStatus.INVITED, DeviceStatus.UNENROLLED])
def test_a_device_not_enrolled_gets_no_configuration(seeded, client, auth, status):
    with seeded.app_context():
        ident = add_device("bob@example.com", EnrollmentType.DEVICE, Platform.IOS, status=status)
    auth.login("adam@example.com")
    page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert 'id="passcode-unavailable"' in page
    response = apply(client, ident)
    assert response.status_code == 409
    assert "not enrolled" in response.get_data(as_text=True)
    with seeded.app_context():
        assert command_count() == 0
        assert log_entries(ident) == []


def test_an_app_management_device_gets_no_configuration(seeded, client, auth):
    with seeded.app_context():
        ident = add_device("alice@example.com", EnrollmentType.MAM, Platform.IOS)
    auth.login("adam@example.com")
    response = apply(client, ident)
    assert response.status_code == 409
    assert "Only work apps are managed" in response.get_data(as_text=True)
    with seeded.app_context():
        assert command_count() == 0


@pytest.mark.parametrize("preset", ["", "weak", "work "])
def test_an_unknown_preset_is_a_clear_400(with_devices, client, auth, preset):
    with with_devices.app_context():
        ident = device_id("bob@example.com")
    auth.login("adam@example.com")
    response = apply(client, ident, preset)
    assert response.status_code == 400
    assert "Choose one of the passcode policies." in response.get_data(as_text=True)
    with with_devices.app_context():
        assert command_count() == 0
        assert log_entries(ident) == []


def test_without_the_csrf_token_nothing_is_sent(with_devices, client, auth):
    with with_devices.app_context():
        ident = device_id("bob@example.com")
    auth.login("adam@example.com")
    response = client.post(
        f"/admin/devices/{ident}/configurations/passcode", data={"preset": "work"}
    )
    assert response.status_code == 400
    with with_devices.app_context():
        assert command_count() == 0


def test_an_incomplete_signing_setup_is_a_clear_503(app_factory, signing_pki, tmp_path):
    app = app_factory(
        MDM_CA_CERT=signing_pki["MDM_CA_CERT"],
        MDM_CA_KEY=signing_pki["MDM_CA_KEY"],
        PROFILE_SIGNING_CERT=signing_pki["PROFILE_SIGNING_CERT"],
    )
    from portal import demo
    from tests.conftest import Auth

    with app.app_context():
        demo.seed("testing", devices=True)
        ident = device_id("bob@example.com")
    client = app.test_client()
    Auth(client).login("adam@example.com")
    response = apply(client, ident)
    assert response.status_code == 503
    assert "cannot sign configuration profiles" in response.get_data(as_text=True)
    with app.app_context():
        assert command_count() == 0
        assert db.session.scalar(sa.select(sa.func.count(MDMCommand.id))) == 0


def test_the_page_says_what_user_enrollment_really_applies(with_devices, client, auth):
    with with_devices.app_context():
        alices, bobs = device_id("alice@example.com"), device_id("bob@example.com")
    auth.login("adam@example.com")
    alice_page = client.get(f"/admin/devices/{alices}").get_data(as_text=True)
    assert 'id="apply-passcode"' in alice_page and 'id="passcode-note"' in alice_page
    bob_page = client.get(f"/admin/devices/{bobs}").get_data(as_text=True)
    assert 'id="apply-passcode"' in bob_page and 'id="passcode-note"' not in bob_page
