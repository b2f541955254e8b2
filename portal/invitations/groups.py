"""Inviting everyone in a group who has no valid link yet (the admin's group button)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import audit
from ..models import Group, InvitationSender, User, utcnow
from .service import (
    InvitationSettings,
    ResendLimitReached,
    invite,
    live_invitations,
    resolve_settings,
)


@dataclass
class GroupInvitation:
    """What inviting a group did: who was invited, who was skipped and why."""

    invited: list[User]
    already_invited: list[User]
    not_invitable: list[User]
    rate_limited: list[User]


def invite_group(
    group: Group,
    *,
    actor: User | None,
    sent_by: InvitationSender,
    channel: str = "web",
    now: datetime | None = None,
    settings: InvitationSettings | None = None,
) -> GroupInvitation:
    """Invite every member of `group` who has no live invitation yet. The caller commits."""
    settings = resolve_settings(settings)
    now = now or utcnow()
    result = GroupInvitation([], [], [], [])
    for member in group.members:
        if not member.active or not member.email:
            result.not_invitable.append(member)
        elif live_invitations(member, now):
            result.already_invited.append(member)
        else:
            try:
                invite(
                    member,
                    actor=actor,
                    sent_by=sent_by,
                    channel=channel,
                    now=now,
                    settings=settings,
                )
            except ResendLimitReached:
                result.rate_limited.append(member)
            else:
                result.invited.append(member)
    audit.record(
        actor,
        "invitation.group_invited",
        channel=channel,
        target=group,
        after={
            "invited": len(result.invited),
            "already_invited": len(result.already_invited),
            "not_invitable": len(result.not_invitable),
            "rate_limited": len(result.rate_limited),
        },
    )
    return result
