"""Malformed requests at /slack/events: 401 when not Slack's, 400 when Slack's but unreadable;
never a 500, never a call to Slack."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from tests.support.slack_api import signature


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-", "9" * 40, "1.5"])
def test_unreadable_timestamp_is_401(slack, slack_api, timestamp):
    body = slack.command_body("status", "U0ALICE")
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(slack.secret, timestamp, body),
    }
    response = slack.post(body, "application/x-www-form-urlencoded", sign=False, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "invalid request"}
    time.sleep(0.2)
    assert slack_api.calls == []


def test_timestamp_without_signature_is_401(slack):
    body = slack.command_body("status", "U0ALICE")
    response = slack.post(
        body,
        "application/x-www-form-urlencoded",
        sign=False,
        headers={"X-Slack-Request-Timestamp": "abc"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"text"', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (
            b"payload=" + urllib.parse.quote("[" * 50_000).encode(),
            "application/x-www-form-urlencoded",
        ),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b"payload=%22text%22", "application/x-www-form-urlencoded"),
        (b"payload=%FF%FE", "application/x-www-form-urlencoded"),
    ],
    ids=[
        "bad-json",
        "deep-array",
        "deep-object",
        "json-array",
        "json-string",
        "not-utf8",
        "bad-payload",
        "deep-payload",
        "payload-array",
        "payload-string",
        "payload-not-utf8",
    ],
)
def test_signed_but_unreadable_bodies_are_400(slack, slack_api, body, content_type):
    response = slack.post(body, content_type)
    assert response.status_code == 400, response.text[:300]
    assert "error" in response.json()
    time.sleep(0.2)
    assert slack_api.calls == []
