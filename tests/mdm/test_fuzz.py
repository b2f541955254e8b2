"""Arbitrary bytes and plists at the device endpoints: always 4xx, never a change."""

from __future__ import annotations

import plistlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.enrollment import pki

from .support import DeviceClient, load, mdm_payload, snapshot

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = [
    "MessageType",
    "Topic",
    "EnrollmentID",
    "EnrollmentUserID",
    "UDID",
    "SerialNumber",
    "IMEI",
    "MEID",
    "Token",
    "PushMagic",
    "UnlockToken",
    "UserID",
    "OSVersion",
    "ProductName",
    "PRODUCT",
    "VERSION",
    "OS_VERSION",
]
scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.binary(max_size=40)
    | st.datetimes()
    | st.sampled_from(["Authenticate", "TokenUpdate", "CheckOut", "UserAuthenticate", "Idle"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
TOKEN_CHARS = st.characters(min_codepoint=33, max_codepoint=126)
messages = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), values, max_size=8)


def as_plist(message: dict, binary: bool) -> bytes:
    try:
        return plistlib.dumps(message, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)
    except (TypeError, ValueError, OverflowError):
        # XML cannot hold control characters: binary can.
        return plistlib.dumps(message, fmt=plistlib.FMT_BINARY)


@pytest.fixture
def enrolled(seeded, device_for):
    """An enrolled User Enrollment iPhone, and its topic."""
    device, profile = device_for("alice@example.com", "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device, topic


def unchanged(app, call):
    with app.app_context():
        before = snapshot()
    response = call()
    assert 400 <= response.status_code < 500, response.status_code
    with app.app_context():
        assert snapshot() == before


@FUZZ
@given(body=st.binary(max_size=2048))
def test_checkin_survives_arbitrary_bytes(seeded, enrolled, body):
    device, _topic = enrolled
    unchanged(seeded, lambda: device.checkin(body))


@FUZZ
@given(message=messages, binary=st.booleans(), with_topic=st.booleans())
def test_checkin_survives_arbitrary_plists(seeded, enrolled, message, binary, with_topic):
    device, topic = enrolled
    if with_topic:
        message = {**message, "Topic": topic}
    unchanged(seeded, lambda: device.checkin(as_plist(message, binary)))


@FUZZ
@given(body=st.binary(max_size=2048), bearer=st.none() | st.text(TOKEN_CHARS, min_size=1))
def test_enroll_survives_arbitrary_bytes(seeded, client, body, bearer):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    unchanged(seeded, lambda: client.post("/mdm/enroll", data=body, headers=headers))


@pytest.fixture(scope="module")
def signer():
    ca = pki.create_ca("Fuzz device CA")
    return pki.create_signing_identity(ca, "Fuzz device")


@FUZZ
@given(message=messages, binary=st.booleans(), signed=st.booleans())
def test_enroll_survives_arbitrary_plists(seeded, client, signer, message, binary, signed):
    body = as_plist(message, binary)
    if signed:
        body = pki.sign_profile(body, *signer, [])
    unchanged(
        seeded,
        lambda: client.post("/mdm/enroll", data=body, content_type="application/pkcs7-signature"),
    )


@FUZZ
@given(body=st.binary(max_size=1024) | messages.map(lambda m: as_plist(m, False)))
def test_connect_survives_arbitrary_bodies_without_credentials(seeded, client, body):
    device = DeviceClient(client)
    unchanged(seeded, lambda: device.connect(body))
