"""Building the Bolt app from the Flask app's configuration."""

from __future__ import annotations

import logging
import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

from flask import Flask
from slack_bolt import App, BoltResponse
from slack_bolt.lazy_listener import ThreadLazyListenerRunner
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from portal import sqlite
from portal.config import ConfigError

from . import idempotency
from .identity import ProfileCache

log = logging.getLogger("bot")

DEFAULT_API_BASE_URL = "https://slack.com/api/"
# Slack retries an event for up to about an hour (3 attempts, growing back-off).
EVENT_DEDUPE_SECONDS = 2 * 60 * 60
ACK_WORKERS = 8
LAZY_WORKERS = 8


class AppContextExecutor(Executor):
    """Runs each submitted task inside `flask_app.app_context()` on its own thread pool.

    Bolt runs listeners on an executor, outside Flask's contexts; with this one they can
    use `db.session` and `current_app`, and each task gets (and removes) its own session.
    With `writes`, their transactions take SQLite's write lock at once (see portal.sqlite).
    """

    def __init__(self, flask_app: Flask, *, max_workers: int, name: str, writes: bool = False):
        self.flask_app = flask_app
        self.writes = writes
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        flask_app = self.flask_app
        writes = self.writes

        def run():
            with flask_app.app_context(), sqlite.writing() if writes else nullcontext():
                return fn(*args, **kwargs)

        return self._pool.submit(run)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@dataclass
class SlackState:
    """What the running bot keeps, in `flask_app.extensions["slack"]`."""

    bolt: App
    profiles: ProfileCache
    executors: tuple[AppContextExecutor, ...]

    def shutdown(self, wait: bool = True) -> None:
        for executor in self.executors:
            executor.shutdown(wait=wait)


def make_client(config) -> WebClient:
    base_url = config.get("SLACK_API_BASE_URL") or DEFAULT_API_BASE_URL
    if not base_url.endswith("/"):
        base_url += "/"
    client = WebClient(token=config.get("SLACK_BOT_TOKEN") or None, base_url=base_url)
    # Web API 429s: wait for Retry-After and try again (runs in lazy listeners, after ack).
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def ack_at_once(context, next):  # `next`: the name Bolt injects
    """Acknowledge in the request thread, before any listener runs.

    Every listener of this app answers Slack with an empty 200 and does its work lazily, so
    the ack never depends on the request. Bolt (with `process_before_response=False`) would
    run the ack function on a worker thread and poll for it every 10 ms, which under load
    costs tens of milliseconds; acking here makes that wait zero.
    """
    context.ack()
    return next()


def skip_repeated_events(body: dict, request, next, logger):  # `next`: the name Bolt injects
    """Slack redelivers an event it thinks was lost (`X-Slack-Retry-Num`): act on it once.

    The event id is claimed in shared storage on first sight; any later delivery of the same
    id is acknowledged and dropped, so its listeners cause nothing twice.
    """
    event_id = body.get("event_id") if isinstance(body, dict) else None
    if event_id and not idempotency.claim(f"event:{event_id}", EVENT_DEDUPE_SECONDS):
        retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
        logger.info("ignoring repeated delivery of event %s (retry %s)", event_id, retry)
        return BoltResponse(status=200, body="")
    return next()


def create_bolt_app(flask_app: Flask, *, client: WebClient | None = None) -> App:
    """The Bolt app for `flask_app`, with every listener registered.

    Single-workspace: the bot token and signing secret come from `flask_app.config`. Acks
    and lazy listeners run on separate pools (both in an app context), so slow work after an
    ack never delays the next ack.
    """
    if os.environ.get("SLACK_CLIENT_ID") and os.environ.get("SLACK_CLIENT_SECRET"):
        # Bolt would switch to the OAuth (multi-workspace) flow and drop the bot token.
        raise ConfigError(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set: this assistant is a "
            "single-workspace app; unset them and use SLACK_BOT_TOKEN"
        )
    from .listeners import actions, commands, events, views

    config = flask_app.config
    client = client or make_client(config)
    ack_pool = AppContextExecutor(flask_app, max_workers=ACK_WORKERS, name="slack-ack")
    lazy_pool = AppContextExecutor(
        flask_app, max_workers=LAZY_WORKERS, name="slack-lazy", writes=True
    )
    bolt = App(
        client=client,
        signing_secret=config.get("SLACK_SIGNING_SECRET") or "",
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=ack_pool,
        logger=logging.getLogger("bot.bolt"),
        name="byod-portal",
    )
    bolt.listener_runner.lazy_listener_runner = ThreadLazyListenerRunner(
        logger=bolt.logger, executor=lazy_pool
    )
    bolt.use(skip_repeated_events)
    bolt.use(ack_at_once)
    for module in (commands, events, actions, views):
        module.register(bolt)
    flask_app.extensions["slack"] = SlackState(
        bolt=bolt,
        profiles=ProfileCache(ttl=float(config.get("SLACK_USER_CACHE_SECONDS", 600))),
        executors=(ack_pool, lazy_pool),
    )
    return bolt
