"""Doing something once: Slack's retried events, double clicks, repeated requests.

Claims are counters in the rate limiter's storage (`RATELIMIT_STORAGE_URI`: in memory for
one process, Redis for several instances), so a retry that reaches another instance is
still recognised. If that storage cannot be reached, a claim falls back to this process's
memory and says so in the log: a duplicate is then possible across instances, never within
one.
"""

from __future__ import annotations

import logging
import threading
import time

from portal.extensions import limiter

log = logging.getLogger("bot")
PREFIX = "slack-once"

_local: dict[str, float] = {}
_local_lock = threading.Lock()


def _local_claim(key: str, ttl: int) -> bool:
    now = time.monotonic()
    with _local_lock:
        for stale in [k for k, until in _local.items() if until <= now]:
            del _local[stale]
        if key in _local:
            return False
        _local[key] = now + ttl
        return True


def claim(key: str, ttl: int) -> bool:
    """True for the first caller of `key` within `ttl` seconds, False for every later one."""
    full = f"{PREFIX}:{key}"
    ttl = max(int(ttl), 1)
    try:
        return limiter.storage.incr(full, ttl) == 1
    except Exception as exc:  # any storage failure: fall back, keep serving
        log.warning("idempotency storage unavailable (%s); using process memory", exc)
        return _local_claim(full, ttl)


def release(key: str) -> None:
    """Forget a claim whose work failed, so asking again is not mistaken for a duplicate."""
    full = f"{PREFIX}:{key}"
    with _local_lock:
        _local.pop(full, None)
    try:
        limiter.storage.clear(full)
    except Exception as exc:
        log.warning("idempotency storage unavailable (%s)", exc)
