"""Every kind of configuration, built from its form, against Apple's schema on each system and
enrollment type: zero findings where it applies, a refusal with the reason where it cannot."""

from __future__ import annotations

import plistlib

import pytest

from portal.configurations import kinds, service
from portal.mdm import apple_schema
from portal.models import ConfigurationKind as Kind
from portal.models import EnrollmentType

# What an admin types in each form.
FORMS = {
    Kind.WIFI: {"ssid": "Example Corp", "encryption": "WPA2", "password": "correct horse",
                "auto_join": "y", "proxy": "None"},
    Kind.PER_APP_VPN: {"vpn_name": "Example VPN", "server": "vpn.example.com",
                       "remote_id": "vpn.example.com", "local_id": "{email}",
                       "auth": "SharedSecret", "shared_secret": "s3cret",
                       "apps": "com.microsoft.Office.Outlook\ncom.example.intranet",
                       "safari_domains": "intranet.example.com", "mail_domains": "example.com",
                       "calendar_domains": "example.com", "contacts_domains": "example.com",
                       "on_demand": "y"},
    Kind.EXCHANGE: {"host": "outlook.office365.com", "email": "{email}", "username": "{email}",
                    "ssl": "y", "oauth": "y", "prevent_move": "y", "days": "14"},
    Kind.MAIL: {"description": "Work mail", "type": "EmailTypeIMAP", "email": "{email}",
                "in_host": "imap.example.com", "in_port": "993", "in_ssl": "y",
                "in_user": "{email}", "in_auth": "EmailAuthPassword",
                "out_host": "smtp.example.com", "out_port": "587", "out_ssl": "y",
                "out_user": "{email}", "out_auth": "EmailAuthPassword"},
    Kind.CALDAV: {"description": "Work calendar", "host": "cal.example.com", "port": "443",
                  "ssl": "y", "username": "{email}",
                  "principal_url": "https://cal.example.com/principals/"},
    Kind.CARDDAV: {"description": "Work contacts", "host": "contacts.example.com",
                   "port": "443", "ssl": "y", "username": "{email}",
                   "principal_url": "https://contacts.example.com/principals/"},
    Kind.PKCS12: {"file": b"0\x82\x01\x00 a PKCS#12 file", "file_name": "identity.p12",
                  "password": "p12 password"},
    Kind.SCEP: {"url": "https://scep.example.com/scep", "ca_name": "Example CA",
                "subject": "CN={email}, O=Example Corp", "challenge": "challenge",
                "key_size": "2048", "key_usage": "5"},
    Kind.WEBCLIP: {"label": "Intranet", "url": "https://intranet.example.com",
                   "removable": "y", "full_screen": ""},
    Kind.PASSCODE: {"forcePIN": "y", "allowSimple": "", "minLength": "6",
                    "maxFailedAttempts": "10", "maxInactivity": "5"},
    Kind.APP_CONFIG: {"bundle_id": "com.microsoft.Office.Outlook",
                      "values": "IntuneMAMUPN={email}\ncom.microsoft.outlook.EmailProfile."
                                "AccountType=ModernAuth\nAllowOnlyWorkOrSchoolAccounts=true"},
}  # fmt: skip

# Where a kind cannot apply, and why (Apple's schema or the reference guide).
REFUSED = {
    (Kind.EXCHANGE, "macos", EnrollmentType.USER): "Apple does not offer",
    (Kind.EXCHANGE, "macos", EnrollmentType.DEVICE): "Apple does not offer",
    (Kind.PASSCODE, "macos", EnrollmentType.USER): service.INVALID_REQUEST_TYPE,
    (Kind.PER_APP_VPN, "macos", EnrollmentType.USER): service.INVALID_REQUEST_TYPE,
}
SYSTEMS = {"ios": "iOS", "macos": "macOS"}
VERSIONS = {"ios": "18.1", "macos": "15.1"}
TARGETS = [
    (kind, platform, enrollment)
    for kind in Kind
    for platform in ("ios", "macos")
    for enrollment in (EnrollmentType.USER, EnrollmentType.DEVICE)
]
PERSON = {
    "email": "alice@example.com",
    "name": "Alice",
    "managed_apple_id": "alice@appleid.example.com",
}


def test_every_kind_has_a_form():
    assert set(FORMS) == set(Kind)


def build(kind, platform, enrollment) -> dict:
    settings = kinds.clean(kind, FORMS[kind])
    secrets = {name: FORMS[kind][name] for name in kinds.secret_fields(kind)}
    enrollment_name = "user" if enrollment == EnrollmentType.USER else "device"
    if kind == Kind.APP_CONFIG:
        return {"RequestType": "Settings", **kinds.settings_command(settings, variables=PERSON)}
    profile = service.build_profile(
        kind,
        settings,
        identifier="com.example.portal.configuration.check",
        version=3,
        platform=platform,
        variables=PERSON,
        display_name="Check",
        organization="Example Corp",
        enrollment=enrollment_name,
        description="Example Corp set this up for your work.",
        secrets=secrets,
    )
    # What the device receives: the bytes plistlib writes, read back.
    return plistlib.loads(plistlib.dumps(profile))


