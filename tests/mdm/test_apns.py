"""Real MDM pushes: HTTP/2 to a stand-in APNs that checks the uploaded push certificate."""

from __future__ import annotations

import datetime
import logging
import socket
import tempfile
import time

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from portal import config as portal_config
from portal.apple import push_cert
from portal.extensions import db, limiter
from portal.mdm import apns as apns_module
from portal.mdm import commands, push
from portal.models import DeviceLogEntry, MDMCommand, PushRequest, User
from tests.apple import helpers
from tests.conftest import Auth, csrf_token
from tests.support.apns import APNsStandIn

from .support import BASE, load, mdm_payload, only_device

# The push credentials of the captured TokenUpdate (Token is 32 bytes of 0x03).
TOKEN = "03" * 32
MAGIC = "00000000-0000-0000-0000-00000000AA03"
ALICE = "alice@example.com"


@pytest.fixture
def apns():
    with APNsStandIn(helpers.ca_certificate()) as server:
        yield server


@pytest.fixture
def apns_url(request, apns):
    """The stand-in's address; `refused`: a closed port; `silent`: a port that never answers."""
    kind = getattr(request, "param", "stand-in")
    if kind == "stand-in":
        yield apns.url
        return
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    if kind == "refused":
        listener.close()
    yield url
    listener.close()


@pytest.fixture
def app(app_factory, mdm_pki, apns, apns_url):
    app = app_factory(
        PUBLIC_BASE_URL=BASE,
        MDM_PUSH="apns",
        MDM_DEVICE_FACTS=False,  # only the test's own pushes
        APNS_URL=apns_url,
        APNS_CA_FILE=apns.ca_file,
        APNS_TIMEOUT=2,
        **mdm_pki,
    )
    with app.app_context():
        limiter.reset()
    yield app
    push.notifier(app).close()


def upload_certificate(app, topic: str, password: str = "pw") -> None:
    """The admin uploads a PKCS#12 push certificate signed by the test "Apple"."""
    with app.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        data = helpers.pkcs12_file(topic, password.encode())
        push_cert.upload(adam, data, password, secret_key=app.config["SECRET_KEY"])
        db.session.commit()


@pytest.fixture
def topic(seeded) -> str:
    topic = helpers.new_topic()
    upload_certificate(seeded, topic)
    return topic


def enroll(device_for, email: str = ALICE):
    """Download a profile and check in as the captured iPhone: Authenticate, TokenUpdate."""
    device, profile = device_for(email, "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device, topic


@pytest.fixture
def iphone(topic, device_for):
    device, profile_topic = enroll(device_for)
    assert profile_topic == topic  # profiles carry the uploaded certificate's topic
    return device


def deliver(app) -> push.PushBatch:
    """One pass of the background worker over the queued pushes."""
    with app.app_context():
        return push.deliver("test-worker")


def queue_and_commit(app, request_type: str = "ProfileList") -> None:
    """Queue a command (its push is queued with it), then let the worker push."""
    with app.app_context():
        commands.queue(only_device(ALICE), request_type, actor=None, channel="system")
        db.session.commit()
    deliver(app)


def device_state(app) -> tuple[str | None, list[tuple[str, dict]]]:
    with app.app_context():
        device = only_device(ALICE)
        entries = db.session.execute(
            sa.select(DeviceLogEntry.action, DeviceLogEntry.details)
            .where(DeviceLogEntry.device_id == device.id)
            .order_by(DeviceLogEntry.id)
        ).all()
        return device.push_token, [tuple(entry) for entry in entries]


def test_a_queued_command_is_pushed_once_by_the_worker_over_http2(seeded, apns, topic, iphone):
    with seeded.app_context():
        commands.queue(only_device(ALICE), "ProfileList", actor=None, channel="system")
        commands.queue(only_device(ALICE), "DeviceLock", actor=None, channel="system")
        db.session.commit()
    assert apns.requests == []  # the request that queued it does not push
    batch = deliver(seeded)
    assert (batch.claimed, batch.outcomes["sent"]) == (1, 1)  # two commands, one push
    assert deliver(seeded).claimed == 0
    (request,) = apns.requests
    assert (request.method, request.path) == ("POST", f"/3/device/{TOKEN}")
    assert request.protocol == "h2"
    assert request.headers["apns-topic"] == topic
    assert request.headers["apns-push-type"] == "mdm"
    assert request.headers["apns-priority"] == "10"
    expiry = int(request.headers["apns-expiration"]) - time.time()
    assert apns_module.EXPIRY_SECONDS - 60 < expiry <= apns_module.EXPIRY_SECONDS
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"mdm": MAGIC}
    # The TLS client certificate is the uploaded one: the stand-in checked it against the CA.
    assert f"UID={topic}" in request.client_subject
    assert apns.refused == []


