"""The loader of Apple's device-management schema (portal/mdm/apple_schema/), checked
against facts stated in Apple's YAML and against the captured messages in tests/data/mdm."""

from __future__ import annotations

import plistlib

import pytest

from portal.mdm import apple_schema
from portal.mdm.apple_schema import (
    SchemaError,
    checkin_schema,
    command_schema,
    key_mode,
    payload_schema,
    validate_checkin,
    validate_command,
    validate_declaration,
    validate_profile,
)

from .support import DATA, load


def codes(findings) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in findings]


def passcode_profile(**payload_keys) -> dict:
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.portal.configuration.passcode",
        "PayloadUUID": "5B1A8A9E-55F1-4C0B-9C43-6C2C8D3E0A11",
        "PayloadDisplayName": "Passcode",
        "PayloadContent": [
            {
                "PayloadType": "com.apple.mobiledevice.passwordpolicy",
                "PayloadVersion": 1,
                "PayloadIdentifier": "com.example.portal.configuration.passcode.policy",
                "PayloadUUID": "0F0E3A5C-1B59-4C4B-8A1F-1D2E3F4A5B6C",
                **payload_keys,
            }
        ],
    }


def test_payload_schema_reads_keys_types_presence_and_supported_os():
    mdm = payload_schema("com.apple.mdm")
    assert mdm.kind == "profile"
    assert mdm.source == "mdm/profiles/com.apple.mdm.yaml"
    topic = mdm.key("Topic")
    assert (topic.type, topic.presence) == ("string", "required")
    assert mdm.key("AccessRights").type == "integer"
    assert mdm.key("EnrollmentMode").rangelist == ("BYOD", "ADDE")
    managed = mdm.key("ManagedAppleID").support("iOS")
    assert (managed.introduced, managed.deprecated, managed.removed) == ("13.1", "17.0", "18.0")
    assert managed.userenrollment == "required"
    # A key without its own supportedOS inherits the payload's.
    assert mdm.key("ServerURL").support("macOS").introduced == "10.7"
    assert mdm.support("iPadOS").introduced == "4.0"


def test_every_file_loads_and_names_its_type():
    assert "com.apple.mdm" in apple_schema.payload_types("profile")
    assert {"ClearPasscode", "DeviceInformation", "InstallProfile"} <= set(
        apple_schema.payload_types("command")
    )
    assert {"Authenticate", "TokenUpdate", "SetBootstrapToken", "GetBootstrapToken"} <= set(
        apple_schema.payload_types("checkin")
    )
    assert "com.apple.configuration.passcode.settings" in apple_schema.payload_types("declaration")
    assert checkin_schema("GetBootstrapToken").response_key("BootstrapToken").type == "data"
    assert command_schema("ClearPasscode").key("UnlockToken").presence == "required"


def test_schema_is_loaded_once():
    assert apple_schema._schema() is apple_schema._schema()


def test_unknown_names_raise_schema_error():
    with pytest.raises(SchemaError, match="com.example.nothing"):
        payload_schema("com.example.nothing")
    with pytest.raises(SchemaError):
        command_schema("MakeCoffee")
    with pytest.raises(SchemaError):
        key_mode("com.apple.mdm", "NoSuchKey", "iOS", "user")
    with pytest.raises(ValueError, match="enrollment"):
        key_mode("com.apple.mdm", "Topic", "iOS", "company")
    with pytest.raises(ValueError, match="operating system"):
        key_mode("com.apple.mdm", "Topic", "Android", "user")


@pytest.mark.parametrize(
    ("payload_type", "key", "os", "enrollment", "mode"),
    [
        ("TopLevel", "PayloadRemovalDisallowed", "iOS", "user", "forbidden"),
        ("TopLevel", "PayloadRemovalDisallowed", "iPadOS", "user", "forbidden"),
        ("TopLevel", "PayloadRemovalDisallowed", "iOS", "device", "allowed"),
        ("TopLevel", "PayloadRemovalDisallowed", "macOS", "user", "allowed"),
        ("com.apple.mdm", "ManagedAppleID", "iOS", "device", "forbidden"),
        ("com.apple.mdm", "AccessRights", "iOS", "user", "ignored"),
        ("com.apple.mdm", "AccessRights", "macOS", "device", "allowed"),
        ("com.apple.mdm", "ManagedAppleID", "iOS", "user", "allowed"),
        ("com.apple.mdm", "RequiredAppIDForMDM", "macOS", "device", "unsupported"),
        ("com.apple.mobiledevice.passwordpolicy", "minLength", "iOS", "user", "ignored"),
        ("com.apple.mobiledevice.passwordpolicy", "minLength", "macOS", "user", "forbidden"),
        ("com.apple.mobiledevice.passwordpolicy", "minLength", "macOS", "device", "allowed"),
        ("com.apple.mobiledevice.passwordpolicy", "customRegex", "iOS", "device", "unsupported"),
        # A key of a common payload key set, asked through a payload type.
        ("com.apple.mdm", "PayloadDisplayName", "iOS", "user", "allowed"),
        # Declarations say it with allowed-enrollments.
        ("com.apple.configuration.passcode.settings", "RequirePasscode", "iOS", "user", "allowed"),
        (
            "com.apple.configuration.passcode.settings",
            "RequirePasscode",
            "macOS",
            "user",
            "forbidden",
        ),
    ],
)
def test_key_mode(payload_type, key, os, enrollment, mode):
    assert key_mode(payload_type, key, os, enrollment) == mode


