"""Account-driven User Enrollment as an iPhone on iOS 18 plays it, end to end."""

from __future__ import annotations

import json
import plistlib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal.enrollment import pki
from portal.enrollment.lifecycle import enrollment_status
from portal.extensions import db
from portal.models import (
    Device,
    DeviceLogEntry,
    DeviceStatus,
    EnrollmentDecision,
    EnrollmentMethod,
    Group,
    MDMAccessToken,
    User,
    utcnow,
)

from .support import (
    BASE,
    CHALLENGE,
    DATA,
    DeviceClient,
    load,
    mdm_payload,
    only_device,
    profile_of,
    refusals,
    snapshot,
)

ALICE_APPLE_ID = "alice@appleid.example.com"
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1"
)
CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@pytest.fixture(scope="module")
def device_identity():
    """Stands in for the device's built-in identity (its Apple CA is not ours either)."""
    ca = pki.create_ca("Test device CA")
    return pki.create_signing_identity(ca, "Test iPhone")


def machine_info(identity, **values) -> bytes:
    """The first POST's body: MachineInfo keys, CMS-signed by the device."""
    info = {"LANGUAGE": "en-US", "PRODUCT": "iPhone12,1", "VERSION": "22C161"}
    info.update(OS_VERSION="18.2.1", **values)
    cert, key = identity
    return pki.sign_profile(plistlib.dumps(info), cert, key, [])


def post_enroll(client, body: bytes, bearer: str | None = None, **kwargs):
    headers = {"User-Agent": "DeviceManagementClient/1.0"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    kwargs.setdefault("content_type", "application/pkcs7-signature")
    return client.post("/mdm/enroll", data=body, headers=headers, **kwargs)


def web_sign_in(client, url: str, email: str, password: str = "demo-password"):
    """The device's web view: follow the sign-in page back to `url`; returns the last answer."""
    response = client.get(url, headers={"User-Agent": IPHONE_UA})
    assert response.status_code == 302
    login = response.headers["Location"]
    assert login.startswith("/login?next=")
    page = client.get(login).get_data(as_text=True)
    next_value = parse_qs(urlsplit(login).query)["next"][0]
    assert f'value="{next_value}"' in page.replace("&amp;", "&")
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "next": next_value,
            "csrf_token": CSRF_RE.search(page).group(1),
        },
    )
    assert response.status_code == 302
    back = response.headers["Location"]
    assert back == url.removeprefix(BASE)
    return client.get(back, headers={"User-Agent": IPHONE_UA})


def access_token(response) -> str:
    assert response.status_code == 308
    location = response.headers["Location"]
    prefix = "apple-remotemanagement-user-login://authentication-results?access-token="
    assert location.startswith(prefix)
    return location.removeprefix(prefix)


