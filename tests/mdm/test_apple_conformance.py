"""Everything the portal sends to an Apple device, checked against Apple's published schema
(portal/mdm/apple_schema/): every enrollment profile, every configuration profile, every
command, every check-in answer. Each must have zero findings for the system and enrollment
type it is sent to."""

from __future__ import annotations

import plistlib

import pytest
import sqlalchemy as sa

from portal.apple import secrets
from portal.apps import service as apps_service
from portal.devices import configurations, service
from portal.devices.capabilities import Action
from portal.enrollment import pki
from portal.enrollment.pki import unwrap_signed_data
from portal.enrollment.profile_service import MDMSettings
from portal.enrollment.profiles import EnrollmentProfileSpec, ProfileKind, build_enrollment_profile
from portal.extensions import db
from portal.mdm import connect, facts
from portal.mdm.apple_schema import (
    iter_findings_text,
    validate_checkin,
    validate_command,
    validate_profile,
    validate_response,
)
from portal.models import (
    App,
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Platform,
    User,
    utcnow,
)

from .support import BASE, DeviceClient, load, mdm_payload, only_device, profile_of

# The schema names an iPad's system iOS (iPadOS maps to it); the portal's platforms.
SCHEMA_OS = {"ios": "iOS", "ipados": "iPadOS", "macos": "macOS"}


def assert_conforms(findings) -> None:
    assert findings == [], "\n".join(iter_findings_text(findings))


# --- enrollment profiles -------------------------------------------------------------------

SERVED = [
    # (who, platform, OS version, enrollment the portal chooses)
    ("bob@example.com", "ios", "17.5", "device"),
    ("bob@example.com", "macos", "14.5", "device"),
    ("alice@example.com", "ios", "12.4", "device"),  # too old for User Enrollment
    ("alice@example.com", "ios", "17.5", "user"),
    ("alice@example.com", "ipados", "16.0", "user"),
    ("alice@example.com", "macos", "13.0", "user"),
]


@pytest.mark.parametrize(("email", "platform", "version", "enrollment"), SERVED)
def test_every_downloaded_profile_conforms(seeded, download, email, platform, version, enrollment):
    _response, profile = download(email, platform, version)
    is_user = "ManagedAppleID" in mdm_payload(profile)
    assert is_user == (enrollment == "user")
    assert_conforms(validate_profile(profile, SCHEMA_OS[platform], enrollment, version))


@pytest.fixture(scope="module")
def device_identity():
    """Stands in for the device's built-in identity."""
    ca = pki.create_ca("Test device CA")
    return pki.create_signing_identity(ca, "Test device")


def account_driven_profile(seeded, identity, product: str, version: str) -> dict:
    """The account-driven User Enrollment profile, as the device obtains it."""
    from .test_account_driven import access_token, post_enroll, web_sign_in

    info = {"LANGUAGE": "en-US", "PRODUCT": product, "OS_VERSION": version}
    cert, key = identity
    body = pki.sign_profile(plistlib.dumps(info), cert, key, [])
    url = f"{BASE}/mdm/enroll/auth?user-identifier=alice@appleid.example.com"
    token = access_token(web_sign_in(seeded.test_client(), url, "alice@example.com"))
    response = post_enroll(seeded.test_client(), body, bearer=token)
    assert response.status_code == 200
    return profile_of(response)


@pytest.mark.parametrize(
    ("product", "version", "os"),
    [
        ("iPhone16,1", "18.2.1", "iOS"),
        ("iPad14,8", "17.4", "iPadOS"),
        ("Mac15,12", "15.1", "macOS"),
    ],
)
def test_account_driven_profiles_conform(seeded, device_identity, product, version, os):
    profile = account_driven_profile(seeded, device_identity, product, version)
    assert mdm_payload(profile)["EnrollmentMode"] == "BYOD"
    assert_conforms(validate_profile(profile, os, "user", version))


def spec(kind: ProfileKind) -> EnrollmentProfileSpec:
    return EnrollmentProfileSpec(
        kind=kind,
        organization="Example Corp",
        identifier_prefix="com.example.portal",
        server_url="https://mdm.example.com/mdm/connect",
        checkin_url="https://mdm.example.com/mdm/checkin",
        topic="com.apple.mgmt.External.1b2c3d4e-0000-4000-8000-000000000001",
        enrollment_key="enrollment-42",
        identity_p12=b"p12",
        identity_password="secret",
        managed_apple_id="alice@appleid.example.com",
        display_name="Example Corp",
        description="Device management",
        use_development_apns=True,
    )


