"""The admin and helpdesk navigation: groups of pages, in one list.

A page joins the menu with one line in `ADMIN_NAVIGATION`: (group, label, endpoint, role).
The current page is marked by its endpoint, or by `also` (other endpoints of the same page
family, e.g. a user's detail page marks "Users").
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from .models import Role


@dataclass(frozen=True)
class Entry:
    group: str
    label: object
    endpoint: str
    role: Role
    also: tuple[str, ...] = ()


GROUPS = {
    "people": _l("People"),
    "devices": _l("Devices"),
    "enrollment": _l("Enrollment"),
    "apple": _l("Apple"),
    "system": _l("System"),
}

ADMIN_NAVIGATION: list[Entry] = [
    Entry(
        "people",
        _l("Rollout"),
        "rollout.dashboard",
        Role.HELPDESK,
        ("rollout.people", "rollout.stuck_list", "rollout.job", "rollout.reminders"),
    ),
    Entry("people", _l("Users"), "admin.users", Role.HELPDESK, ("admin.user_detail",)),
    Entry("people", _l("Groups"), "admin.group_list", Role.HELPDESK, ("admin.group_detail",)),
    Entry("people", _l("Invite from LDAP"), "admin.ldap_search", Role.ADMIN),
    Entry("devices", _l("Devices"), "admin.devices", Role.HELPDESK, ("admin.device_detail",)),
    Entry("devices", _l("Apps"), "apps.catalogue", Role.HELPDESK, ("apps.app_detail",)),
    Entry(
        "devices",
        _l("Configurations"),
        "configurations.configuration_list",
        Role.HELPDESK,
        ("configurations.configuration_detail", "configurations.new_configuration"),
    ),
    Entry(
        "enrollment",
        _l("Enrollment settings"),
        "admin.setting_list",
        Role.HELPDESK,
        ("admin.setting_detail", "admin.create_setting"),
    ),
    Entry("apple", _l("Apple setup"), "apple.setup_page", Role.HELPDESK),
    Entry("system", _l("Branding and support"), "admin.branding", Role.ADMIN),
    Entry("system", _l("Sign-in sources"), "admin.sign_in_sources", Role.ADMIN),
    Entry("system", _l("Outgoing e-mail"), "outbox.index", Role.ADMIN),
    Entry("system", _l("Audit log"), "admin.audit_log", Role.ADMIN),
    Entry("system", _l("Background jobs"), "admin.jobs_page", Role.ADMIN),
]


def admin_groups(user) -> list[tuple[object, list[tuple[Entry, bool]]]]:
    """[(group label, [(entry, is_current), ...]), ...] for what `user` may open."""
    current = request.endpoint or ""
    known = current_app.view_functions
    result = []
    for key, label in GROUPS.items():
        entries = [
            (entry, current == entry.endpoint or current in entry.also)
            for entry in ADMIN_NAVIGATION
            if entry.group == key and entry.endpoint in known and user.has_role(entry.role)
        ]
        if entries:
            result.append((label, entries))
    return result
