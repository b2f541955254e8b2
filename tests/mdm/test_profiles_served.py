"""GET /enroll/profile: the right kind of profile, signed, for the signed-in person."""

from __future__ import annotations

import hashlib
import plistlib
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from portal.extensions import db
from portal.models import DeviceLogEntry, DeviceStatus, EnrollmentMethod, EnrollmentType, User

from .support import BASE, DATA, mdm_payload, only_device, profile_of, secret_of, sign_in

OPENSSL = "/usr/bin/openssl"
# notes/apple-mdm.md: what every com.apple.mdm payload carries.
REQUIRED = {"IdentityCertificateUUID", "Topic", "ServerURL"}
ALWAYS = REQUIRED | {"CheckInURL", "ServerCapabilities", "CheckOutWhenRemoved"}


def check_common(profile: dict) -> dict:
    assert profile["PayloadType"] == "Configuration"
    payload = mdm_payload(profile)
    assert ALWAYS <= payload.keys()
    assert payload["Topic"].startswith("com.apple.mgmt.")
    for key in ("ServerURL", "CheckInURL"):
        url = urlsplit(payload[key])
        assert (url.scheme, url.netloc) == ("https", urlsplit(BASE).netloc)
    assert urlsplit(payload["ServerURL"]).path == "/mdm/connect"
    assert urlsplit(payload["CheckInURL"]).path == "/mdm/checkin"
    assert payload["CheckOutWhenRemoved"] is True
    (identity,) = [
        p
        for p in profile["PayloadContent"]
        if p["PayloadUUID"] == payload["IdentityCertificateUUID"]
    ]
    assert identity["PayloadType"] == "com.apple.security.pkcs12"
    return payload


def test_user_enrollment_profile_on_ios_17(seeded, download):
    response, profile = download("alice@example.com", "ios", "17.5")
    assert response.mimetype == "application/x-apple-aspen-config"
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="Example-Corp-enrollment.mobileconfig"'
    assert response.headers["Cache-Control"] == "no-store"
    payload = check_common(profile)
    assert payload["ManagedAppleID"] == "alice@appleid.example.com"
    assert not {"AccessRights", "EnrollmentMode", "AssignedManagedAppleID"} & payload.keys()
    assert "com.apple.mdm.bootstraptoken" not in payload["ServerCapabilities"]


def test_device_enrollment_profile_matches_the_real_one(seeded, download):
    _response, profile = download("bob@example.com", "macos", "14.5")
    payload = check_common(profile)
    assert payload["AccessRights"] == 8191
    assert not {"ManagedAppleID", "EnrollmentMode", "AssignedManagedAppleID"} & payload.keys()
    real = plistlib.loads((DATA / "enroll-de.mobileconfig").read_bytes())
    (real_mdm,) = [p for p in real["PayloadContent"] if p["PayloadType"] == "com.apple.mdm"]
    assert real_mdm.keys() <= payload.keys()


def test_an_os_too_old_for_user_enrollment_gets_device_enrollment(seeded, download):
    _response, profile = download("alice@example.com", "ios", "12.4")
    assert mdm_payload(profile)["AccessRights"] == 8191


def test_the_download_creates_a_pending_device_with_a_hashed_secret(seeded, download):
    _response, profile = download("alice@example.com", "ipados", "16.0")
    secret = secret_of(profile)
    assert len(secret) >= 43
    assert secret_of(profile) in mdm_payload(profile)["ServerURL"]
    with seeded.app_context():
        device = only_device("alice@example.com")
        assert device.status is DeviceStatus.PROFILE_DOWNLOADED
        assert device.enrollment_type is EnrollmentType.USER
        assert device.enrollment_method is EnrollmentMethod.PROFILE
        assert device.checkin_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert device.topic == mdm_payload(profile)["Topic"]
        entry = db.session.scalars(sa.select(DeviceLogEntry)).one()
        assert entry.action == "profile.downloaded"
        assert entry.details["profile"] == "user_profile"
        assert secret not in str(entry.details)


