"""Claims that make a retried event or a double click act once, in the limiter's storage."""

import socket
import uuid

import pytest

from bot import idempotency
from portal.extensions import limiter

REDIS = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_a_claim_is_granted_once_then_again_after_release(app):
    key = f"test:{uuid.uuid4()}"
    assert idempotency.claim(key, 60) is True
    assert idempotency.claim(key, 60) is False
    idempotency.release(key)
    assert idempotency.claim(key, 60) is True


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_claims_live_in_redis_so_every_instance_sees_them(app_factory):
    app_factory(RATELIMIT_STORAGE_URI=REDIS)
    key = f"test:{uuid.uuid4()}"
    assert idempotency.claim(key, 60) is True
    import redis

    stored = redis.Redis.from_url(REDIS).keys(f"*{key}*")
    assert stored, "the claim should be a Redis key shared by all instances"
    assert idempotency.claim(key, 60) is False
    idempotency.release(key)


def test_without_its_storage_a_claim_falls_back_to_this_process(app, monkeypatch):
    class Broken:
        def incr(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        def clear(self, *args, **kwargs):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(type(limiter), "storage", property(lambda self: Broken()))
    key = f"test:{uuid.uuid4()}"
    assert idempotency.claim(key, 60) is True
    assert idempotency.claim(key, 60) is False
    idempotency.release(key)
    assert idempotency.claim(key, 60) is True
