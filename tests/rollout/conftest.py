"""Fixtures for the rollout tests: the live portal with the Slack assistant and its Web API
stand-in (from the bot tests)."""

from tests.bot.conftest import (  # noqa: F401
    bot_app,
    live_bot,
    portal,
    slack,
    slack_api,
    slack_config,
)