@pytest.mark.parametrize(
    ("kind", "os", "version", "enrollment"),
    [
        (ProfileKind.USER_PROFILE, "iOS", "17.0", "user"),
        (ProfileKind.USER_PROFILE, "iPadOS", "13.1", "user"),
        (ProfileKind.USER_PROFILE, "macOS", "14.0", "user"),
        (ProfileKind.USER_ACCOUNT, "iOS", "15.0", "user"),
        (ProfileKind.USER_ACCOUNT, "macOS", "14.0", "user"),
        (ProfileKind.DEVICE_PROFILE, "iOS", "18.1", "device"),
        (ProfileKind.DEVICE_PROFILE, "macOS", "15.1", "device"),
        (ProfileKind.DEVICE_ACCOUNT, "iOS", "17.0", "device"),
        (ProfileKind.DEVICE_ACCOUNT, "macOS", "14.0", "device"),
    ],
)
def test_every_profile_kind_the_builder_makes_conforms(kind, os, version, enrollment):
    profile = plistlib.loads(build_enrollment_profile(spec(kind)))
    assert_conforms(validate_profile(profile, os, enrollment, version))


@pytest.mark.parametrize("os", ["iOS", "iPadOS"])
def test_a_forbidden_key_put_back_is_found(seeded, download, os):
    _response, profile = download("alice@example.com", os.lower(), "17.5")
    profile["PayloadRemovalDisallowed"] = False
    findings = validate_profile(profile, os, "user", "17.5")
    assert [(f.code, f.path) for f in findings] == [("forbidden_key", "PayloadRemovalDisallowed")]
    mdm_payload(profile)["AccessRights"] = 8191  # ignored under User Enrollment: not sent
    assert ("ignored_key", "PayloadContent[1].AccessRights") in [
        (f.code, f.path) for f in validate_profile(profile, os, "user", "17.5")
    ]


# --- devices of every kind, and every command they can get ----------------------------------

KINDS = [
    (EnrollmentType.USER, Platform.IOS),
    (EnrollmentType.USER, Platform.IPADOS),
    (EnrollmentType.USER, Platform.MACOS),
    (EnrollmentType.DEVICE, Platform.IOS),
    (EnrollmentType.DEVICE, Platform.IPADOS),
    (EnrollmentType.DEVICE, Platform.MACOS),
]
UNLOCK_TOKEN = load("ios-de-tokenupdate.plist")["UnlockToken"]


def settings_of(app) -> MDMSettings:
    return MDMSettings.from_config(app.config)


def enrolled(app, kind: EnrollmentType, platform: Platform) -> Device:
    """An enrolled device of this kind, as the check-ins leave it."""
    user = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    device = Device(
        user_id=user.id,
        name=f"{kind} {platform}",
        platform=platform,
        os_version="17.5" if platform != Platform.MACOS else "14.5",
        enrollment_type=kind,
        enrollment_method=EnrollmentMethod.PROFILE,
        status=DeviceStatus.ENROLLED,
        topic="com.apple.mgmt.External.test",
    )
    if kind == EnrollmentType.USER:
        device.enrollment_id = f"ENROLLMENT-{platform}"
    else:
        device.udid = f"UDID-{platform}"
        if platform != Platform.MACOS:
            device.unlock_token = secrets.encrypt(app.config["SECRET_KEY"], UNLOCK_TOKEN)
    db.session.add(device)
    db.session.commit()
    return device


def sent(command) -> dict:
    """The command as the device receives it."""
    return plistlib.loads(connect.command_plist(command))


def admin() -> User:
    return db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))


@pytest.mark.parametrize(("kind", "platform"), KINDS)
def test_every_action_command_conforms(seeded, ctx, kind, platform):
    device = enrolled(seeded, kind, platform)
    allowed = [a for a in service.allowed_actions(device) if a.allowed]
    assert allowed, "every kind of device allows some action"
    for choice in allowed:
        command = service.perform_action(
            device, choice.action.value, actor=admin(), settings=settings_of(seeded)
        )
        os = SCHEMA_OS[str(platform)]
        assert_conforms(validate_command(sent(command), os, str(kind)))
    # And what the portal refuses, Apple's schema refuses too (or the device cannot do it).
    for choice in service.allowed_actions(device):
        if choice.allowed or choice.reason_code == "not_enrolled":
            continue
        body = {"RequestType": choice.request_type}
        if choice.action is Action.UNLOCK:
            body["UnlockToken"] = UNLOCK_TOKEN
        findings = validate_command(body, SCHEMA_OS[str(platform)], str(kind))
        assert {f.code for f in findings} & {"payload_forbidden", "payload_unsupported"}, body


