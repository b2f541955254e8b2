"""`flask --app wsgi bot socket`: Socket Mode with the same Bolt app, clear errors otherwise."""

import slack_bolt.adapter.socket_mode as socket_mode

from tests.support.slack_api import BOT_TOKEN


def test_socket_mode_without_an_app_token_says_what_to_set(app_factory):
    result = app_factory().test_cli_runner().invoke(args=["bot", "socket"])
    assert result.exit_code == 1
    assert "SLACK_APP_TOKEN is not set" in result.output
    assert "connections:write" in result.output
    assert "Traceback" not in result.output


def test_socket_mode_without_a_bot_token_says_what_to_set(app_factory):
    app = app_factory(SLACK_APP_TOKEN="xapp-1-test")
    result = app.test_cli_runner().invoke(args=["bot", "socket"])
    assert result.exit_code == 1
    assert "SLACK_BOT_TOKEN is not set" in result.output


class FakeHandler:
    started = []

    def __init__(self, app, app_token):
        self.app = app
        self.app_token = app_token

    def start(self):
        FakeHandler.started.append(self)


def test_socket_mode_runs_the_mounted_bolt_app(bot_app, monkeypatch):
    monkeypatch.setattr(socket_mode, "SocketModeHandler", FakeHandler)
    bot_app.config["SLACK_APP_TOKEN"] = "xapp-1-test"
    FakeHandler.started.clear()
    result = bot_app.test_cli_runner().invoke(args=["bot", "socket"])
    assert result.exit_code == 0, result.output
    [handler] = FakeHandler.started
    assert handler.app is bot_app.extensions["slack"].bolt
    assert handler.app_token == "xapp-1-test"


def test_socket_mode_needs_no_signing_secret(app_factory, slack_api, monkeypatch):
    monkeypatch.setattr(socket_mode, "SocketModeHandler", FakeHandler)
    app = app_factory(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="xapp-1-test",
        SLACK_API_BASE_URL=slack_api.base_url,
    )
    assert "slack_events" not in app.view_functions  # no secret: no HTTP endpoint
    FakeHandler.started.clear()
    result = app.test_cli_runner().invoke(args=["bot", "socket"])
    assert result.exit_code == 0, result.output
    [handler] = FakeHandler.started
    assert handler.app.client.base_url == slack_api.base_url
    app.extensions["slack"].shutdown()