def test_later_pushes_reuse_the_connection(seeded, apns, iphone):
    queue_and_commit(seeded)
    queue_and_commit(seeded, "DeviceLock")
    assert [r.connection for r in apns.requests] == [1, 1]


def test_a_connection_closed_by_apns_is_replaced(seeded, apns, iphone):
    queue_and_commit(seeded)
    apns.drop_connections()
    queue_and_commit(seeded, "DeviceLock")
    assert [r.connection for r in apns.requests] == [1, 2]


def test_nothing_is_pushed_when_the_transaction_rolls_back(seeded, apns, iphone):
    with seeded.app_context():
        commands.queue(only_device(ALICE), "ProfileList", actor=None, channel="system")
        db.session.rollback()
        db.session.commit()  # an empty commit afterwards sends nothing either
        assert db.session.scalars(sa.select(PushRequest)).all() == []
    assert deliver(seeded).claimed == 0
    assert apns.requests == []


@pytest.mark.parametrize(("status", "reason"), [(410, "Unregistered"), (400, "BadDeviceToken")])
def test_a_dead_token_is_cleared_and_logged(seeded, apns, topic, iphone, status, reason):
    apns.answer(TOKEN, status, reason)
    queue_and_commit(seeded)
    token, entries = device_state(seeded)
    assert token is None
    assert entries[-1][0] == "push_token.rejected"
    assert {k: entries[-1][1][k] for k in ("status", "reason")} == {
        "status": status,
        "reason": reason,
    }
    queue_and_commit(seeded, "DeviceLock")
    assert len(apns.requests) == 1  # no more pushes to a dead token
    # The device's next TokenUpdate brings pushes back.
    assert iphone.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    assert device_state(seeded)[0] == TOKEN
    queue_and_commit(seeded, "ProfileList")
    assert len(apns.requests) == 2


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "TooManyRequests"), (500, "InternalServerError"), (503, "ServiceUnavailable")],
)
def test_a_busy_apns_leaves_the_token_and_raises_nothing(
    seeded, apns, iphone, caplog, status, reason
):
    apns.answer(TOKEN, status, reason)
    with caplog.at_level(logging.WARNING, logger="portal.mdm.apns"):
        queue_and_commit(seeded)
    assert len(apns.requests) == 1
    token, entries = device_state(seeded)
    assert token == TOKEN
    assert "push_token.rejected" not in [action for action, _details in entries]
    assert f"APNs busy ({status} {reason})" in caplog.text


def test_a_refusal_for_other_reasons_keeps_the_token(seeded, apns, iphone, caplog):
    apns.answer(TOKEN, 403, "BadCertificateEnvironment")
    with caplog.at_level(logging.ERROR, logger="portal.mdm.apns"):
        queue_and_commit(seeded)
    assert device_state(seeded)[0] == TOKEN
    assert "403 BadCertificateEnvironment" in caplog.text