def test_account_driven_enrollment_as_an_iphone_on_ios_18(seeded, client, device_identity):
    # 1. Discovery, on the domain of the account typed in Settings.
    response = client.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": ALICE_APPLE_ID, "model-family": "iPhone"},
    )
    assert response.status_code == 200
    document = response.get_json()
    sample = json.loads((DATA / "discovery-mdm-byod.json").read_text())
    assert document.keys() == sample.keys()
    assert document["Servers"][0].keys() == sample["Servers"][0].keys()
    assert document == {"Servers": [{"Version": "mdm-byod", "BaseURL": f"{BASE}/mdm/enroll"}]}

    # 2. The first POST: a signed plist, no bearer → the exact challenge.
    body = machine_info(device_identity)
    response = post_enroll(client, body)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    with seeded.app_context():
        assert refusals() == []  # the protocol's first step is not a refusal

    # 3. The web sign-in, through the ordinary sign-in page, ends in a 308.
    auth_url = f"{BASE}/mdm/enroll/auth?user-identifier={ALICE_APPLE_ID}"
    browser = seeded.test_client()
    token = access_token(web_sign_in(browser, auth_url, "alice@example.com"))
    assert len(token) >= 43
    with seeded.app_context():
        row = db.session.scalars(sa.select(MDMAccessToken)).one()
        assert row.token_hash != token and len(row.token_hash) == 64
        assert row.device_id is None

    # 4. The POST again with the bearer: the account-driven User Enrollment profile.
    response = post_enroll(client, body, bearer=token)
    assert response.status_code == 200
    assert response.mimetype == "application/x-apple-aspen-config"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    payload = mdm_payload(profile_of(response))
    assert payload["EnrollmentMode"] == "BYOD"
    assert payload["AssignedManagedAppleID"] == ALICE_APPLE_ID
    assert "AccessRights" not in payload and "ManagedAppleID" not in payload
    with seeded.app_context():
        device = only_device("alice@example.com")
        assert device.status is DeviceStatus.PROFILE_DOWNLOADED
        assert device.enrollment_method is EnrollmentMethod.ACCOUNT_DRIVEN
        assert (device.platform, device.os_version) == ("ios", "18.2.1")
        assert db.session.scalars(sa.select(MDMAccessToken)).one().device_id == device.id

    # 5. Check-in with the real UE captures (Topic adjusted), bearer on every request.
    secret = parse_qs(urlsplit(payload["CheckInURL"]).query)["e"][0]
    iphone = DeviceClient(seeded.test_client(), secret=secret, bearer=token)
    topic = payload["Topic"]
    assert iphone.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert iphone.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    assert iphone.connect(load("result-idle-ue-ios.plist")).status_code == 200

    with seeded.app_context():
        device = only_device("alice@example.com")
        assert device.status is DeviceStatus.ENROLLED
        assert device.enrollment_id == "FB833D84-50C0-41DD-99DE-F748E44FFEF5"
        assert device.udid is None and device.serial_number is None
        actions = db.session.scalars(
            sa.select(DeviceLogEntry.action)
            .where(DeviceLogEntry.device_id == device.id)
            .order_by(DeviceLogEntry.id)
        ).all()
        assert actions == ["profile.downloaded", "checkin.authenticate", "checkin.token_update"]
        user = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        status = enrollment_status(user)
        assert status.is_enrolled and status.step == 3 and status.device_id == device.id
        assert refusals() == []


def test_the_trace_challenge_has_the_same_form(seeded, client, device_identity):
    trace = (DATA / "account-driven-trace.txt").read_text()
    captured = re.search(r"Www-Authenticate\t(Bearer .*)", trace).group(1)
    ours = post_enroll(client, machine_info(device_identity)).headers["WWW-Authenticate"]
    pattern = r'Bearer method="apple-as-web",? url="[^"]+/mdm/(sso|enroll/auth)"'
    assert re.fullmatch(pattern, captured) and re.fullmatch(pattern, ours)


@pytest.fixture
def signed_in_token(seeded, device_identity):
    """Alice signed in on the device's web view: her access token."""

    def issue(email: str = "alice@example.com") -> str:
        browser = seeded.test_client()
        url = f"{BASE}/mdm/enroll/auth?user-identifier={email}"
        return access_token(web_sign_in(browser, url, email))

    return issue


def test_the_decision_survives_the_sign_in_round_trip(
    seeded, client, signed_in_token, device_identity
):
    token = signed_in_token()
    # Alice's group changes while her phone is between sign-in and profile: the phone
    # came as personal, so it gets User Enrollment or nothing, never company-owned.
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        alice.groups = []
        db.session.commit()
        before = snapshot()
    response = post_enroll(client, machine_info(device_identity), bearer=token)
    assert response.status_code == 403
    with seeded.app_context():
        assert snapshot() == before
        assert refusals()[-1]["reason"] == "no_longer_user_enrollment"