@pytest.mark.parametrize(("kind", "platform"), KINDS)
@pytest.mark.parametrize("preset", sorted(configurations.PASSCODE_PRESETS))
def test_every_passcode_profile_and_its_command_conform(seeded, ctx, kind, platform, preset):
    device = enrolled(seeded, kind, platform)
    os, enrollment = SCHEMA_OS[str(platform)], str(kind)
    if not configurations.passcode_availability(device).allowed:
        # A Mac under User Enrollment: Apple's schema forbids the payload there too.
        assert platform == Platform.MACOS and kind == EnrollmentType.USER
        profile = plistlib.loads(
            configurations.payloads.build_passcode_profile(
                "com.example.portal",
                configurations.PASSCODE_PRESETS[preset].settings,
                version=preset,
                organization="Example Corp",
                display_name="Passcode",
                description="Passcode",
            )
        )
        codes = {f.code for f in validate_profile(profile, os, enrollment)}
        assert codes == {"payload_forbidden"}
        return
    result = configurations.send_configuration(
        device, "passcode", actor=admin(), settings=settings_of(seeded), preset=preset
    )
    command = sent(result.command)
    assert_conforms(validate_command(command, os, enrollment))
    profile = plistlib.loads(unwrap_signed_data(command["Command"]["Payload"]))
    assert_conforms(validate_profile(profile, os, enrollment, device.os_version))


@pytest.mark.parametrize(("kind", "platform"), KINDS)
def test_the_app_install_command_conforms(seeded, ctx, kind, platform):
    device = enrolled(seeded, kind, platform)
    app = App(adam_id="361309726", name="Pages", platform=platform, licence_type="device")
    body = {"RequestType": "InstallApplication", **apps_service.install_payload(app, device)}
    assert_conforms(validate_command(body, SCHEMA_OS[str(platform)], str(kind)))


@pytest.mark.parametrize(("kind", "platform"), KINDS)
def test_every_facts_command_conforms(seeded, ctx, kind, platform):
    device = enrolled(seeded, kind, platform)
    queued = facts.queue_for_device(device, utcnow())
    assert {c.request_type for c in queued} >= {"DeviceInformation", "ProfileList"}
    for command in queued:
        assert_conforms(validate_command(sent(command), SCHEMA_OS[str(platform)], str(kind)))


# --- the unlock token -------------------------------------------------------------------------


def test_clear_passcode_carries_the_stored_unlock_token(seeded, device_for):
    iphone, profile = device_for("bob@example.com", "ios", "17.5")
    topic = mdm_payload(profile)["Topic"]
    authenticate = load("ios-de-authenticate.plist", Topic=topic)
    assert iphone.checkin(authenticate).status_code == 200
    update = load("ios-de-tokenupdate.plist", Topic=topic)
    assert iphone.checkin(update).status_code == 200
    with seeded.app_context():
        device = only_device("bob@example.com")
        assert device.status is DeviceStatus.ENROLLED
        # Stored encrypted, never in clear.
        assert device.unlock_token and update["UnlockToken"] not in device.unlock_token.encode()
        assert (
            secrets.decrypt(seeded.config["SECRET_KEY"], device.unlock_token)
            == (update["UnlockToken"])
        )
        bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
        command = service.perform_action(device, "unlock", actor=bob, settings=settings_of(seeded))
        db.session.commit()
        body = sent(command)
    assert body["Command"] == {"RequestType": "ClearPasscode", "UnlockToken": update["UnlockToken"]}
    assert_conforms(validate_command(body, "iOS", "device"))
    # The device fetches it as it would.
    answer = iphone.connect({"Status": "Idle", "UDID": authenticate["UDID"]})
    assert plistlib.loads(answer.data)["Command"]["UnlockToken"] == update["UnlockToken"]


def test_check_out_forgets_the_unlock_token(seeded, device_for):
    iphone, profile = device_for("bob@example.com", "ios", "17.5")
    topic = mdm_payload(profile)["Topic"]
    assert iphone.checkin(load("ios-de-authenticate.plist", Topic=topic)).status_code == 200
    assert iphone.checkin(load("ios-de-tokenupdate.plist", Topic=topic)).status_code == 200
    assert (
        iphone.checkin(
            load("ios-de-checkout.plist", Topic=topic, UDID=None)
            | {"UDID": load("ios-de-authenticate.plist")["UDID"]}
        ).status_code
        == 200
    )
    with seeded.app_context():
        device = only_device("bob@example.com")
        assert device.status is DeviceStatus.UNENROLLED and device.unlock_token is None


