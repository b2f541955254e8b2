"""Configurations reach devices as Apple's protocol says, driven by the captured device
messages: installed on enrollment, updated in place, removed when the person leaves the
group, a failure kept with Apple's error, and never sent to a Mac under User Enrollment."""

from __future__ import annotations

import plistlib

import pytest
import sqlalchemy as sa

from portal.configurations import service as configurations
from portal.directory import groups
from portal.enrollment.pki import unwrap_signed_data
from portal.extensions import db
from portal.mdm import apple_schema
from portal.models import (
    CommandStatus,
    Configuration,
    DeliveryState,
    DeviceConfiguration,
    Group,
    MDMCommand,
    User,
)

from .support import load, mdm_payload, only_device

ALICE = "alice@example.com"
WIFI = {"ssid": "Example Corp", "encryption": "WPA2", "password": "correct horse", "auto_join": "y"}


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _group(name: str) -> Group:
    return db.session.scalar(sa.select(Group).where(Group.name == name))


def save_wifi(
    app, ssid: str = "Example Corp", configuration_id: int | None = None, group_id=None
) -> int:
    """The Wi-Fi configuration assigned to the group "User Enrollment", saved as adam."""
    with app.app_context():
        saved = configurations.save(
            _user("adam@example.com"),
            kind="wifi",
            raw={**WIFI, "ssid": ssid},
            name="Office Wi-Fi",
            platforms=["ios", "macos"],
            priority=10,
            everyone=False,
            group_ids=[group_id or _group("User Enrollment").id],
            secret_key=app.config["SECRET_KEY"],
            configuration=db.session.get(Configuration, configuration_id)
            if configuration_id
            else None,
        )
        from portal.configurations import deploy, hooks

        deploy.sync_all(settings=hooks.mdm_settings(), secret_key=app.config["SECRET_KEY"])
        db.session.commit()
        return saved.id


def enroll(device_for, platform: str = "ios", os: str = "16.4"):
    device, profile = device_for(ALICE, platform, os)
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device


def idle(device):
    """The captured Idle; returns the command the portal answers with (or None)."""
    response = device.connect(load("result-idle-ue-ios.plist"))
    assert response.status_code == 200
    return plistlib.loads(response.data)["Command"] | {
        "CommandUUID": plistlib.loads(response.data)["CommandUUID"]
    } if response.data else None  # fmt: skip


def acknowledge(device, command_uuid: str):
    """The captured DeviceLock acknowledgement, as this User Enrollment's answer."""
    answer = load(
        "result-devicelock-acknowledged.plist",
        CommandUUID=command_uuid,
        UDID=None,
        MessageResult=None,
        EnrollmentID="FB833D84-50C0-41DD-99DE-F748E44FFEF5",
    )
    response = device.connect(answer)
    assert response.status_code == 200
    return response


def profile_in(command: dict) -> dict:
    assert command["RequestType"] == "InstallProfile"
    content = unwrap_signed_data(command["Payload"])
    assert content is not None, "the profile is not signed"
    return plistlib.loads(content)


