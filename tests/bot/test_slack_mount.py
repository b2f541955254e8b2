"""Mounting /slack/events, and Slack's request signatures checked on a live app."""

import json
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

import bot
from portal.access import EXTERNAL, access_of
from portal.config import ConfigError
from tests.support.slack_api import BOT_TOKEN, sample


def test_without_token_and_secret_the_endpoint_does_not_exist(app_factory):
    for config in ({}, {"SLACK_BOT_TOKEN": BOT_TOKEN}, {"SLACK_SIGNING_SECRET": "s"}):
        app = app_factory(**config)
        assert "slack" not in app.extensions
        assert app.test_client().post("/slack/events", data="x").status_code == 404


def test_the_endpoint_is_external_and_post_only(bot_app):
    assert access_of(bot_app, "slack_events") == EXTERNAL
    rules = [r for r in bot_app.url_map.iter_rules() if r.rule == "/slack/events"]
    assert [sorted(r.methods - {"OPTIONS"}) for r in rules] == [["POST"]]
    assert bot_app.test_client().get("/slack/events").status_code == 405


def test_a_signed_command_is_acknowledged_without_csrf_token(slack, slack_api):
    response = slack.command("help", "U0ALICE")
    assert response.status_code == 200
    assert response.text == ""
    slack_api.wait_for("response_url")


@pytest.mark.parametrize(
    "options",
    [
        {"sign": False},
        {"secret": "not-the-signing-secret"},
        {"age": 6 * 60},
        {"age": -6 * 60},
    ],
    ids=["unsigned", "wrong-secret", "stale", "future"],
)
def test_unsigned_wrongly_signed_or_stale_requests_are_refused(slack, slack_api, options):
    options = dict(options)
    if "age" in options:
        options["timestamp"] = int(time.time()) - options.pop("age")
    response = slack.command("status", "U0ALICE", **options)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid request"}
    time.sleep(0.3)
    assert slack_api.calls == []


def test_a_tampered_body_is_refused(slack, slack_api):
    body = slack.command_body("status", "U0ALICE")
    ts = str(int(time.time()))
    from tests.support.slack_api import signature

    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(slack.secret, ts, body),
    }
    tampered = body.replace(b"U0ALICE", b"U0HELEN")
    response = slack.post(
        tampered, "application/x-www-form-urlencoded", sign=False, headers=headers
    )
    assert response.status_code == 401


def test_slacks_published_signature_example_is_refused_as_stale(slack, slack_api):
    # Correctly signed by Slack's own example, with its secret, but from 2018.
    vector = sample("slash_command_signed_request.json")
    slack.secret = vector["verification"]["signing_secret"]
    response = slack.post(
        vector["request"]["body"].encode(),
        "application/x-www-form-urlencoded",
        sign=False,
        headers={k: v for k, v in vector["request"]["headers"].items() if k != "Content-Type"},
    )
    assert response.status_code == 401


def test_url_verification_challenge_is_answered(slack):
    body = sample("event_url_verification.json")["request"]["body"]
    response = slack.post(json.dumps(body).encode(), "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": body["challenge"]}


def test_the_web_client_honours_rate_limits_and_the_configured_base_url(bot_app, slack_api):
    client = bot_app.extensions["slack"].bolt.client
    assert client.base_url == slack_api.base_url
    assert any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers)


def test_default_api_base_url_is_slacks_own(app_factory):
    app = app_factory(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="s")
    assert app.config["SLACK_API_BASE_URL"] == "https://slack.com/api/"
    assert app.extensions["slack"].bolt.client.base_url == "https://slack.com/api/"
    app.extensions["slack"].shutdown()


def test_a_given_client_is_used(app_factory):
    app = app_factory()
    client = WebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    bolt = bot.create_bolt_app(app, client=client)
    assert bolt.client is client
    app.extensions["slack"].shutdown()


def test_oauth_variables_are_refused_with_a_clear_message(app_factory, monkeypatch):
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "x")
    with pytest.raises(ConfigError, match="single-workspace"):
        app_factory(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="s")


def test_slow_work_happens_after_the_ack(slack, slack_api, monkeypatch):
    from bot import services

    real = services.status_report

    def slow(*args, **kwargs):
        time.sleep(3.5)  # longer than Slack waits for an ack
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "status_report", slow)
    started = time.monotonic()
    assert slack.command("status", "U0ALICE").status_code == 200
    assert time.monotonic() - started < 1.0
    assert slack_api.calls_to("response_url") == []
    slack_api.wait_for("response_url", timeout=15)


def test_the_manifest_declares_command_scopes_events_and_urls():
    from pathlib import Path

    text = (Path(bot.__file__).parent / "manifest.yaml").read_text()
    for needed in [
        "command: /enroll",
        "should_escape: true",
        "home_tab_enabled: true",
        *(
            f"- {scope}\n"
            for scope in (
                "commands",
                "chat:write",
                "users:read",
                "users:read.email",
                "im:history",
                "app_mentions:read",
            )
        ),
        *(f"- {event}\n" for event in ("app_home_opened", "app_mention", "message.im")),
    ]:
        assert needed in text, needed
    assert text.count("url: https://portal.example.com/slack/events") == 3
    assert "is_enabled: true" in text  # interactivity
