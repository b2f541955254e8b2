"""The pieces every kind of configuration is made of: Apple's payload types, the limits
of form values, a field (one key of one payload) and a kind's specification."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...models import ConfigurationKind as Kind

WIFI = "com.apple.wifi.managed"
APP_VPN = "com.apple.vpn.managed.applayer"
APP_VPN_MAPPING = "com.apple.vpn.managed.appmapping"
EXCHANGE = "com.apple.eas.account"
MAIL = "com.apple.mail.managed"
CALDAV = "com.apple.caldav.account"
CARDDAV = "com.apple.carddav.account"
PKCS12 = "com.apple.security.pkcs12"
SCEP = "com.apple.security.scep"
WEBCLIP = "com.apple.webClip.managed"
PASSCODE = "com.apple.mobiledevice.passwordpolicy"
# Managed app configuration is no profile: it goes in the Settings command.
SETTINGS_COMMAND = "Settings"

BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")
MAX_TEXT = 500
MAX_FILE = 64 * 1024
# Values a person's profile gets from their account (in text fields).
VARIABLES = ("{email}", "{name}", "{managed_apple_id}")


class SettingsError(ValueError):
    """A form value Apple would not accept; `field` names the field."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Field:
    """One form field: one key of one payload."""

    name: str  # the form field's name
    key: str  # the payload key, dotted inside a sub-dictionary
    label: object
    input: str = "text"  # text, secret, bool, int, choice, lines, file
    payload_type: str = ""  # set by the kind
    required: bool = False
    choices: tuple[tuple[str, object], ...] = ()
    default: Any = None
    bounds: tuple[int, int] | None = None
    help: object | None = None

    @property
    def top_key(self) -> str:
        return self.key.split(".", 1)[0]


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: object
    summary: object
    payload_type: str
    fields: tuple[Field, ...]
    # The reference guide's name of it among the configurations a Mac under User
    # Enrollment never applies (portal.devices.capabilities), if it is one.
    macos_user_enrollment_name: str | None = None
    # Apple's systems it exists on ("ios", "macos").
    platforms: tuple[str, ...] = ("ios", "macos")
    # Several of these on one device are fine unless they set the same thing: the field
    # whose value says what it sets (None: there is only one, as for the passcode).
    conflict_field: str | None = ""
    extra_payload_types: tuple[str, ...] = field(default=())

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _fields(payload_type: str, *fields: Field) -> tuple[Field, ...]:
    return tuple(
        Field(**{**f.__dict__, "payload_type": f.payload_type or payload_type}) for f in fields
    )
