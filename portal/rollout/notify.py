"""Slack at the moments that matter: what to tell whom, queued with what caused it.

- a DM to the employee when their device finishes enrolling, and when an admin's action
  (lock, remove work data…) reaches it;
- a message in the helpdesk channel (`SLACK_HELPDESK_CHANNEL`) for what needs a person: an
  enrollment refused, a licence that could not be assigned, a "This is my personal phone"
  request (queued by `portal.enrollment.journey`, whose buttons mark it handled).

Each message is a `SlackNotification` row added in the transaction of its cause (a session
hook watches devices, commands, notifications and audit events, so every path that enrolls
a device or refuses an enrollment is covered). `bot.notifications.deliver_pending` posts
them afterwards; with Slack not configured nothing is queued.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ..models import (
    AdminNotification,
    AuditEvent,
    CommandStatus,
    Device,
    DeviceStatus,
    MDMCommand,
    SlackNotification,
    User,
    utcnow,
)

log = logging.getLogger("portal.rollout")

# Commands an admin sends that the device's owner should hear about once they arrived.
ADMIN_ACTIONS = {"DeviceLock": "lock", "RemoveProfile": "remove_work_data", "EraseDevice": "wipe"}
# MDM refusals about a person (not forged or malformed requests) go to the helpdesk.
PEOPLE_TARGETS = {"user", "device"}


def slack_connected() -> bool:
    return has_app_context() and bool(current_app.config.get("SLACK_BOT_TOKEN"))


def helpdesk_channel() -> str:
    return (current_app.config.get("SLACK_HELPDESK_CHANNEL") or "").strip()


def queue_dm(
    user: User | int, kind: str, details: dict, *, now: datetime | None = None, session=None
) -> SlackNotification | None:
    """A DM for `user` (found in Slack by e-mail when sent); None without Slack."""
    if not slack_connected():
        return None
    user_id = user if isinstance(user, int) else user.id
    row = SlackNotification(
        kind=kind, user_id=user_id, details=dict(details), created_at=now or utcnow()
    )
    _session(session).add(row)
    return row


def queue_helpdesk(
    kind: str, details: dict, *, user_id: int | None = None, session=None
) -> SlackNotification | None:
    """A message for the helpdesk channel; None without Slack or without a channel."""
    if not slack_connected() or not helpdesk_channel():
        return None
    row = SlackNotification(
        kind=kind, user_id=None, details={**details, "user_id": user_id}, created_at=utcnow()
    )
    _session(session).add(row)
    return row


def _session(session):
    if session is not None:
        return session
    from ..extensions import db

    return db.session


# -- the session hook ------------------------------------------------------------------------


def _changed_to(obj, attribute: str, value) -> bool:
    history = sa.inspect(obj).attrs[attribute].history
    return bool(history.added) and history.added[0] == value and value not in history.deleted


def _device_enrolled(session: Session, device: Device) -> None:
    queue_dm(
        device.user_id,
        "device_enrolled",
        {
            "device_id": device.id,
            "platform": str(device.platform),
            "name": device.name or "",
            "enrollment_type": str(device.enrollment_type),
        },
        session=session,
    )


def _command_arrived(session: Session, command: MDMCommand) -> None:
    action = ADMIN_ACTIONS.get(command.request_type)
    if action is None or command.queued_by_id is None:
        return
    device = command.device or session.get(Device, command.device_id)
    if device is None or command.queued_by_id == device.user_id:
        return  # the person's own action from their devices page: they know
    queue_dm(
        device.user_id,
        "admin_action",
        {
            "action": action,
            "device_id": device.id,
            "platform": str(device.platform),
            "name": device.name or "",
        },
        session=session,
    )


def _audit_event(session: Session, event: AuditEvent) -> None:
    if event.action == "mdm.refused" and event.target_type in PEOPLE_TARGETS:
        after = event.after or {}
        user_id = None
        if event.target_type == "user" and event.target_id and event.target_id.isdigit():
            user_id = int(event.target_id)
        elif event.target_type == "device" and event.target_id and event.target_id.isdigit():
            device = session.get(Device, int(event.target_id))
            user_id = device.user_id if device is not None else None
        queue_helpdesk(
            "enrollment_refused",
            {"reason": after.get("reason", ""), "detail": str(after.get("detail", ""))[:300]},
            user_id=user_id,
            session=session,
        )


def _admin_notification(session: Session, note: AdminNotification) -> None:
    from ..enrollment.journey import PERSONAL_DEVICE_REQUEST  # it imports this module

    if note.code == PERSONAL_DEVICE_REQUEST:
        return  # queued by the request itself, with its own buttons
    queue_helpdesk(
        "licence_failed" if note.code.startswith("licence") else "admin_notification",
        {"code": note.code, "details": {k: str(v)[:200] for k, v in (note.details or {}).items()}},
        user_id=note.user_id,
        session=session,
    )


def before_flush(session: Session, _context, _instances) -> None:
    if not slack_connected():
        return
    for obj in list(session.new) + list(session.dirty):
        try:
            if isinstance(obj, Device):
                # A device moving to enrolled (rows created enrolled are imports and demos).
                if obj not in session.new and _changed_to(obj, "status", DeviceStatus.ENROLLED):
                    _device_enrolled(session, obj)
            elif isinstance(obj, MDMCommand) and _changed_to(
                obj, "status", CommandStatus.ACKNOWLEDGED
            ):
                _command_arrived(session, obj)
            elif isinstance(obj, AuditEvent) and obj in session.new:
                _audit_event(session, obj)
            elif isinstance(obj, AdminNotification) and obj in session.new:
                _admin_notification(session, obj)
        except Exception:  # a notification must never break what caused it
            log.exception("could not queue a Slack notification")


def install() -> None:
    if not sa.event.contains(Session, "before_flush", before_flush):
        sa.event.listen(Session, "before_flush", before_flush)
