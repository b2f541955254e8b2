"""Tests for portal.enrollment.profiles: enrollment profile contents, escaping and validation."""

from __future__ import annotations

import dataclasses
import plistlib
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from portal.enrollment.pki import (
    create_ca,
    create_signing_identity,
    identity_pkcs12,
    issue_identity,
    sign_profile,
    unwrap_signed_data,
)
from portal.enrollment.profiles import (
    ACCESS_RIGHTS_ALL,
    EnrollmentProfileSpec,
    ProfileError,
    ProfileKind,
    build_enrollment_profile,
    payload_uuids,
    profile_filename,
    profile_identifier,
)

P12 = b"\x30\x82fake-p12-bytes\x00\xff"
USER_KINDS = [ProfileKind.USER_PROFILE, ProfileKind.USER_ACCOUNT]
DEVICE_KINDS = [ProfileKind.DEVICE_PROFILE, ProfileKind.DEVICE_ACCOUNT]
# The com.apple.mdm keys of the real nanomdm Device Enrollment profile
# (shared/data/mdm/enroll-de.mobileconfig), minus the SCEP-specific parts.
REAL_DE_MDM_KEYS = {
    "AccessRights",
    "CheckOutWhenRemoved",
    "IdentityCertificateUUID",
    "PayloadIdentifier",
    "PayloadType",
    "PayloadUUID",
    "PayloadVersion",
    "ServerCapabilities",
    "ServerURL",
    "SignMessage",
    "Topic",
}


def make_spec(
    kind: ProfileKind = ProfileKind.USER_ACCOUNT, **changes: Any
) -> EnrollmentProfileSpec:
    spec = EnrollmentProfileSpec(
        kind=kind,
        organization="Example Corp",
        identifier_prefix="com.example.portal",
        server_url="https://mdm.example.com/mdm/connect",
        checkin_url="https://mdm.example.com/mdm/checkin?e=abc",
        topic="com.apple.mgmt.External.1b2c3d4e-0000-4000-8000-000000000001",
        enrollment_key="enrollment-42",
        identity_p12=P12,
        identity_password="p12-password",
        managed_apple_id="alice@appleid.example.com",
        display_name="Example Corp work enrollment",
        description="Lets Example Corp manage work data on this device.",
    )
    return dataclasses.replace(spec, **changes)


def parse(spec: EnrollmentProfileSpec) -> dict[str, Any]:
    profile = plistlib.loads(build_enrollment_profile(spec))
    assert isinstance(profile, dict)
    return profile