def test_a_retried_post_reuses_the_device_and_other_bodies_work(
    seeded, client, signed_in_token, device_identity
):
    token = signed_in_token()
    xml = plistlib.dumps({"PRODUCT": "iPhone12,1", "VERSION": "22C161", "OS_VERSION": "18.1"})
    first = post_enroll(client, xml, bearer=token, content_type="application/xml")
    assert first.status_code == 200
    again = post_enroll(client, xml, bearer=token, content_type="application/x-www-form-urlencoded")
    assert again.status_code == 200
    with seeded.app_context():
        device = only_device("alice@example.com")
        assert device.os_version == "18.1"
        assert [e.action for e in db.session.scalars(sa.select(DeviceLogEntry))] == [
            "profile.downloaded",
            "profile.downloaded",
        ]
        decisions = db.session.scalars(sa.select(EnrollmentDecision)).all()
        assert {(d.channel, d.asked_via, d.enrollment_type) for d in decisions} == {
            ("account", "mdm", "user")
        }
    old = mdm_payload(profile_of(first))["CheckInURL"]
    new = mdm_payload(profile_of(again))["CheckInURL"]
    assert old != new  # a fresh secret; only the latest works


def test_an_expired_or_unknown_token_is_challenged_again(
    seeded, client, signed_in_token, device_identity
):
    body = machine_info(device_identity)
    response = post_enroll(client, body, bearer="00000000-0000-0000-0000-00000000cccc")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    token = signed_in_token()
    with seeded.app_context():
        row = db.session.scalars(sa.select(MDMAccessToken)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        before = snapshot()
    response = post_enroll(client, body, bearer=token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    with seeded.app_context():
        assert snapshot() == before
        assert [r["reason"] for r in refusals()] == ["unknown_token", "token_not_live"]


def test_a_revoked_token_no_longer_binds_the_device(
    seeded, client, signed_in_token, device_identity
):
    token = signed_in_token()
    payload = mdm_payload(profile_of(post_enroll(client, machine_info(device_identity), token)))
    secret = parse_qs(urlsplit(payload["CheckInURL"]).query)["e"][0]
    topic = payload["Topic"]
    iphone = DeviceClient(seeded.test_client(), secret=secret, bearer=token)
    assert iphone.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    with seeded.app_context():
        db.session.scalars(sa.select(MDMAccessToken)).one().revoked_at = utcnow()
        db.session.commit()
        before = snapshot()
    message = load("ios-ue-tokenupdate.plist", Topic=topic)
    assert iphone.checkin(message).status_code == 403
    # Without the bearer (as the macOS device channel sends), the secret alone is not enough.
    iphone.bearer = None
    assert iphone.checkin(message).status_code == 403
    with seeded.app_context():
        assert snapshot() == before
        assert [r["reason"] for r in refusals()] == ["revoked_token", "no_live_token"]


def test_check_out_revokes_the_token(seeded, client, signed_in_token, device_identity):
    token = signed_in_token()
    payload = mdm_payload(profile_of(post_enroll(client, machine_info(device_identity), token)))
    secret = parse_qs(urlsplit(payload["CheckInURL"]).query)["e"][0]
    topic = payload["Topic"]
    iphone = DeviceClient(seeded.test_client(), secret=secret, bearer=token)
    authenticate = load("ios-ue-authenticate.plist", Topic=topic)
    token_update = load("ios-ue-tokenupdate.plist", Topic=topic)
    checkout = load(
        "ios-de-checkout.plist", Topic=topic, UDID=None, EnrollmentID=authenticate["EnrollmentID"]
    )
    for message in (authenticate, token_update, checkout):
        assert iphone.checkin(message).status_code == 200
    with seeded.app_context():
        assert db.session.scalars(sa.select(MDMAccessToken)).one().revoked_at is not None
        before = snapshot()
    assert iphone.checkin(token_update).status_code == 403
    assert post_enroll(client, machine_info(device_identity), bearer=token).status_code == 401
    with seeded.app_context():
        assert snapshot() == before


# --- discovery and the sign-in page ----------------------------------------------------


def _discover(client, identifier, family="iPhone"):
    return client.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": identifier, "model-family": family},
    )


@pytest.mark.parametrize("family", ["iPhone", "iPad", "Mac"])
def test_discovery_answers_for_every_model_family(seeded, client, family):
    for identifier in ("alice@example.com", "ALICE@appleid.example.com"):
        assert _discover(client, identifier, family).status_code == 200


def test_discovery_refuses_without_saying_why(seeded, client):
    with seeded.app_context():
        org_id = db.session.scalar(sa.select(User.org_id).limit(1))
        group = db.session.scalar(sa.select(Group).where(Group.name == "User Enrollment"))
        db.session.add(
            User(
                org_id=org_id,
                email="eve@elsewhere.example",
                display_name="Eve",
                managed_apple_id="eve@appleid.elsewhere.example",
                groups=[group],
            )
        )
        db.session.commit()
    answers = [
        _discover(client, "nobody@example.com"),  # unknown
        _discover(client, "eve@elsewhere.example"),  # foreign domain
        _discover(client, "bob@example.com"),  # Device Enrollment
        _discover(client, "alice@example.com", "Watch"),  # unknown model family
        _discover(client, ""),
    ]
    assert {r.status_code for r in answers} == {403}
    assert len({r.data for r in answers}) == 1
    assert answers[0].get_json()["code"] == "com.apple.well-known.failed"
    with seeded.app_context():
        assert [r["reason"] for r in refusals()] == [
            "unknown_user",
            "foreign_domain",
            "not_user_enrollment",
            "unknown_model_family",
            # The second unknown_user within the minute is logged, not audited again.
        ]


def test_sign_in_as_someone_else_shows_a_sign_out_button(seeded, client, auth):
    auth.login("bob@example.com")
    response = client.get("/mdm/enroll/auth", query_string={"user-identifier": ALICE_APPLE_ID})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Another account is signed in" in page
    assert ALICE_APPLE_ID in page and "bob@example.com" in page
    assert 'action="/logout"' in page
    with seeded.app_context():
        assert db.session.scalars(sa.select(MDMAccessToken)).all() == []


def test_an_account_without_user_enrollment_gets_no_token(seeded, client, auth):
    auth.login("bob@example.com")
    response = client.get("/mdm/enroll/auth")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "This account cannot enroll a personal device" in page
    assert "not User Enrollment" in page  # the decision's reason
    with seeded.app_context():
        assert db.session.scalars(sa.select(MDMAccessToken)).all() == []


@pytest.mark.parametrize(
    "email, status",
    [("alice@example.com", 308), ("helen@example.com", 403), ("adam@example.com", 403)],
)
def test_the_sign_in_end_answers_by_decision_for_every_role(seeded, client, auth, email, status):
    auth.login(email)
    assert client.get("/mdm/enroll/auth").status_code == status


@pytest.mark.parametrize(
    "value, expected", [("fr-CA", "fr"), ("fr_FR", "fr"), ("en", "en"), ("de-DE", None), (3, None)]
)
def test_the_profile_speaks_the_devices_language_when_it_can(value, expected):
    from portal.mdm.enroll import device_language

    assert device_language({"LANGUAGE": value}, ("en", "fr")) == expected


def test_the_device_limit_applies_to_account_driven_enrollment(
    seeded, client, signed_in_token, device_identity
):
    seeded.config["MAX_DEVICES_PER_USER"] = 1
    token = signed_in_token()
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        db.session.add(
            Device(
                user_id=alice.id,
                platform="ios",
                enrollment_type="user",
                enrollment_method="account_driven",
                status="enrolled",
                enrolled_at=utcnow(),
            )
        )
        db.session.commit()
        before = snapshot()
    response = post_enroll(client, machine_info(device_identity), bearer=token)
    assert response.status_code == 403
    with seeded.app_context():
        assert snapshot() == before
        assert refusals()[-1]["reason"] == "device_limit_reached"
