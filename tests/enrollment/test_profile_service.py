"""Profiles for people (configuration → spec → signed profile) and the device lifecycle."""

from __future__ import annotations

import dataclasses
import plistlib
import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from portal.enrollment import lifecycle, pki, policy, profile_service
from portal.enrollment.profile_service import (
    MDMSettings,
    NoProfileToDownload,
    ProfileUnavailable,
    build_signed_profile,
    web_profile_kind,
)
from portal.enrollment.profiles import ProfileKind
from portal.extensions import db
from portal.models import (
    Device,
    DeviceLogEntry,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    User,
)

OPENSSL = "/usr/bin/openssl"
TOPIC = "com.apple.mgmt.External.0a1b2c3d-0000-4000-8000-000000000042"
# notes/apple-mdm.md, per kind: keys that must be there, keys that must not.
KIND_KEYS = {
    ProfileKind.USER_PROFILE: ({"ManagedAppleID"}, {"AccessRights", "EnrollmentMode"}),
    ProfileKind.USER_ACCOUNT: (
        {"EnrollmentMode", "AssignedManagedAppleID"},
        {"AccessRights", "ManagedAppleID"},
    ),
    ProfileKind.DEVICE_PROFILE: ({"AccessRights"}, {"ManagedAppleID", "EnrollmentMode"}),
    ProfileKind.DEVICE_ACCOUNT: (
        {"AccessRights", "EnrollmentMode", "AssignedManagedAppleID"},
        {"ManagedAppleID"},
    ),
}
MODES = {ProfileKind.USER_ACCOUNT: "BYOD", ProfileKind.DEVICE_ACCOUNT: "ADDE"}


def settings_for(tmp_path: Path, **changes) -> MDMSettings:
    base = MDMSettings(
        public_base_url="https://mdm.example.com",
        instance_path=tmp_path / "instance",
        organization="Example Corp",
        production=False,
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "url, prefix",
    [
        ("https://mdm.example.com", "com.example.mdm"),
        ("https://portal.example.co.uk:8443/", "uk.co.example.portal"),
        ("http://127.0.0.1:5000", "1.0.0.127"),
        ("http://localhost:5000", "local.localhost"),
    ],
)
def test_profile_prefix_is_the_reversed_host(tmp_path, url, prefix):
    assert settings_for(tmp_path, public_base_url=url).profile_prefix == prefix
    assert settings_for(tmp_path, identifier_prefix="org.acme").profile_prefix == "org.acme"


def test_settings_from_config():
    config = {
        "PUBLIC_BASE_URL": "https://mdm.example.com/",
        "INSTANCE_PATH": "/tmp/x",
        "ORG_NAME": "Acme",
        "PORTAL_ENV": "production",
        "MDM_PUSH_TOPIC": TOPIC,
        "MDM_ACCESS_TOKEN_DAYS": 30,
    }
    settings = MDMSettings.from_config(config)
    assert settings.url("/mdm/enroll") == "https://mdm.example.com/mdm/enroll"
    assert (settings.production, settings.push_topic, settings.access_token_days) == (
        True,
        TOPIC,
        30,
    )


def test_development_topic_is_made_once_and_kept_private(tmp_path):
    settings = settings_for(tmp_path)
    topic = profile_service.push_topic(settings)
    assert topic.startswith("com.apple.mgmt.External.") and len(topic) == 24 + 36
    assert profile_service.push_topic(settings) == topic
    mode = (tmp_path / "instance" / "mdm_push_topic").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_topic_in_production(tmp_path):
    with pytest.raises(ProfileUnavailable, match="MDM_PUSH_TOPIC is not set"):
        profile_service.push_topic(settings_for(tmp_path, production=True))
    assert not (tmp_path / "instance" / "mdm_push_topic").exists()
    configured = settings_for(tmp_path, production=True, push_topic=TOPIC)
    assert profile_service.push_topic(configured) == TOPIC
    with pytest.raises(ProfileUnavailable, match="must start with"):
        profile_service.push_topic(settings_for(tmp_path, push_topic="com.example.push"))