def test_the_profile_verifies_with_openssl(seeded, download, mdm_pki, tmp_path):
    response, profile = download("alice@example.com", "ios", "16.4")
    signed = tmp_path / "profile.mobileconfig"
    signed.write_bytes(response.data)
    result = subprocess.run(
        [OPENSSL, "cms", "-verify", "-inform", "DER", "-binary", "-in", str(signed),
         "-CAfile", mdm_pki["MDM_CA_CERT"], "-out", str(tmp_path / "content")],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert plistlib.loads((tmp_path / "content").read_bytes()) == profile


def test_each_enrollment_gets_its_own_identity_from_the_ca(seeded, download, mdm_pki):
    ca = x509.load_pem_x509_certificate(Path(mdm_pki["MDM_CA_CERT"]).read_bytes())
    serials = set()
    for platform in ("ios", "macos"):
        _response, profile = download("alice@example.com", platform, "13.0")
        (identity,) = [
            p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.pkcs12"
        ]
        key, cert, extra = pkcs12.load_key_and_certificates(
            identity["PayloadContent"], identity["Password"].encode()
        )
        assert key is not None and extra == [ca]
        cert.verify_directly_issued_by(ca)
        serials.add(cert.serial_number)
    assert len(serials) == 2


def test_special_characters_make_a_valid_profile(app_factory, mdm_pki, client_for_user):
    odd_org = 'Tom & Jerry\'s <"Cats"> Ltd'
    odd_id = 'o"brien&<x>@appleid.example.com'
    client = client_for_user(odd_org, odd_id)
    response = client.get("/enroll/profile", query_string={"platform": "ios", "os": "16.0"})
    assert response.status_code == 200
    profile = profile_of(response)
    assert profile["PayloadOrganization"] == odd_org
    assert mdm_payload(profile)["ManagedAppleID"] == odd_id
    assert response.headers["Content-Disposition"].endswith(
        '"Tom-Jerry-s-Cats-Ltd-enrollment.mobileconfig"'
    )


@pytest.fixture
def client_for_user(app_factory, mdm_pki):
    def make(org_name: str, apple_id: str):
        from portal import demo

        app = app_factory(PUBLIC_BASE_URL=BASE, ORG_NAME=org_name, **mdm_pki)
        with app.app_context():
            demo.seed("testing")
            alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
            alice.managed_apple_id = apple_id
            alice.display_name = 'Alice "&" <Martin>'
            db.session.commit()
        client = app.test_client()
        sign_in(client, "alice@example.com")
        return client

    return make


def test_ios_18_user_enrollment_has_no_profile_to_download(seeded, client, auth):
    auth.login("alice@example.com")
    response = client.get("/enroll/profile", query_string={"platform": "ios", "os": "18.1"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Settings › General › VPN & Device Management" in page
    assert "Sign in to work or school account" in page
    response = client.get("/enroll/profile", query_string={"platform": "macos", "os": "15.0"})
    assert response.status_code == 409
    assert "System Settings › General › Device Management" in response.get_data(as_text=True)
    with seeded.app_context():
        from portal.models import Device, EnrollmentDecision

        assert db.session.scalars(sa.select(Device)).all() == []
        assert len(db.session.scalars(sa.select(EnrollmentDecision)).all()) == 2


@pytest.mark.parametrize(
    "query, message",
    [
        ({"platform": "android", "os": "14"}, "Choose a platform"),
        ({"platform": "ios", "os": "eighteen"}, "Enter an OS version"),
        ({}, "Choose a platform"),
    ],
)
def test_bad_device_details_get_a_400_page(seeded, client, auth, query, message):
    auth.login("alice@example.com")
    response = client.get("/enroll/profile", query_string=query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_production_without_a_push_topic_says_so(seeded, client, auth, caplog):
    auth.login("alice@example.com")
    seeded.config["PORTAL_ENV"] = "production"
    response = client.get("/enroll/profile", query_string={"platform": "ios", "os": "16.0"})
    assert response.status_code == 503
    assert "Enrollment is not available yet" in response.get_data(as_text=True)
    assert "MDM_PUSH_TOPIC is not set" in caplog.text
    seeded.config["MDM_PUSH_TOPIC"] = "com.apple.mgmt.External.11111111-2222-3333-4444-555555555555"
    response = client.get("/enroll/profile", query_string={"platform": "ios", "os": "16.0"})
    assert response.status_code == 200
    assert mdm_payload(profile_of(response))["Topic"] == seeded.config["MDM_PUSH_TOPIC"]


def test_signed_out_people_are_sent_to_sign_in(seeded, client):
    response = client.get("/enroll/profile?platform=ios&os=16.0")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("email", ["helen@example.com", "adam@example.com"])
def test_every_role_can_download_its_own_profile(seeded, client, auth, email):
    auth.login(email)
    response = client.get("/enroll/profile", query_string={"platform": "ios", "os": "17.0"})
    assert response.status_code == 200
