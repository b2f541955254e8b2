"""`memory://` rate-limit storage without a thread per request.

The `limits` library's in-memory storage starts a timer thread (to drop expired counters)
whenever the previous one has finished, so under steady traffic nearly every counted
request starts a thread; in a gunicorn sync worker that costs several milliseconds (the new
thread and the request take turns on the GIL). This subclass drops expired counters inline,
at most once a second. Counters are still checked for expiry on every read, as before.
Registered for the `memory://` scheme: the default, used without Redis.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_EVERY = 1.0


class InlineExpiryMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the first timer the parent started
        self._next_sweep = time.monotonic() + SWEEP_EVERY

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self.timer.cancel()
        self._next_sweep = time.monotonic() + SWEEP_EVERY

    # Replaces MemoryStorage.__schedule_expiry (name-mangled), called on each write.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY
            self._MemoryStorage__expire_events()
