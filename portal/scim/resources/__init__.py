"""SCIM Users and Groups ↔ portal accounts and groups (provisioning by Entra ID).

SCIM sees and manages only what Entra provisioned: `entra` accounts (not deprovisioned)
and `entra` groups. An account the portal already had (local, LDAP, OpenID) joins them when
Entra finds it by `userName eq "…"` (`match_account`); a POST for an address such an account
holds is a 409 conflict. SCIM never sets roles. Functions flush; the view commits once per
request.
"""

from .groups import delete_group, group_document, save_group, visible_groups
from .users import (
    KEPT,
    KEPT_ENTERPRISE,
    UNSETTABLE,
    create_user,
    delete_user,
    match_account,
    replace_user,
    user_document,
    visible_users,
)
from .validation import CHANNEL, MAX_TEXT, coerce, ignored, validate

__all__ = [
    "CHANNEL",
    "KEPT",
    "KEPT_ENTERPRISE",
    "MAX_TEXT",
    "UNSETTABLE",
    "coerce",
    "create_user",
    "delete_group",
    "delete_user",
    "group_document",
    "ignored",
    "match_account",
    "replace_user",
    "save_group",
    "user_document",
    "validate",
    "visible_groups",
    "visible_users",
]
