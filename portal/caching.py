"""Small per-process caches for answers that may be a few seconds old.

Each app keeps its own (in `app.extensions`), so two apps in one process (tests) never
share answers. Entries expire after the configured number of seconds; 0 turns a cache off.
The size is bounded: when full, the oldest entries go first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")
MAX_ENTRIES = 10_000


class TTLCache:
    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (now + self.seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache(name: str, setting: str, default: float) -> TTLCache:
    """The running app's cache `name`, its lifetime from config `setting` (seconds)."""
    caches = current_app.extensions.setdefault("portal.caches", {})
    found = caches.get(name)
    if found is None:
        seconds = float(current_app.config.get(setting, default))
        found = caches[name] = TTLCache(seconds)
    return found
