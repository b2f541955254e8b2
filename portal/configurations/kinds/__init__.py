"""The kinds of configuration an admin builds from a form, and how each becomes Apple's payloads.

Each kind is a list of fields, each field one key of one Apple payload (dotted for a key in a
sub-dictionary), so the form, Apple's per-key User Enrollment rules and the payload all come
from the same definition. Pure: no Flask, no database.

`fields` holds the pieces (payload types, limits, `Field`, `KindSpec`); `network`, `accounts`
and `device` specify the kinds, gathered in order in `specs.SPECS`; `cleaning` turns form
values into stored settings, `payloads` stored settings into Apple's payloads.
"""

from .cleaning import app_configuration, clean
from .fields import (
    APP_VPN,
    APP_VPN_MAPPING,
    BUNDLE_ID,
    CALDAV,
    CARDDAV,
    EXCHANGE,
    HOST,
    MAIL,
    MAX_FILE,
    MAX_TEXT,
    PASSCODE,
    PKCS12,
    SCEP,
    SETTINGS_COMMAND,
    VARIABLES,
    WEBCLIP,
    WIFI,
    Field,
    KindSpec,
    SettingsError,
)
from .payloads import (
    app_vpn_attributes,
    build_payloads,
    conflict_key,
    per_app_vpn_uuid,
    secret_fields,
    settings_command,
    stable_uuid,
)
from .specs import SPECS

__all__ = [
    "APP_VPN",
    "APP_VPN_MAPPING",
    "BUNDLE_ID",
    "CALDAV",
    "CARDDAV",
    "EXCHANGE",
    "HOST",
    "MAIL",
    "MAX_FILE",
    "MAX_TEXT",
    "PASSCODE",
    "PKCS12",
    "SCEP",
    "SETTINGS_COMMAND",
    "SPECS",
    "VARIABLES",
    "WEBCLIP",
    "WIFI",
    "Field",
    "KindSpec",
    "SettingsError",
    "app_configuration",
    "app_vpn_attributes",
    "build_payloads",
    "clean",
    "conflict_key",
    "per_app_vpn_uuid",
    "secret_fields",
    "settings_command",
    "stable_uuid",
]