def payloads(profile: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    by_type = {payload["PayloadType"]: payload for payload in profile["PayloadContent"]}
    assert len(by_type) == len(profile["PayloadContent"]) == 2
    return by_type["com.apple.security.pkcs12"], by_type["com.apple.mdm"]


# --- structure ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ProfileKind))
def test_every_kind_is_a_configuration_profile(kind: ProfileKind) -> None:
    spec = make_spec(kind)
    data = build_enrollment_profile(spec)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    profile = plistlib.loads(data)
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    assert profile["PayloadDisplayName"] == spec.display_name
    assert profile["PayloadDescription"] == spec.description
    assert profile["PayloadOrganization"] == "Example Corp"
    # Apple forbids it under User Enrollment on iOS and iPadOS (see test_apple_conformance).
    assert "PayloadRemovalDisallowed" not in profile
    assert profile["PayloadIdentifier"].startswith("com.example.portal.")
    assert "PayloadScope" not in profile
    uuid.UUID(profile["PayloadUUID"])

    identity, mdm = payloads(profile)
    assert identity["PayloadContent"] == P12
    assert identity["Password"] == "p12-password"
    assert mdm["IdentityCertificateUUID"] == identity["PayloadUUID"]
    assert mdm["ServerURL"] == spec.server_url
    assert mdm["CheckInURL"] == spec.checkin_url
    assert mdm["Topic"] == spec.topic
    assert mdm["CheckOutWhenRemoved"] is True
    assert mdm["SignMessage"] is False
    assert "UseDevelopmentAPNS" not in mdm
    assert REAL_DE_MDM_KEYS - {"AccessRights"} <= set(mdm)
    uuids = {profile["PayloadUUID"], identity["PayloadUUID"], mdm["PayloadUUID"]}
    assert len(uuids) == 3
    identifiers = {profile["PayloadIdentifier"], identity["PayloadIdentifier"]}
    assert len(identifiers | {mdm["PayloadIdentifier"]}) == 3
    for payload in (identity, mdm):
        assert payload["PayloadVersion"] == 1
        assert payload["PayloadIdentifier"].startswith(profile["PayloadIdentifier"] + ".")


def test_profile_based_user_enrollment() -> None:
    _, mdm = payloads(parse(make_spec(ProfileKind.USER_PROFILE)))
    assert mdm["ManagedAppleID"] == "alice@appleid.example.com"
    for absent in ("EnrollmentMode", "AssignedManagedAppleID", "AccessRights"):
        assert absent not in mdm
    assert mdm["ServerCapabilities"] == ["com.apple.mdm.per-user-connections"]


def test_account_driven_user_enrollment() -> None:
    _, mdm = payloads(parse(make_spec(ProfileKind.USER_ACCOUNT)))
    assert mdm["EnrollmentMode"] == "BYOD"
    assert mdm["AssignedManagedAppleID"] == "alice@appleid.example.com"
    assert "ManagedAppleID" not in mdm
    assert "AccessRights" not in mdm
    assert mdm["ServerCapabilities"] == ["com.apple.mdm.per-user-connections"]


def test_profile_based_device_enrollment_matches_the_real_profile() -> None:
    _, mdm = payloads(parse(make_spec(ProfileKind.DEVICE_PROFILE)))
    assert set(mdm) >= REAL_DE_MDM_KEYS
    assert mdm["AccessRights"] == ACCESS_RIGHTS_ALL == 8191
    for absent in ("EnrollmentMode", "AssignedManagedAppleID", "ManagedAppleID"):
        assert absent not in mdm
    assert mdm["ServerCapabilities"] == [
        "com.apple.mdm.per-user-connections",
        "com.apple.mdm.bootstraptoken",
    ]


def test_profile_based_device_enrollment_needs_no_managed_apple_id() -> None:
    _, mdm = payloads(parse(make_spec(ProfileKind.DEVICE_PROFILE, managed_apple_id=None)))
    assert "ManagedAppleID" not in mdm


def test_account_driven_device_enrollment() -> None:
    _, mdm = payloads(parse(make_spec(ProfileKind.DEVICE_ACCOUNT)))
    assert mdm["EnrollmentMode"] == "ADDE"
    assert mdm["AssignedManagedAppleID"] == "alice@appleid.example.com"
    assert mdm["AccessRights"] == 8191
    assert "ManagedAppleID" not in mdm
    assert "com.apple.mdm.bootstraptoken" in mdm["ServerCapabilities"]


@pytest.mark.parametrize("kind", USER_KINDS)
def test_user_enrollment_never_has_access_rights(kind: ProfileKind) -> None:
    data = build_enrollment_profile(make_spec(kind))
    assert b"AccessRights" not in data
    assert b"bootstraptoken" not in data


def test_kind_accepts_its_string_value() -> None:
    _, mdm = payloads(parse(make_spec("user_account")))  # type: ignore[arg-type]
    assert mdm["EnrollmentMode"] == "BYOD"
    assert ProfileKind("device_profile") is ProfileKind.DEVICE_PROFILE
    assert ProfileKind.USER_PROFILE.is_user_enrollment
    assert not ProfileKind.DEVICE_ACCOUNT.is_user_enrollment
    assert ProfileKind.DEVICE_ACCOUNT.is_account_driven


def test_development_apns_flag() -> None:
    _, mdm = payloads(parse(make_spec(use_development_apns=True)))
    assert mdm["UseDevelopmentAPNS"] is True


# --- stable identifiers ----------------------------------------------------------


def _identifiers(profile: dict[str, Any]) -> list[str]:
    identity, mdm = payloads(profile)
    return [
        profile["PayloadUUID"],
        profile["PayloadIdentifier"],
        identity["PayloadUUID"],
        identity["PayloadIdentifier"],
        mdm["PayloadUUID"],
        mdm["PayloadIdentifier"],
    ]


def test_identifiers_are_stable_per_enrollment_key() -> None:
    first = _identifiers(parse(make_spec()))
    again = _identifiers(parse(make_spec(display_name="Renamed", identity_p12=b"other")))
    other = _identifiers(parse(make_spec(enrollment_key="enrollment-43")))
    assert first == again
    assert not set(first) & set(other)
    assert build_enrollment_profile(make_spec()) == build_enrollment_profile(make_spec())


def test_identifiers_do_not_reveal_the_enrollment_key() -> None:
    secret = "s3cret-checkin-token"
    data = build_enrollment_profile(make_spec(enrollment_key=secret))
    assert secret.encode() not in data


def test_exposed_identifier_helpers_match_the_profile() -> None:
    profile = parse(make_spec())
    identity, mdm = payloads(profile)
    uuids = payload_uuids("com.example.portal", "enrollment-42")
    assert (uuids.profile, uuids.identity, uuids.mdm) == (
        profile["PayloadUUID"],
        identity["PayloadUUID"],
        mdm["PayloadUUID"],
    )
    assert uuids.profile == uuids.profile.upper()
    assert profile_identifier("com.example.portal", "enrollment-42") == profile["PayloadIdentifier"]


# --- escaping -------------------------------------------------------------------------


def test_special_characters_come_back_exactly() -> None:
    nasty = 'Smith & "Sons" <Ltd> ]]> é'
    spec = make_spec(
        organization=nasty,
        display_name=f"{nasty} work enrollment",
        description=f"</string><key>AccessRights</key><integer>8191</integer> {nasty}",
        identity_password='pa&ss<w>o"rd',
        managed_apple_id='o"brien&<x>@appleid.example.com',
    )
    data = build_enrollment_profile(spec)
    profile = plistlib.loads(data)
    identity, mdm = payloads(profile)
    assert profile["PayloadOrganization"] == nasty
    assert profile["PayloadDisplayName"] == f"{nasty} work enrollment"
    assert profile["PayloadDescription"] == spec.description
    assert identity["Password"] == 'pa&ss<w>o"rd'
    assert mdm["AssignedManagedAppleID"] == spec.managed_apple_id
    assert "AccessRights" not in mdm
    assert b"&amp;" in data and b"&lt;" in data


def test_control_characters_are_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="plist"):
        build_enrollment_profile(make_spec(description="bell\x07"))


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"topic": "com.example.push"}, "topic"),
        ({"topic": "com.apple.mgmt."}, "topic"),
        ({"topic": "com.apple.mgmt.External. x"}, "topic"),
        ({"server_url": "http://mdm.example.com/mdm"}, "server_url"),
        ({"checkin_url": "http://mdm.example.com/checkin"}, "checkin_url"),
        ({"server_url": "ftp://mdm.example.com/mdm"}, "server_url"),
        ({"server_url": "/mdm/connect"}, "server_url"),
        ({"checkin_url": "https://[::1/checkin"}, "checkin_url"),
        ({"checkin_url": "https://mdm.example.com:99999/checkin"}, "checkin_url"),
        ({"managed_apple_id": None}, "Managed Apple ID"),
        ({"managed_apple_id": ""}, "Managed Apple ID"),
        ({"managed_apple_id": "alice"}, "Managed Apple ID"),
        ({"identifier_prefix": "portal"}, "identifier_prefix"),
        ({"identifier_prefix": "com.example portal"}, "identifier_prefix"),
        ({"enrollment_key": ""}, "enrollment_key"),
        ({"identity_p12": b""}, "identity_p12"),
        ({"identity_password": ""}, "identity_password"),
        ({"organization": " "}, "organization"),
        ({"display_name": ""}, "display_name"),
        ({"kind": "mam"}, "kind"),
    ],
)
def test_bad_specs_raise_profile_error(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        build_enrollment_profile(make_spec(**changes))


@pytest.mark.parametrize("kind", [*USER_KINDS, ProfileKind.DEVICE_ACCOUNT])
def test_kinds_naming_the_account_require_a_managed_apple_id(kind: ProfileKind) -> None:
    with pytest.raises(ProfileError, match=kind.value):
        build_enrollment_profile(make_spec(kind, managed_apple_id=None))


def test_profile_error_is_a_value_error() -> None:
    assert issubclass(ProfileError, ValueError)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST"])
def test_plain_http_is_allowed_for_local_development(host: str) -> None:
    spec = make_spec(server_url=f"http://{host}:5000/mdm", checkin_url=f"http://{host}/checkin")
    _, mdm = payloads(parse(spec))
    assert mdm["ServerURL"] == spec.server_url


# --- file name -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("organization", "expected"),
    [
        ("Example Corp", "Example-Corp-enrollment.mobileconfig"),
        ('Société Générale & <Fils> "SA"', "Societe-Generale-Fils-SA-enrollment.mobileconfig"),
        ("../../etc/passwd", "etc-passwd-enrollment.mobileconfig"),
        ("株式会社", "enrollment.mobileconfig"),
        ("", "enrollment.mobileconfig"),
    ],
)
def test_profile_filename(organization: str, expected: str) -> None:
    assert profile_filename(organization) == expected


