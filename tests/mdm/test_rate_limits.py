"""Junk traffic at the device endpoints: a per-address budget, and refusals audited once."""

from __future__ import annotations

import logging
import time

from .support import DeviceClient, load, refusals

OTHER_ADDRESS = {"REMOTE_ADDR": "192.0.2.9"}


def _discover(client, identifier: str = "nobody@example.com"):
    return client.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": identifier, "model-family": "iPhone"},
    )


def test_device_endpoints_share_a_budget_per_address_then_answer_429(
    seeded, client, away_from_a_minute_boundary
):
    seeded.config["MDM_RATE_LIMIT"] = "4 per minute"
    device = DeviceClient(client, secret="x" * 43)
    idle = load("result-idle-ue-ios.plist")
    statuses = [
        _discover(client).status_code,
        client.post("/mdm/enroll", data=b"").status_code,
        device.checkin(load("ios-ue-tokenupdate.plist")).status_code,
        device.connect(idle).status_code,
    ]
    assert statuses == [403, 400, 401, 401]
    with seeded.app_context():
        audited = len(refusals())
    for call in (
        lambda: _discover(client),
        lambda: client.post("/mdm/enroll", data=b""),
        lambda: device.checkin(load("ios-ue-tokenupdate.plist")),
        lambda: device.connect(idle),
    ):
        response = call()
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
    with seeded.app_context():
        assert len(refusals()) == audited  # refused by the limiter: nothing written
    # Another address has its own budget; the rest of the portal is not limited.
    other = DeviceClient(seeded.test_client(), secret="x" * 43)
    assert other.connect(idle, environ_base=OTHER_ADDRESS).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_the_default_budget_lets_a_busy_office_through(seeded, client):
    device = DeviceClient(client, secret="x" * 43)
    idle = load("result-idle-ue-ios.plist")
    statuses = {device.connect(idle).status_code for _ in range(300)}
    assert statuses == {401}


def test_the_same_refusal_from_one_address_is_audited_once_per_window(seeded, client, caplog):
    seeded.config["MDM_REFUSAL_AUDIT_SECONDS"] = 2
    message = load("ios-ue-tokenupdate.plist")
    unknown = DeviceClient(client, secret="x" * 43)
    with caplog.at_level(logging.INFO, logger="portal.mdm.routes"):
        statuses = [unknown.checkin(message).status_code for _ in range(5)]
    assert statuses == [401] * 5
    with seeded.app_context():
        assert [r["reason"] for r in refusals()] == ["unknown_secret"]
    assert "unknown_secret (401), 5 times from 127.0.0.1 in this window, audited once" in (
        caplog.text
    )
    # Another reason, another endpoint, another address: each audited.
    assert DeviceClient(client).checkin(message).status_code == 401
    assert unknown.connect(load("result-idle-ue-ios.plist")).status_code == 401
    assert unknown.checkin(message, environ_base=OTHER_ADDRESS).status_code == 401
    with seeded.app_context():
        assert [(r["reason"], r["endpoint"]) for r in refusals()] == [
            ("unknown_secret", "mdm.checkin_message"),
            ("no_credentials", "mdm.checkin_message"),
            ("unknown_secret", "mdm.connect_report"),
            ("unknown_secret", "mdm.checkin_message"),
        ]
    # Once the window has passed, the refusal is audited again.
    time.sleep(2.1)
    assert unknown.checkin(message).status_code == 401
    with seeded.app_context():
        assert len(refusals()) == 5


def test_repeated_discovery_refusals_are_audited_once(seeded, client):
    answers = [_discover(client).status_code for _ in range(4)]
    assert answers == [403] * 4
    assert _discover(client, "bob@example.com").status_code == 403
    with seeded.app_context():
        assert [r["reason"] for r in refusals()] == ["unknown_user", "not_user_enrollment"]


def test_the_limiter_works_out_limits_once_per_limited_request_only(
    seeded, client, monkeypatch, away_from_a_minute_boundary
):
    from portal.extensions import limiter

    manager = limiter.limit_manager
    resolved = []
    real = manager.resolve_limits

    def counting(app, endpoint=None, *args, **kwargs):
        resolved.append(endpoint)
        return real(app, endpoint, *args, **kwargs)

    monkeypatch.setattr(manager, "resolve_limits", counting)
    assert client.get("/go/no-such-link").status_code == 404
    assert resolved == ["invitations.go"]  # by its decorator, not again before the request
    resolved.clear()
    assert client.get("/").status_code in (200, 302)
    assert client.get("/healthz").status_code == 200
    assert _discover(client).status_code == 403
    assert resolved == []  # nothing Flask-Limiter limits: no limiter work
    # Still limited: the device budget (below and above) and the SCIM blueprint's (tests/scim).
    seeded.config["MDM_RATE_LIMIT"] = "1 per minute"
    assert [_discover(client).status_code for _ in range(2)] in ([403, 429], [429, 429])