def test_key_mode_follows_a_path_into_nested_keys():
    layout = "com.apple.homescreenlayout"
    assert key_mode(layout, ["Dock", "IconItem", "Type"], "iOS", "device") == "allowed"
    assert key_mode(layout, ["Dock", "Type"], "iOS", "device") == "allowed"
    assert key_mode("com.apple.mdm", ["ServerCapabilities"], "macOS", "user") == "allowed"
    with pytest.raises(SchemaError):
        key_mode(layout, ["Dock", "Colour"], "iOS", "device")


def test_recursive_types_do_not_loop():
    # An icon folder holds pages of icons, which may be folders: Apple's YAML is recursive.
    dock = payload_schema("com.apple.homescreenlayout").key("Dock")
    icon = dock.item
    pages = icon.subkey("Pages")
    assert pages.item.item.key == "IconItem"
    assert pages.item.item.subkey("Pages").item.item.subkey("Type").rangelist == (
        "App",
        "Folder",
        "WebClip",
    )


def test_forbidden_top_level_key_under_user_enrollment_is_found():
    profile = passcode_profile() | {"PayloadRemovalDisallowed": False}
    findings = validate_profile(profile, "iOS", "user")
    assert ("forbidden_key", "PayloadRemovalDisallowed") in codes(findings)
    assert validate_profile(profile, "iOS", "device") == []
    assert "forbidden under User Enrollment" in str(findings[0])


def test_ignored_keys_and_unsupported_payloads_are_found():
    profile = passcode_profile(minLength=6)
    assert codes(validate_profile(profile, "iPadOS", "user")) == [
        ("ignored_key", "PayloadContent[0].minLength")
    ]
    assert codes(validate_profile(profile, "macOS", "user")) == [
        ("payload_forbidden", "PayloadContent[0]")
    ]
    assert validate_profile(profile, "macOS", "device") == []


def test_types_ranges_unknown_and_missing_keys_are_found():
    profile = passcode_profile(minLength="6", maxFailedAttempts=20, colour="red")
    del profile["PayloadContent"][0]["PayloadUUID"]
    profile["PayloadVersion"] = 2
    found = codes(validate_profile(profile, "iOS", "device"))
    assert ("wrong_type", "PayloadContent[0].minLength") in found
    assert ("out_of_range", "PayloadContent[0].maxFailedAttempts") in found
    assert ("unknown_key", "PayloadContent[0].colour") in found
    assert ("missing_required", "PayloadContent[0].PayloadUUID") in found
    assert ("value_not_allowed", "PayloadVersion") in found
    # bool is an int in Python, never in a plist.
    assert ("wrong_type", "PayloadContent[0].minLength") in codes(
        validate_profile(passcode_profile(minLength=True), "iOS", "device")
    )