def test_profile_filename_is_bounded_ascii() -> None:
    name = profile_filename("A" * 500 + '\r\n"; filename*=x')
    assert name.isascii() and name.endswith(".mobileconfig")
    assert len(name) <= 100
    assert all(ch.isalnum() or ch in "-." for ch in name)


# --- end to end: the identity and the signature -------------------------------------------


def test_signed_profile_carries_a_usable_identity_and_verifies(tmp_path: Path) -> None:
    ca = create_ca("Example Portal CA")
    cert, key = issue_identity(ca, "enrollment-42")
    p12 = identity_pkcs12(cert, key, ca.certificate, b"p12-password", b"Example Corp MDM")
    spec = make_spec(ProfileKind.USER_PROFILE, identity_p12=p12)
    unsigned = build_enrollment_profile(spec)

    identity, _ = payloads(plistlib.loads(unsigned))
    loaded_key, loaded_cert, _ = pkcs12.load_key_and_certificates(
        identity["PayloadContent"], identity["Password"].encode()
    )
    assert loaded_cert == cert
    assert loaded_key is not None

    signer_cert, signer_key = create_signing_identity(ca, "Example Portal signing")
    signed = sign_profile(unsigned, signer_cert, signer_key, [ca.certificate])
    assert unwrap_signed_data(signed) == unsigned

    (tmp_path / "profile.mobileconfig").write_bytes(signed)
    (tmp_path / "ca.pem").write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    command = [
        "/usr/bin/openssl", "cms", "-verify", "-inform", "DER", "-binary",
        "-in", str(tmp_path / "profile.mobileconfig"), "-CAfile", str(tmp_path / "ca.pem"),
        "-out", str(tmp_path / "verified.plist"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "verified.plist").read_bytes() == unsigned

    tampered = bytearray(signed)
    tampered[bytes(signed).index(b"Example Corp work enrollment")] ^= 0x20
    (tmp_path / "profile.mobileconfig").write_bytes(bytes(tampered))
    result = subprocess.run(command, capture_output=True, check=False)
    assert result.returncode != 0
