"""Waking devices up: a small notifier interface, and pushes sent only after commit.

`notify_after_commit(device)` remembers the device in the database session; once the
transaction that queued its command commits, the app's notifier is told (a device woken
before the commit could ask for its command and find nothing).

The notifier is chosen by MDM_PUSH: `apns` sends real pushes (portal/mdm/apns.py), `log`
only logs them (development and tests).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Device

log = logging.getLogger(__name__)
EXTENSION = "mdm_notifier"
_PENDING = "mdm_push_pending"


@dataclass(frozen=True)
class PushTarget:
    """What a push needs, copied from the device (the row is expired after commit)."""

    device_id: int
    topic: str | None
    push_token: str | None
    push_magic: str | None


class Notifier(Protocol):
    def notify(self, device: PushTarget) -> None:
        """Ask the device to connect to the portal (an APNs MDM push)."""


class LogNotifier:
    """Development notifier: logs the push instead of sending it."""

    def __init__(self) -> None:
        self.sent: deque[PushTarget] = deque(maxlen=1000)  # the latest, for tests and shells

    def notify(self, device: PushTarget) -> None:
        self.sent.append(device)
        log.info(
            "MDM push not sent (development): device %s, topic %s", device.device_id, device.topic
        )


def notifier(app: Flask | None = None) -> Notifier:
    app = app or current_app
    return app.extensions[EXTENSION]


def notify_after_commit(device: Device) -> None:
    """Push to `device` once the current transaction commits (nothing if it rolls back)."""
    if not device.push_token:
        return
    target = PushTarget(device.id, device.topic, device.push_token, device.push_magic)
    db.session().info.setdefault(_PENDING, {})[device.id] = target


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    sender = notifier()
    # The committed session can run no more SQL until this hook returns: a new app context
    # gives the notifier a session of its own (to read the certificate, forget dead tokens).
    with current_app.app_context():
        for target in pending.values():
            try:
                sender.notify(target)
            except Exception:
                # A push is a nudge: the device also connects on its own; never fail the commit.
                log.exception("MDM push to device %s failed", target.device_id)
                db.session.rollback()


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def make_notifier(config) -> Notifier:
    if config["MDM_PUSH"] == "apns":
        from .apns import from_config  # imports this module

        return from_config(config)
    return LogNotifier()


def init_app(app: Flask) -> None:
    app.extensions.setdefault(EXTENSION, make_notifier(app.config))
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