def rows(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        found = db.session.execute(
            sa.select(
                DeviceConfiguration.name, DeviceConfiguration.state, DeviceConfiguration.version
            ).order_by(DeviceConfiguration.id)
        ).all()
        db.session.rollback()
    return [(name, str(state), version) for name, state, version in found]


def test_installed_on_enrollment_updated_and_removed_when_leaving_the_group(
    seeded, device_for, client
):
    configuration_id = save_wifi(seeded)
    device = enroll(device_for)
    # Enrollment queued the Wi-Fi: the device gets it at its first Idle.
    command = idle(device)
    profile = profile_in(command)
    assert profile["PayloadIdentifier"].endswith(f".configuration.wifi-{configuration_id}")
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.wifi.managed"
    assert payload["SSID_STR"] == "Example Corp" and payload["Password"] == "correct horse"
    assert apple_schema.validate_profile(profile, "iOS", "user", "18.2.1") == []
    assert rows(seeded) == [("Office Wi-Fi", "pending", 1)]
    acknowledge(device, command["CommandUUID"])
    assert rows(seeded) == [("Office Wi-Fi", "installed", 1)]
    with seeded.app_context():
        phone_id = only_device(ALICE).id
        db.session.rollback()
    own_page = client.get(f"/devices/{phone_id}").get_data(as_text=True)  # alice's own page
    assert 'data-configuration="Office Wi-Fi"' in own_page and "Installed" in own_page

    # Changed: the same identifier, a new version, a new PayloadUUID.
    save_wifi(seeded, ssid="Example Corp 5G", configuration_id=configuration_id)
    update = idle(device)
    updated = profile_in(update)
    assert updated["PayloadIdentifier"] == profile["PayloadIdentifier"]
    assert updated["PayloadUUID"] != profile["PayloadUUID"]
    assert updated["PayloadContent"][0]["SSID_STR"] == "Example Corp 5G"
    assert rows(seeded) == [("Office Wi-Fi", "pending", 2)]
    acknowledge(device, update["CommandUUID"])
    assert rows(seeded) == [("Office Wi-Fi", "installed", 2)]

    # Alice leaves the group: the profile is removed by its identifier.
    with seeded.app_context():
        alice, group = _user(ALICE), _group("User Enrollment")
        groups.remove_member(_user("adam@example.com"), group.id, alice.id)
        db.session.commit()
    removal = idle(device)
    assert removal["RequestType"] == "RemoveProfile"
    assert removal["Identifier"] == profile["PayloadIdentifier"]
    assert rows(seeded) == [("Office Wi-Fi", "removing", 2)]
    acknowledge(device, removal["CommandUUID"])
    assert rows(seeded) == []
    assert idle(device) is None  # nothing more to send


def test_a_failure_is_shown_with_apples_error(seeded, device_for, client, auth):
    save_wifi(seeded)
    device = enroll(device_for)
    command = idle(device)
    answer = load(
        "result-error-removeprofile-ios.plist",
        CommandUUID=command["CommandUUID"],
        UDID=None,
        EnrollmentID="FB833D84-50C0-41DD-99DE-F748E44FFEF5",
    )
    assert device.connect(answer).status_code == 200
    assert rows(seeded) == [("Office Wi-Fi", "failed", 1)]
    with seeded.app_context():
        ident = only_device(ALICE).id
        db.session.rollback()
    auth.logout()
    auth.login("adam@example.com")
    page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert "Failed" in page
    assert "is not managed by MDM. (MCMDMErrorDomain 12013)" in page
    # A failed version is not sent again at every Idle; a new version is.
    assert idle(device) is None


def test_nothing_goes_to_a_device_whose_person_has_no_assignment(seeded, device_for):
    with seeded.app_context():
        sales = groups.create_group(_user("adam@example.com"), "Sales")
        db.session.commit()
        sales_id = sales.id
    save_wifi(seeded, group_id=sales_id)
    device = enroll(device_for)
    assert idle(device) is None
    assert rows(seeded) == []


@pytest.mark.parametrize("kind", ["passcode", "per_app_vpn"])
def test_a_mac_under_user_enrollment_never_gets_what_it_does_not_apply(seeded, device_for, kind):
    """Assigned for iPhone only (the Mac is refused at save), the Mac gets nothing."""
    with seeded.app_context():
        raw = (
            {"forcePIN": "y", "minLength": "6"}
            if kind == "passcode"
            else {
                "vpn_name": "VPN",
                "server": "vpn.example.com",
                "remote_id": "vpn",
                "local_id": "{email}",
                "auth": "None",
                "on_demand": "y",
            }  # fmt: skip
        )
        with pytest.raises(configurations.NotApplicable) as refused:
            configurations.save(
                _user("adam@example.com"),
                kind=kind,
                raw=raw,
                name="Mac refused",
                platforms=["ios", "macos"],
                priority=5,
                everyone=False,
                group_ids=[_group("User Enrollment").id],
                secret_key=seeded.config["SECRET_KEY"],
            )
        assert any(
            "Mac, User Enrollment: Restrictions – this is not a valid request type" in reason
            for reason in refused.value.reasons
        )
        db.session.rollback()
        # Assigned to everyone on both systems by the database itself (as before this check
        # existed), the Mac is still never sent it.
        db.session.add(
            Configuration(
                name="Legacy",
                kind=kind,
                identifier=f"{kind}-legacy",
                platforms=["ios", "macos"],
                settings={"forcePIN": True}
                if kind == "passcode"
                else {
                    "vpn_name": "VPN",
                    "server": "vpn.example.com",
                    "remote_id": "vpn",
                    "auth": "None",
                },
                everyone=True,
            )  # fmt: skip
        )
        db.session.commit()
    device, profile = device_for(ALICE, "macos", "14.5")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    assert rows(seeded) == [("Legacy", "not_sent", 1)]
    with seeded.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(MDMCommand.id)).where(
                    MDMCommand.request_type == "InstallProfile"
                )
            )
            == 0
        )
        entry = db.session.scalar(
            sa.select(DeviceConfiguration).where(DeviceConfiguration.name == "Legacy")
        )
        assert entry.error["message"] == "Restrictions – this is not a valid request type"
        assert entry.state == DeliveryState.NOT_SENT
        db.session.rollback()