@pytest.mark.parametrize("apns_url", ["refused", "silent"], indirect=True)
def test_an_unreachable_apns_does_not_break_the_admin_action(
    seeded, apns, topic, device_for, caplog
):
    enroll(device_for)
    with seeded.app_context():
        device_id = only_device(ALICE).id
    client = seeded.test_client()
    Auth(client).login("adam@example.com")
    token = csrf_token(client, f"/admin/devices/{device_id}")
    with caplog.at_level(logging.WARNING, logger="portal.mdm.apns"):
        started = time.monotonic()
        response = client.post(
            f"/admin/devices/{device_id}/actions/lock", data={"csrf_token": token}
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location.endswith(f"/admin/devices/{device_id}")
    assert elapsed < 2  # the push is the worker's business
    with seeded.app_context():
        queued = db.session.scalars(sa.select(MDMCommand.request_type)).all()
    assert queued == ["DeviceLock"]
    with caplog.at_level(logging.WARNING, logger="portal.mdm.apns"):
        started = time.monotonic()
        batch = deliver(seeded)
        assert time.monotonic() - started < 10  # bounded by APNS_TIMEOUT (2 s), not hanging
    assert batch.outcomes == {"unreachable": 1}
    assert device_state(seeded)[0] == TOKEN
    assert "No answer from APNs" in caplog.text
    assert apns.requests == []
    # Tried again later (the device also connects on its own).
    with seeded.app_context():
        (waiting,) = db.session.scalars(sa.select(PushRequest)).all()
        assert (waiting.attempts, waiting.claimed_until) == (1, None)
        assert waiting.next_attempt_at > helpers.NOW


def test_without_a_certificate_pushes_are_logged_with_a_warning(seeded, apns, device_for, caplog):
    enroll(device_for)
    with caplog.at_level(logging.WARNING, logger="portal.mdm.apns"):
        queue_and_commit(seeded)
    assert "No usable MDM push certificate" in caplog.text
    sender = push.notifier(seeded)
    assert [target.push_token for target in sender.fallback.sent] == [TOKEN]
    assert apns.requests == []


def test_a_renewed_certificate_gets_a_new_connection(seeded, apns, topic, iphone):
    queue_and_commit(seeded)
    upload_certificate(seeded, topic)  # renewed: same topic, new key and certificate
    queue_and_commit(seeded, "DeviceLock")
    first, second = apns.requests
    assert (first.connection, second.connection) == (1, 2)
    assert first.client_subject != second.client_subject
    assert second.headers["apns-topic"] == topic


def test_a_certificate_apns_does_not_trust_is_refused(seeded, apns, device_for, caplog):
    topic = helpers.new_topic()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, topic),
            x509.NameAttribute(NameOID.COMMON_NAME, "self-made"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(helpers.NOW - datetime.timedelta(days=1))
        .not_valid_after(helpers.NOW + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"push", key, cert, None, serialization.BestAvailableEncryption(b"pw")
    )
    with seeded.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        push_cert.upload(adam, data, "pw", secret_key=seeded.config["SECRET_KEY"])
        db.session.commit()
    enroll(device_for)
    with caplog.at_level(logging.WARNING, logger="portal.mdm.apns"):
        queue_and_commit(seeded)
    assert apns.requests == []
    assert apns.refused  # the TLS handshake failed: the stand-in checks client certificates
    assert "No answer from APNs" in caplog.text
    assert device_state(seeded)[0] == TOKEN


def test_the_key_is_not_left_on_disk(seeded, apns, iphone, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    queue_and_commit(seeded)
    assert len(apns.requests) == 1
    assert list(scratch.iterdir()) == []


# --- choosing the notifier -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "expected"),
    [("production", "apns"), ("development", "log"), ("testing", "log")],
)
def test_mdm_push_defaults_to_apns_in_production_only(monkeypatch, environment, expected):
    monkeypatch.delenv("MDM_PUSH", raising=False)
    config = portal_config.load({"PORTAL_ENV": environment, "SECRET_KEY": "k"})
    assert config["MDM_PUSH"] == expected
    assert config["APNS_URL"] == "https://api.push.apple.com"
    notifier = push.make_notifier(config)
    kind = apns_module.APNsNotifier if expected == "apns" else push.LogNotifier
    assert type(notifier) is kind


def test_mdm_push_is_chosen_by_configuration(monkeypatch):
    monkeypatch.setenv("MDM_PUSH", "log")
    assert portal_config.load({"PORTAL_ENV": "production", "SECRET_KEY": "k"})["MDM_PUSH"] == (
        "log"
    )
    monkeypatch.setenv("MDM_PUSH", "carrier-pigeon")
    with pytest.raises(portal_config.ConfigError, match="MDM_PUSH"):
        portal_config.load({"PORTAL_ENV": "testing", "SECRET_KEY": "k"})
