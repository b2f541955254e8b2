"""What each kind of outbox message adds: reactions to its status changes, and checks that
it may still be sent (registered by the kind's package at start-up, e.g. invitations)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..models import OutboxStatus, utcnow

# Kind-specific reactions to a status change (e.g. an invitation's delivery status):
# handler(outbox message id, new status, last error). A write that must go with being sent
# belongs in `on_sent` instead: it then joins the mark's own statement.
StatusHandler = Callable[[int, OutboxStatus, str | None], None]
_handlers: dict[str, list[StatusHandler]] = {}

# Kind-specific reasons a queued message must not go out any more (e.g. the invitation it
# carries was withdrawn): check(message ids, now) → {message id: reason} for those refused.
SendCheck = Callable[[list[int], datetime], dict[int, object]]
_send_checks: dict[str, SendCheck] = {}


def on_status_change(kind: str, handler: StatusHandler) -> None:
    if handler not in _handlers.setdefault(kind, []):
        _handlers[kind].append(handler)


def on_send_check(kind: str, check: SendCheck) -> None:
    _send_checks[kind] = check


def notify(kind: str, message_id: int, status: OutboxStatus, error: str | None = None) -> None:
    for handler in _handlers.get(kind, []):
        handler(message_id, status, error)


def refusals(messages: list[tuple[int, str]], now: datetime | None = None) -> dict[int, object]:
    """Why some of `messages` (id, kind) must not be sent any more: {id: reason}."""
    now = now or utcnow()
    by_kind: dict[str, list[int]] = {}
    for message_id, kind in messages:
        if kind in _send_checks:
            by_kind.setdefault(kind, []).append(message_id)
    reasons: dict[int, object] = {}
    for kind, ids in by_kind.items():
        reasons.update(_send_checks[kind](ids, now))
    return reasons


def any_send_checks() -> bool:
    return bool(_send_checks)