# --- the bootstrap token ----------------------------------------------------------------------


def enrolled_mac(seeded, device_for) -> tuple[DeviceClient, dict, str]:
    mac, profile = device_for("bob@example.com", "macos", "14.5")
    topic = mdm_payload(profile)["Topic"]
    assert mac.checkin(load("macos-de-authenticate.plist", Topic=topic)).status_code == 200
    assert mac.checkin(load("macos-de-tokenupdate.plist", Topic=topic)).status_code == 200
    return mac, profile, topic


def bootstrap(message_type: str, topic: str, **keys) -> dict:
    udid = load("macos-de-authenticate.plist")["UDID"]
    return {"MessageType": message_type, "Topic": topic, "UDID": udid, **keys}


def test_bootstrap_token_set_then_got_back(seeded, device_for):
    mac, profile, topic = enrolled_mac(seeded, device_for)
    assert "com.apple.mdm.bootstraptoken" in mdm_payload(profile)["ServerCapabilities"]
    # Before any: an answer without a token, as Apple's schema allows.
    empty = mac.checkin(bootstrap("GetBootstrapToken", topic))
    assert empty.status_code == 200 and plistlib.loads(empty.data) == {}
    token = bytes(range(256)) * 2
    message = bootstrap(
        "SetBootstrapToken", topic, BootstrapToken=token, AwaitingConfiguration=False
    )
    assert_conforms(validate_checkin(message, "macOS", "device"))
    assert mac.checkin(message).status_code == 200
    with seeded.app_context():
        stored = only_device("bob@example.com").bootstrap_token
        assert stored and token not in stored.encode()
    answer = mac.checkin(bootstrap("GetBootstrapToken", topic))
    assert answer.status_code == 200
    body = plistlib.loads(answer.data)
    assert body == {"BootstrapToken": token}
    assert_conforms(validate_response("checkin", "GetBootstrapToken", body, "macOS", "device"))
    # An empty token removes it (Apple's schema).
    assert mac.checkin(bootstrap("SetBootstrapToken", topic, BootstrapToken=b"")).status_code == 200
    assert plistlib.loads(mac.checkin(bootstrap("GetBootstrapToken", topic)).data) == {}


def test_bootstrap_token_is_refused_under_user_enrollment(seeded, device_for):
    from .support import refusals

    phone, profile = device_for("alice@example.com", "ios", "17.5")
    topic = mdm_payload(profile)["Topic"]
    assert phone.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert phone.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    message = {
        "MessageType": "SetBootstrapToken",
        "Topic": topic,
        "EnrollmentID": load("ios-ue-authenticate.plist")["EnrollmentID"],
        "BootstrapToken": b"token",
    }
    assert phone.checkin(message).status_code == 400
    with seeded.app_context():
        assert refusals()[-1]["reason"] == "bootstrap_token_under_user_enrollment"
        assert only_device("alice@example.com").bootstrap_token is None


def test_a_malformed_unlock_token_is_refused_and_nothing_changes(seeded, device_for):
    from .support import refusals

    iphone, profile = device_for("bob@example.com", "ios", "17.5")
    topic = mdm_payload(profile)["Topic"]
    assert iphone.checkin(load("ios-de-authenticate.plist", Topic=topic)).status_code == 200
    bad = load("ios-de-tokenupdate.plist", Topic=topic, UnlockToken="not data")
    assert iphone.checkin(bad).status_code == 400
    with seeded.app_context():
        device = only_device("bob@example.com")
        assert device.status is DeviceStatus.AUTHENTICATED and device.unlock_token is None
        assert device.push_token is None
        assert refusals()[-1]["reason"] == "UnlockToken_invalid"


def test_bootstrap_token_messages_from_an_iphone_are_refused(seeded, device_for):
    from .support import refusals

    iphone, profile = device_for("bob@example.com", "ios", "17.5")
    topic = mdm_payload(profile)["Topic"]
    authenticate = load("ios-de-authenticate.plist", Topic=topic)
    assert iphone.checkin(authenticate).status_code == 200
    assert iphone.checkin(load("ios-de-tokenupdate.plist", Topic=topic)).status_code == 200
    message = {"MessageType": "GetBootstrapToken", "Topic": topic, "UDID": authenticate["UDID"]}
    assert iphone.checkin(message).status_code == 400
    with seeded.app_context():
        assert refusals()[-1]["reason"] == "bootstrap_token_not_macos"
