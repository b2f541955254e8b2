"""The audit log in words: each action's label, and each target's name with a link.

A new kind of audit event gets its words with one line in `ACTION_LABELS`; an action without
one is shown by its code.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .extensions import db
from .models import App, AuditEvent, Device, EnrollmentSetting, Group, Invitation, User

ACTION_LABELS = {
    "app.added": _l("App added"),
    "app.install": _l("App install sent"),
    "app.removed": _l("App removed"),
    "app.updated": _l("App changed"),
    "apple.abm.linked": _l("Apple Business Manager linked"),
    "apple.abm.unlinked": _l("Apple Business Manager unlinked"),
    "apple.push_certificate.uploaded": _l("Push certificate uploaded"),
    "apple.push_csr.created": _l("Push certificate request created"),
    "apple.vpp_token.removed": _l("Location token removed"),
    "apple.vpp_token.uploaded": _l("Location token uploaded"),
    "apps.synced": _l("Apps and licences synced"),
    "auth.sign_in": _l("Signed in"),
    "command.queued": _l("Device action sent"),
    "demo.seed": _l("Demo data loaded"),
    "device.configuration.accepted": _l("Configuration accepted by the device"),
    "device.configuration.refused": _l("Configuration refused by the device"),
    "device.configuration.sent": _l("Configuration sent"),
    "device.renamed": _l("Device renamed"),
    "enrollment.cancelled": _l("Unfinished enrollment cancelled"),
    "enrollment.personal_device_requested": _l("Asked for User Enrollment of a personal device"),
    "enrollment.personal_device_handled": _l("Handled a request about a personal device"),
    "group.created": _l("Group created"),
    "group.deleted": _l("Group deleted"),
    "group.imported": _l("Group imported"),
    "group.member_added": _l("Group member added"),
    "group.member_removed": _l("Group member removed"),
    "group.members_synced": _l("Group members synced"),
    "group.renamed": _l("Group renamed"),
    "group.updated": _l("Group changed"),
    "invitation.delivery_failed": _l("Invitation e-mail not delivered"),
    "invitation.group_invited": _l("Group invited"),
    "invitation.resent": _l("Invitation sent again"),
    "invitation.revoked": _l("Invitation withdrawn"),
    "invitation.sent": _l("Invitation sent"),
    "invitation.used": _l("Invitation link opened"),
    "ldap.import": _l("Imported from LDAP"),
    "ldap.sync": _l("Synced from LDAP"),
    "licence.failed": _l("Licence not assigned"),
    "licence.released": _l("Licence freed"),
    "mdm.command.queued": _l("Device action sent"),
    "mdm.enroll.signed_in": _l("Signed in on a device to enroll it"),
    "mdm.refused": _l("Device request refused"),
    "notification.dismissed": _l("Notification dismissed"),
    "org.branding_changed": _l("Branding and support contact changed"),
    "org.identity_settings_changed": _l("Managed Apple ID settings changed"),
    "outbox.retried": _l("E-mail sent again"),
    "scim.token_created": _l("Provisioning token created"),
    "scim.token_revoked": _l("Provisioning token revoked"),
    "scim.token_rotated": _l("Provisioning token replaced"),
    "setting.created": _l("Enrollment setting created"),
    "setting.deleted": _l("Enrollment setting deleted"),
    "setting.group_assigned": _l("Enrollment setting given to a group"),
    "setting.group_unassigned": _l("Enrollment setting taken from a group"),
    "setting.reordered": _l("Enrollment settings reordered"),
    "setting.updated": _l("Enrollment setting changed"),
    "slack.refused": _l("Slack request refused"),
    "user.activated": _l("Account enabled"),
    "user.created": _l("Account created"),
    "user.deactivated": _l("Account disabled"),
    "user.deprovisioned": _l("Account removed by provisioning"),
    "user.managed_apple_id_conflict": _l("Managed Apple ID already taken"),
    "user.managed_apple_id_set": _l("Managed Apple ID set"),
}

# Device-log actions (portal.enrollment.lifecycle.log and transition), in words.
LOG_ACTION_LABELS = {
    "profile.downloaded": _l("Profile downloaded"),
    "checkin.authenticate": _l("Device signed in (Authenticate)"),
    "checkin.token_update": _l("Enrollment completed (TokenUpdate)"),
    "checkin.check_out": _l("Device unenrolled (CheckOut)"),
    "device.replaced": _l("Replaced by a new enrollment"),
    "device.identifiers_moved": _l("Identifiers moved to a new enrollment"),
    "user_channel.enrolled": _l("Mac user channel enrolled"),
    "push_token.updated": _l("Push token updated"),
    "push_token.rejected": _l("Push token refused by Apple"),
    "command.queued": _l("Action sent"),
    "command.resent": _l("Action sent again"),
    "command.timed_out": _l("No answer from the device"),
    "command.acknowledged": _l("Action done by the device"),
    "command.error": _l("Action failed on the device"),
    "command.not_now": _l("Device will do the action later"),
    "command.format_error": _l("Action refused by the device"),
    "app.install.requested": _l("App install asked"),
    "licence.failed": _l("Licence not assigned"),
    "configuration": _l("Configuration"),
}

LOG_STATUS_LABELS = {
    "invited": _l("Invited"),
    "profile_downloaded": _l("Profile downloaded"),
    "authenticated": _l("Signed in"),
    "enrolled": _l("Enrolled"),
    "unenrolled": _l("Unenrolled"),
    "error": _l("Error"),
}


def _translated(labels: dict, code: str) -> str:
    """`labels[code]` in the page's language, else `code`; each label is translated once
    per request (a log page shows the same few actions and statuses on every row)."""
    label = labels.get(code)
    if label is None:
        return code
    if not has_request_context():
        return str(label)
    memo = g.setdefault("_log_labels", {})
    key = (id(labels), code, str(get_locale()))
    text = memo.get(key)
    if text is None:
        text = memo[key] = str(label)
    return text


def log_action_label(code: str) -> str:
    return _translated(LOG_ACTION_LABELS, code)


def log_status_label(code: str) -> str:
    return _translated(LOG_STATUS_LABELS, code)


CHANNEL_LABELS = {
    "web": _l("Web"),
    "slack": _l("Slack"),
    "cli": _l("Command line"),
    "mdm": _l("Device"),
    "scim": _l("Provisioning"),
    "system": _l("System"),
}

TARGET_WORDS = {
    "user": _l("Person"),
    "device": _l("Device"),
    "user_group": _l("Group"),
    "enrollment_setting": _l("Enrollment setting"),
    "organization": _l("Organization"),
    "invitation": _l("Invitation"),
    "app": _l("App"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def action_choices() -> list[tuple[str, str]]:
    """(code, words) of every known action and every action in the log, by words."""
    logged = db.session.scalars(sa.select(AuditEvent.action).distinct()).all()
    codes = set(ACTION_LABELS) | set(logged)
    return sorted(((code, action_label(code)) for code in codes), key=lambda c: c[1].lower())


@dataclass(frozen=True)
class Target:
    text: str
    url: str | None = None


def _names(model, ids: set[int], label) -> dict[int, tuple[str, object]]:
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(model).where(model.id.in_(ids))).all()
    return {row.id: label(row) for row in rows}


def targets(events: list[AuditEvent]) -> dict[int, Target]:
    """Each event's target as a name (and a link where the page exists), by event id."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.target_type and event.target_id and str(event.target_id).isdigit():
            wanted.setdefault(event.target_type, set()).add(int(event.target_id))
    users = _names(
        User,
        wanted.get("user", set()) | _invitation_users(wanted.get("invitation", set())),
        lambda u: u.display_name or u.email,
    )
    devices = _names(
        Device, wanted.get("device", set()), lambda d: d.name or str(TARGET_WORDS["device"])
    )
    groups = _names(Group, wanted.get("user_group", set()), lambda g: g.name)
    settings = _names(EnrollmentSetting, wanted.get("enrollment_setting", set()), lambda s: s.name)
    apps = _names(App, wanted.get("app", set()), lambda a: a.name)
    invitation_owner = _invitation_owner(wanted.get("invitation", set()))
    result = {}
    for event in events:
        kind, raw = event.target_type, event.target_id
        if not kind:
            continue
        ident = int(raw) if raw and str(raw).isdigit() else None
        target = None
        if kind == "user" and ident in users:
            target = Target(users[ident], url_for("admin.user_detail", user_id=ident))
        elif kind == "device" and ident in devices:
            target = Target(devices[ident], url_for("admin.device_detail", device_id=ident))
        elif kind == "user_group" and ident in groups:
            target = Target(groups[ident], url_for("admin.group_detail", group_id=ident))
        elif kind == "enrollment_setting" and ident in settings:
            target = Target(settings[ident], url_for("admin.setting_detail", setting_id=ident))
        elif kind == "app" and ident in apps:
            target = Target(apps[ident], url_for("apps.app_detail", app_id=ident))
        elif kind == "invitation" and invitation_owner.get(ident) in users:
            owner = invitation_owner[ident]
            target = Target(
                str(_l("Invitation of %(name)s", name=users[owner])),
                url_for("admin.user_detail", user_id=owner),
            )
        elif kind == "organization":
            target = Target(str(TARGET_WORDS["organization"]))
        if target is None:
            words = TARGET_WORDS.get(kind)
            # Removed since, or a kind without a page: say what it was.
            target = Target(
                str(_l("%(kind)s (removed)", kind=words))
                if words and ident
                else (words and str(words)) or kind
            )
        result[event.id] = target
    return result


def _invitation_owner(ids: set[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.user_id).where(Invitation.id.in_(ids))
    ).all()
    return {row.id: row.user_id for row in rows}


def _invitation_users(ids: set[int]) -> set[int]:
    return set(_invitation_owner(ids).values())