def test_two_passcodes_the_lower_priority_number_wins(seeded, device_for):
    """The migrated presets assigned together: "Strict passcode" (90) beats "Work" (100)."""
    with seeded.app_context():
        group = _group("User Enrollment")
        for preset in db.session.scalars(
            sa.select(Configuration).where(Configuration.preset.is_not(None))
        ):
            preset.groups = [group]
        db.session.commit()
    device = enroll(device_for)
    command = idle(device)
    profile = profile_in(command)
    assert profile["PayloadDisplayName"] == "Strict passcode"
    assert profile["PayloadIdentifier"].endswith(".configuration.passcode")
    # Under User Enrollment an iPhone ignores the passcode keys: they are left out.
    assert apple_schema.validate_profile(profile, "iOS", "user", "18.2.1") == []
    assert idle(device) is None or idle(device) is None
    with seeded.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(MDMCommand.id)).where(
                    MDMCommand.status == CommandStatus.SENT
                )
            )
            == 1
        )
        db.session.rollback()


def test_a_per_app_vpn_routes_its_apps_on_an_iphone_once_installed(seeded, device_for):
    with seeded.app_context():
        configurations.save(
            _user("adam@example.com"),
            kind="per_app_vpn",
            raw={
                "vpn_name": "Example VPN",
                "server": "vpn.example.com",
                "remote_id": "vpn.example.com",
                "local_id": "{email}",
                "auth": "Certificate",
                "apps": "com.microsoft.Office.Outlook",
                "on_demand": "y",
            },  # fmt: skip
            name="Work VPN",
            platforms=["ios"],
            priority=10,
            everyone=False,
            group_ids=[_group("User Enrollment").id],
            secret_key=seeded.config["SECRET_KEY"],
        )
        db.session.commit()
    device = enroll(device_for)
    command = idle(device)
    (vpn,) = profile_in(command)["PayloadContent"]
    assert vpn["PayloadType"] == "com.apple.vpn.managed.applayer"
    assert vpn["IKEv2"]["LocalIdentifier"] == ALICE
    response = acknowledge(device, command["CommandUUID"])
    attributes = plistlib.loads(response.data)["Command"]
    assert attributes["RequestType"] == "Settings"
    assert attributes["Settings"] == [
        {
            "Item": "ApplicationAttributes",
            "Identifier": "com.microsoft.Office.Outlook",
            "Attributes": {"VPNUUID": vpn["VPNUUID"]},
        }
    ]
    assert apple_schema.validate_command(attributes, "iOS", "user", "18.2.1") == []


def test_deleting_the_group_removes_its_configurations(seeded, device_for):
    save_wifi(seeded)
    device = enroll(device_for)
    command = idle(device)
    acknowledge(device, command["CommandUUID"])
    with seeded.app_context():
        groups.delete_group(_user("adam@example.com"), _group("User Enrollment").id)
        db.session.commit()
    removal = idle(device)
    assert removal["RequestType"] == "RemoveProfile"
    assert rows(seeded) == [("Office Wi-Fi", "removing", 1)]


def test_the_sync_command_sends_what_devices_lack(seeded, device_for):
    device = enroll(device_for)
    with seeded.app_context():
        # Assigned behind the portal's back (a restored backup): nothing queued yet.
        group = _group("User Enrollment")
        db.session.add(
            Configuration(name="Intranet", kind="webclip", identifier="webclip-x",
                          platforms=["ios"], settings={"label": "Intranet",
                          "url": "https://intranet.example.com"}, groups=[group])
        )  # fmt: skip
        db.session.commit()
    assert idle(device) is None
    result = seeded.test_cli_runner().invoke(args=["configurations", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 commands queued" in result.output
    assert profile_in(idle(device))["PayloadDisplayName"] == "Intranet"