def test_versions_are_checked_when_given():
    profile = plistlib.loads((DATA / "enroll-de.mobileconfig").read_bytes())
    assert validate_profile(profile, "iOS", "device", "17.5") == []
    mdm = next(p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm")
    mdm["EnrollmentMode"] = "ADDE"
    mdm["AssignedManagedAppleID"] = "jane@example.com"
    assert sorted(codes(validate_profile(profile, "iOS", "device", "14.8"))) == [
        ("introduced_later", "PayloadContent[1].AssignedManagedAppleID"),
        ("introduced_later", "PayloadContent[1].EnrollmentMode"),
    ]
    del mdm["EnrollmentMode"], mdm["AssignedManagedAppleID"]
    mdm["ManagedAppleID"] = "jane@example.com"
    # Only User Enrollment names the account so; iOS 18 no longer has it.
    assert codes(validate_profile(profile, "iOS", "device", "17.0")) == [
        ("forbidden_key", "PayloadContent[1].ManagedAppleID")
    ]
    del mdm["AccessRights"]
    assert validate_profile(profile, "iOS", "user", "17.0") == []
    assert codes(validate_profile(profile, "iOS", "user", "18.1")) == [
        ("removed", "PayloadContent[1].ManagedAppleID")
    ]


def test_user_enrollment_requires_the_managed_apple_account():
    profile = plistlib.loads((DATA / "enroll-de.mobileconfig").read_bytes())
    mdm = next(p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm")
    del mdm["AccessRights"]
    assert ("missing_required", "PayloadContent[1].ManagedAppleID") in codes(
        validate_profile(profile, "iOS", "user", "16.0")
    )
    # Account-driven User Enrollment names it with AssignedManagedAppleID instead.
    mdm["EnrollmentMode"] = "BYOD"
    mdm["AssignedManagedAppleID"] = "jane@example.com"
    assert validate_profile(profile, "iOS", "user", "17.0") == []


def test_unknown_payload_type_is_found():
    profile = passcode_profile()
    profile["PayloadContent"][0]["PayloadType"] = "com.example.nothing"
    assert codes(validate_profile(profile, "iOS", "device")) == [
        ("unknown_payload_type", "PayloadContent[0].PayloadType")
    ]


def test_commands():
    clear = {"CommandUUID": "A", "Command": {"RequestType": "ClearPasscode"}}
    assert codes(validate_command(clear, "iOS", "device")) == [
        ("missing_required", "Command.UnlockToken")
    ]
    clear["Command"]["UnlockToken"] = b"\x00" * 16
    assert validate_command(clear, "iOS", "device") == []
    assert codes(validate_command(clear, "iOS", "user")) == [("payload_forbidden", "Command")]
    assert codes(validate_command(clear, "macOS", "device")) == [("payload_unsupported", "Command")]
    info = {"RequestType": "DeviceInformation", "Queries": ["OSVersion", "SerialNumber"]}
    assert validate_command(info, "iOS", "device") == []
    assert codes(validate_command(info, "iOS", "user")) == [("forbidden_key", "Queries[1]")]
    assert codes(validate_command({"RequestType": "MakeCoffee"}, "iOS", "device")) == [
        ("unknown_command", "RequestType")
    ]


@pytest.mark.parametrize(
    ("name", "os", "enrollment", "channel"),
    [
        ("ios-de-authenticate.plist", "iOS", "device", "device"),
        ("ios-de-authenticate-cellular.plist", "iOS", "device", "device"),
        ("ios-de-tokenupdate.plist", "iOS", "device", "device"),
        ("ios-de-checkout.plist", "iOS", "device", "device"),
        ("ios-ue-authenticate.plist", "iOS", "user", "device"),
        ("ios-ue-tokenupdate.plist", "iOS", "user", "device"),
        ("macos-de-tokenupdate.plist", "macOS", "device", "device"),
        ("macos-de-checkout.plist", "macOS", "device", "device"),
        ("macos-de-user-tokenupdate-10.12.2.plist", "macOS", "device", "user"),
    ],
)
def test_captured_checkins_conform(name, os, enrollment, channel):
    assert validate_checkin(load(name), os, enrollment, channel=channel) == []


def test_checkin_with_hardware_identifiers_under_user_enrollment_is_found():
    message = load("ios-ue-tokenupdate.plist", UDID="0" * 40)
    message["UnlockToken"] = b"token"
    assert codes(validate_checkin(message, "iOS", "user")) == [
        ("forbidden_key", "UDID"),
        ("forbidden_key", "UnlockToken"),
    ]
    macos = load("macos-de-authenticate.plist")
    # Challenge was sent by macOS 10.12 and is not in Apple's current schema.
    assert codes(validate_checkin(macos, "macOS", "device")) == [("unknown_key", "Challenge")]
    bootstrap = {"MessageType": "GetBootstrapToken", "Topic": "t", "UDID": "u"}
    assert codes(validate_checkin(bootstrap, "iOS", "device")) == [("payload_unsupported", "")]


def test_declarations():
    declaration = {
        "Type": "com.apple.configuration.passcode.settings",
        "Identifier": "passcode",
        "ServerToken": "1",
        "Payload": {"RequirePasscode": True, "MinimumLength": 6},
    }
    assert validate_declaration(declaration, "iOS", "user") == []
    assert codes(validate_declaration(declaration, "macOS", "user")) == [("payload_forbidden", "")]
    declaration["Payload"]["MinimumLength"] = "six"
    assert codes(validate_declaration(declaration, "iOS", "device")) == [
        ("wrong_type", "Payload.MinimumLength")
    ]
