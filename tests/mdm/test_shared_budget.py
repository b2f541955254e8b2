"""The device endpoints' budget: shared through Redis by every process, counted in batches."""

from __future__ import annotations

import uuid

import pytest
import redis

from portal import ratelimit
from portal.ratelimit import SharedBudget

REDIS = "redis://127.0.0.1:6379/13"
MINUTE = 1_800_000_000.0  # the start of a minute (aligned windows)
# This run's own budget name: test workers running at once share the Redis database.
SCOPE = f"test-budget-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def shared_redis():
    """Redis, with this test's keys removed after it (never the whole database: the other
    test workers share it)."""
    connection = redis.Redis.from_url(REDIS)
    yield connection
    for key in connection.scan_iter(f"*{SCOPE}*"):
        connection.delete(key)


def _process(app_factory, limit: str):
    """One worker: an app of its own (its own local counts), the same Redis."""
    return app_factory(RATELIMIT_STORAGE_URI=REDIS, MDM_RATE_LIMIT=limit)


def _budget() -> SharedBudget:
    from flask import current_app

    return SharedBudget(SCOPE, lambda: current_app.config["MDM_RATE_LIMIT"])


def _spend(app, budget: SharedBudget, times: int, now: float, address: str = "192.0.2.1"):
    with app.test_request_context():
        return [budget.spend(address, now=now) for _ in range(times)]


def _stored(connection) -> int:
    return sum(int(connection.get(key)) for key in connection.scan_iter(f"*{SCOPE}*"))


def test_batches_are_two_percent_of_the_budget_and_small_budgets_are_exact():
    assert SharedBudget.batch_for(600) == 12
    assert SharedBudget.batch_for(99) == 1
    assert SharedBudget.batch_for(4) == 1
    assert SharedBudget.batch_for(100_000_000) == SharedBudget.MAX_BATCH


def test_one_process_talks_to_redis_once_per_batch(app_factory, shared_redis, monkeypatch):
    app = _process(app_factory, "600 per minute")
    budget = _budget()
    sent = []
    real = ratelimit.incr
    monkeypatch.setattr(ratelimit, "incr", lambda *a, **k: sent.append(a) or real(*a, **k))
    answers = _spend(app, budget, 120, MINUTE + 1)
    assert answers == [None] * 120
    # The first request is sent at once (nothing known yet), then one call per 12.
    assert 10 <= len(sent) <= 12
    assert 120 - 11 <= _stored(shared_redis) <= 120
    # A second later, the next request sends what was left.
    _spend(app, budget, 1, MINUTE + 2.5)
    assert _stored(shared_redis) == 121


def test_two_processes_share_the_budget_and_overrun_it_by_at_most_a_batch_each(
    app_factory, shared_redis
):
    first = _process(app_factory, "600 per minute")
    second = _process(app_factory, "600 per minute")
    budget = _budget()
    allowed = 0
    for n in range(800):
        app = first if n % 2 else second
        allowed += _spend(app, budget, 1, MINUTE + 5 + n * 0.01) == [None]
    assert 600 <= allowed <= 600 + 2 * SharedBudget.batch_for(600)
    assert _stored(shared_redis) >= 600


def test_a_small_budget_is_counted_exactly_across_processes(app_factory, shared_redis):
    first = _process(app_factory, "50 per minute")
    second = _process(app_factory, "50 per minute")
    budget = _budget()
    answers = [_spend(first if n % 3 else second, budget, 1, MINUTE + 1)[0] for n in range(60)]
    assert answers[:50] == [None] * 50
    # Refused until the next minute starts: Retry-After counts down to it.
    assert answers[50:] == [59] * 10
    assert _spend(first, budget, 1, MINUTE + 59.5) == [1]
    assert _spend(first, budget, 1, MINUTE + 60) == [None]


def test_each_address_has_its_own_budget(app_factory, shared_redis):
    app = _process(app_factory, "3 per minute")
    budget = _budget()
    assert _spend(app, budget, 4, MINUTE, "192.0.2.1") == [None, None, None, 60]
    assert _spend(app, budget, 1, MINUTE, "192.0.2.2") == [None]


def test_a_redis_outage_counts_in_each_process_memory(app_factory):
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0", MDM_RATE_LIMIT="3 per minute")
    budget = _budget()
    assert _spend(app, budget, 4, MINUTE) == [None, None, None, 60]
    fallback = app.extensions["portal_ratelimit"].fallback
    assert fallback.get(f"{SCOPE}/192.0.2.1/3/60/{int(MINUTE // 60)}") == 4


def test_the_endpoints_answer_429_with_the_seconds_left(
    app_factory, shared_redis, away_from_a_minute_boundary
):
    app = _process(app_factory, "2 per minute")
    # An address of this run only: the other test workers share the Redis database.
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    url = (
        "/.well-known/com.apple.remotemanagement?user-identifier=x@example.com&model-family=iPhone"
    )
    try:
        assert [client.get(url).status_code for _ in range(2)] == [403, 403]
        refused = client.get(url)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.get_json()["status"] == 429
    finally:
        for key in shared_redis.scan_iter(f"*{address}*"):
            shared_redis.delete(key)