def test_half_configured_or_unusable_key_material_is_reported(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    key_path = tmp_path / "ec.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ProfileUnavailable, match="MDM_CA_CERT and MDM_CA_KEY"):
        profile_service.certificate_authority(settings_for(tmp_path, ca_cert="x.pem"))
    with pytest.raises(ProfileUnavailable, match="MDM_CA_CERT/MDM_CA_KEY"):
        profile_service.certificate_authority(
            settings_for(tmp_path, ca_cert=str(tmp_path / "missing.pem"), ca_key=str(key_path))
        )
    ca = profile_service.certificate_authority(settings_for(tmp_path))
    with pytest.raises(ProfileUnavailable, match="PROFILE_SIGNING_CERT and"):
        profile_service.signing_identity(settings_for(tmp_path, signing_key="k.pem"), ca)


def test_default_pki_lives_under_instance(tmp_path):
    settings = settings_for(tmp_path)
    ca = profile_service.certificate_authority(settings)
    cert, _key, chain = profile_service.signing_identity(settings, ca)
    pki_dir = tmp_path / "instance" / "pki"
    assert stat.S_IMODE((pki_dir / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((pki_dir / "signing.key").stat().st_mode) == 0o600
    assert chain == [ca.certificate]
    cert.verify_directly_issued_by(ca.certificate)
    again = profile_service.certificate_authority(settings)
    assert again.certificate == ca.certificate


def _decision(kind: policy.EnrollmentType) -> policy.Decision:
    return policy.Decision(kind, policy.Method.PROFILE, (), ())


@pytest.mark.parametrize(
    "kind, platform, version, expected",
    [
        (policy.EnrollmentType.USER, "ios", (13, 1), ProfileKind.USER_PROFILE),
        (policy.EnrollmentType.USER, "ios", (17, 7), ProfileKind.USER_PROFILE),
        (policy.EnrollmentType.USER, "ipados", (18, 0), "account_sign_in"),
        (policy.EnrollmentType.USER, "macos", (14, 6), ProfileKind.USER_PROFILE),
        (policy.EnrollmentType.USER, "macos", (15, 1), "account_sign_in"),
        (policy.EnrollmentType.DEVICE, "ios", (18, 2), ProfileKind.DEVICE_PROFILE),
        (policy.EnrollmentType.DEVICE, "macos", (10, 14), ProfileKind.DEVICE_PROFILE),
        (policy.EnrollmentType.MAM, "ios", (17, 0), "app_management"),
    ],
)
def test_web_profile_kind(kind, platform, version, expected):
    if isinstance(expected, ProfileKind):
        assert web_profile_kind(_decision(kind), platform, version) is expected
    else:
        with pytest.raises(NoProfileToDownload) as info:
            web_profile_kind(_decision(kind), platform, version)
        assert info.value.reason == expected


@pytest.fixture
def alice(seeded):
    with seeded.app_context():
        yield db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))


def _device(user: User, **values) -> Device:
    device = Device(
        user=user,
        platform="ios",
        enrollment_type=values.pop("enrollment_type", EnrollmentType.USER),
        enrollment_method=EnrollmentMethod.PROFILE,
        topic=TOPIC,
        **values,
    )
    db.session.add(device)
    db.session.flush()
    return device


@pytest.mark.parametrize("kind", list(ProfileKind))
def test_every_kind_of_profile_has_the_keys_apple_wants(alice, tmp_path, kind):
    settings = settings_for(tmp_path, use_development_apns=True)
    device = _device(alice)
    signed = build_signed_profile(settings, kind=kind, user=alice, device=device, secret="s3cr3t")
    profile = plistlib.loads(pki.unwrap_signed_data(signed.content))
    (mdm,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm"]
    required, forbidden = KIND_KEYS[kind]
    assert {"IdentityCertificateUUID", "Topic", "ServerURL", "CheckInURL"} <= mdm.keys()
    assert required <= mdm.keys() and not forbidden & mdm.keys()
    assert mdm.get("EnrollmentMode") == MODES.get(kind)
    assert mdm["Topic"] == TOPIC and mdm["UseDevelopmentAPNS"] is True
    assert mdm["ServerURL"] == "https://mdm.example.com/mdm/connect?e=s3cr3t"
    assert mdm["CheckInURL"] == "https://mdm.example.com/mdm/checkin?e=s3cr3t"
    identifier = profile_service.enrollment_profile_identifier(settings, device)
    assert profile["PayloadIdentifier"] == identifier
    assert identifier.startswith("com.example.mdm.enrollment.")


def test_a_web_download_with_the_default_pki_verifies_with_openssl(alice, tmp_path):
    settings = settings_for(tmp_path)
    signed = profile_service.download_profile(
        alice, platform="ios", os_version="16.2", settings=settings
    )
    path = tmp_path / "p.mobileconfig"
    path.write_bytes(signed.content)
    result = subprocess.run(
        [OPENSSL, "cms", "-verify", "-inform", "DER", "-binary", "-in", str(path),
         "-CAfile", str(tmp_path / "instance" / "pki" / "ca.pem"), "-out", str(tmp_path / "out")],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    profile = plistlib.loads((tmp_path / "out").read_bytes())
    assert profile["PayloadContent"][1]["ManagedAppleID"] == "alice@appleid.example.com"
    assert signed.device.status is DeviceStatus.PROFILE_DOWNLOADED


# --- the lifecycle -----------------------------------------------------------------------


@pytest.mark.parametrize("current", list(DeviceStatus))
@pytest.mark.parametrize("target", list(DeviceStatus))
def test_transitions_follow_the_table(alice, current, target):
    device = _device(alice, status=current)
    if target in lifecycle.ALLOWED[current]:
        entry = lifecycle.transition(device, target, action="test.move")
        assert device.status is target and entry.status == target.value
        if target is DeviceStatus.ENROLLED:
            assert device.enrolled_at is not None
    else:
        with pytest.raises(lifecycle.IllegalTransition):
            lifecycle.transition(device, target, action="test.move")
        assert device.status is current
        assert db.session.scalars(sa.select(DeviceLogEntry)).all() == []


def test_log_entries_carry_the_enrollment_id(alice):
    device = _device(alice, status=DeviceStatus.AUTHENTICATED, enrollment_id="E-1")
    entry = lifecycle.transition(device, DeviceStatus.ENROLLED, action="x", details={"a": 1})
    assert entry.details == {"a": 1, "enrollment_id": "E-1"}


def test_start_enrollment_reuses_only_a_pending_device(alice):
    args = dict(
        platform="ios",
        os_version="16.0",
        enrollment_type=EnrollmentType.USER,
        method=EnrollmentMethod.PROFILE,
        owner=DeviceOwner.COMPANY,
        topic=TOPIC,
    )
    first, secret = lifecycle.start_enrollment(alice, **args)
    again, other = lifecycle.start_enrollment(alice, **args)
    assert again is first and secret != other
    assert first.checkin_secret_hash == lifecycle.hash_secret(other)
    assert first.device_owner is DeviceOwner.EMPLOYEE  # User Enrollment: always personal
    first.status = DeviceStatus.ENROLLED
    new, _ = lifecycle.start_enrollment(alice, **args)
    assert new is not first
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.start_enrollment(alice, device=first, **args)
    macos, _ = lifecycle.start_enrollment(alice, **dict(args, platform="macos"))
    assert macos is not new


def test_enrollment_status_follows_the_latest_device(alice):
    assert lifecycle.enrollment_status(alice).status is None
    assert lifecycle.enrollment_status(alice).step == 0
    old = _device(alice, status=DeviceStatus.UNENROLLED)
    assert lifecycle.enrollment_status(alice).device_id == old.id
    device = _device(alice, status=DeviceStatus.AUTHENTICATED)
    lifecycle.transition(device, DeviceStatus.ENROLLED, action="checkin.token_update")
    status = lifecycle.enrollment_status(alice)
    assert (status.device_id, status.step, status.is_enrolled) == (device.id, 3, True)
    assert status.changed_at is not None
    assert lifecycle.enrollment_status(alice, platform="macos").status is None