@pytest.mark.parametrize(("kind", "platform", "enrollment"), TARGETS)
def test_each_kind_on_each_system_and_enrollment(ctx, kind, platform, enrollment):
    settings = kinds.clean(kind, FORMS[kind])
    reasons = service.problems(kind, settings, {(platform, enrollment)})
    expected = REFUSED.get((kind, platform, enrollment))
    if expected is not None:
        assert reasons and all(expected in reason for reason in reasons), reasons
        return
    assert reasons == []
    built = build(kind, platform, enrollment)
    enrollment_name = "user" if enrollment == EnrollmentType.USER else "device"
    if kind == Kind.APP_CONFIG:
        findings = apple_schema.validate_command(
            built, SYSTEMS[platform], enrollment_name, VERSIONS[platform]
        )
    else:
        findings = apple_schema.validate_profile(
            built, SYSTEMS[platform], enrollment_name, VERSIONS[platform]
        )
    assert findings == [], list(apple_schema.iter_findings_text(findings))


def test_the_persons_values_replace_the_variables():
    profile = build(Kind.EXCHANGE, "ios", EnrollmentType.USER)
    (payload,) = profile["PayloadContent"]
    assert payload["EmailAddress"] == payload["UserName"] == "alice@example.com"
    command = build(Kind.APP_CONFIG, "ios", EnrollmentType.USER)
    (item,) = command["Settings"]
    assert item["Configuration"] == {
        "IntuneMAMUPN": "alice@example.com",
        "com.microsoft.outlook.EmailProfile.AccountType": "ModernAuth",
        "AllowOnlyWorkOrSchoolAccounts": True,
    }


def test_the_per_app_vpn_maps_its_apps_on_a_mac_only():
    mac = build(Kind.PER_APP_VPN, "macos", EnrollmentType.DEVICE)
    vpn, mapping = mac["PayloadContent"]
    assert vpn["PayloadType"] == "com.apple.vpn.managed.applayer"
    assert vpn["VPNType"] == "IKEv2" and vpn["IKEv2"]["SharedSecret"] == "s3cret"
    assert mapping["PayloadType"] == "com.apple.vpn.managed.appmapping"
    assert {m["Identifier"] for m in mapping["AppLayerVPNMapping"]} == {
        "com.microsoft.Office.Outlook",
        "com.example.intranet",
    }
    assert {m["VPNUUID"] for m in mapping["AppLayerVPNMapping"]} == {vpn["VPNUUID"]}
    (iphone_vpn,) = build(Kind.PER_APP_VPN, "ios", EnrollmentType.USER)["PayloadContent"]
    assert iphone_vpn["VPNUUID"] == vpn["VPNUUID"]  # the same VPN, known by one UUID


def test_user_enrollment_on_an_iphone_leaves_out_the_passcode_keys_it_ignores():
    (payload,) = build(Kind.PASSCODE, "ios", EnrollmentType.USER)["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.mobiledevice.passwordpolicy"
    assert not {"forcePIN", "minLength", "maxFailedAttempts"} & set(payload)
    (device_payload,) = build(Kind.PASSCODE, "ios", EnrollmentType.DEVICE)["PayloadContent"]
    assert device_payload["minLength"] == 6 and device_payload["forcePIN"] is True


def test_the_forms_show_what_user_enrollment_forbids_or_ignores(ctx):
    notes = service.key_notes(Kind.WIFI)
    assert [(n.os, n.mode) for n in notes["proxy"]] == [("ios", "forbidden")]
    assert notes["ssid"] == []
    passcode = service.key_notes(Kind.PASSCODE)
    assert {(n.os, n.mode) for n in passcode["minLength"]} == {
        ("ios", "ignored"),
        ("macos", "forbidden"),
    }


def test_a_wifi_proxy_is_refused_for_user_enrolled_iphones(ctx):
    settings = kinds.clean(
        Kind.WIFI, {**FORMS[Kind.WIFI], "proxy": "Manual", "proxy_server": "proxy.example.com"}
    )
    reasons = service.problems(Kind.WIFI, settings, {("ios", EnrollmentType.USER)})
    assert any("ProxyType" in reason and "forbidden" in reason for reason in reasons), reasons
    assert service.problems(Kind.WIFI, settings, {("ios", EnrollmentType.DEVICE)}) == []


@pytest.mark.parametrize(
    ("kind", "changes", "field"),
    [
        (Kind.WIFI, {"ssid": ""}, "ssid"),
        (Kind.WIFI, {"password": ""}, "password"),
        (Kind.PER_APP_VPN, {"apps": "not a bundle id"}, "apps"),
        (Kind.PER_APP_VPN, {"shared_secret": ""}, "shared_secret"),
        (Kind.MAIL, {"in_port": "70000"}, "in_port"),
        (Kind.MAIL, {"in_port": "nine"}, "in_port"),
        (Kind.WEBCLIP, {"url": "javascript:alert(1)"}, "url"),
        (Kind.SCEP, {"key_size": "512"}, "key_size"),
        (Kind.PKCS12, {"file": None}, "file"),
        (Kind.APP_CONFIG, {"values": "no equals sign"}, "values"),
        (Kind.APP_CONFIG, {"bundle_id": "outlook"}, "bundle_id"),
        (
            Kind.PASSCODE,
            {"forcePIN": "", "minLength": "", "maxFailedAttempts": "", "maxInactivity": ""},
            "forcePIN",
        ),  # fmt: skip
    ],
)
def test_values_apple_would_refuse_are_refused_on_their_field(kind, changes, field):
    with pytest.raises(kinds.SettingsError) as refused:
        kinds.clean(kind, {**FORMS[kind], **changes})
    assert refused.value.field == field
