"""The kinds of configuration an admin builds from a form, and how each becomes Apple's payloads.

Each kind is a list of fields, each field one key of one Apple payload (dotted for a key in a
sub-dictionary), so the form, Apple's per-key User Enrollment rules and the payload all come
from the same definition. Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from ..models import ConfigurationKind as Kind

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


ENCRYPTION = (
    ("WPA2", "WPA2"),
    ("WPA3", "WPA3"),
    ("WPA", _l("WPA or WPA2")),
    ("Any", _l("Any")),
    ("None", _l("None (open network)")),
)
PROXY = (("None", _l("None")), ("Manual", _l("Manual")), ("Auto", _l("Automatic")))
MAIL_AUTH = (
    ("EmailAuthPassword", _l("Password")),
    ("EmailAuthCRAMMD5", "CRAM-MD5"),
    ("EmailAuthNTLM", "NTLM"),
    ("EmailAuthNone", _l("None")),
)
YES_DEFAULT = True

SPECS: dict[Kind, KindSpec] = {}


def _spec(spec: KindSpec) -> None:
    SPECS[spec.kind] = spec


_spec(
    KindSpec(
        Kind.WIFI,
        _l("Wi-Fi"),
        _l("A Wi-Fi network the device joins by itself."),
        WIFI,
        _fields(
            WIFI,
            Field("ssid", "SSID_STR", _l("Network name (SSID)"), required=True),
            Field("hidden", "HIDDEN_NETWORK", _l("Hidden network"), "bool", default=False),
            Field("auto_join", "AutoJoin", _l("Join automatically"), "bool", default=True),
            Field(
                "encryption",
                "EncryptionType",
                _l("Security"),
                "choice",
                choices=ENCRYPTION,
                default="WPA2",
            ),
            Field("password", "Password", _l("Password"), "secret"),
            Field("proxy", "ProxyType", _l("Proxy"), "choice", choices=PROXY, default="None"),
            Field("proxy_server", "ProxyServer", _l("Proxy server")),
            Field("proxy_port", "ProxyServerPort", _l("Proxy port"), "int", bounds=(1, 65535)),
        ),
        conflict_field="ssid",
    )
)
_spec(
    KindSpec(
        Kind.PER_APP_VPN,
        _l("Per-app VPN"),
        _l(
            "An IKEv2 VPN used only by the work apps, and by Safari, Mail, Calendar and "
            "Contacts for the work domains."
        ),
        APP_VPN,
        _fields(
            APP_VPN,
            Field("vpn_name", "UserDefinedName", _l("VPN name"), required=True),
            Field("server", "IKEv2.RemoteAddress", _l("Server"), required=True),
            Field("remote_id", "IKEv2.RemoteIdentifier", _l("Remote identifier"), required=True),
            Field(
                "local_id",
                "IKEv2.LocalIdentifier",
                _l("Local identifier"),
                required=True,
                default="{email}",
            ),  # fmt: skip
            Field(
                "auth",
                "IKEv2.AuthenticationMethod",
                _l("Authentication"),
                "choice",
                choices=(
                    ("SharedSecret", _l("Shared secret")),
                    ("Certificate", _l("Certificate")),
                    ("None", _l("None")),
                ),
                default="SharedSecret",
            ),
            Field("shared_secret", "IKEv2.SharedSecret", _l("Shared secret"), "secret"),
            Field(
                "apps",
                "AppLayerVPNMapping",
                _l("Apps that use it (bundle IDs)"),
                "lines",
                payload_type=APP_VPN_MAPPING,
            ),  # fmt: skip
            Field("safari_domains", "SafariDomains", _l("Safari domains"), "lines"),
            Field("mail_domains", "MailDomains", _l("Mail domains"), "lines"),
            Field("calendar_domains", "CalendarDomains", _l("Calendar domains"), "lines"),
            Field("contacts_domains", "ContactsDomains", _l("Contacts domains"), "lines"),
            Field(
                "on_demand",
                "OnDemandMatchAppEnabled",
                _l("Connect when a work app needs it"),
                "bool",
                default=True,
            ),
        ),
        macos_user_enrollment_name="vpn",
        conflict_field="vpn_name",
    )
)
_spec(
    KindSpec(
        Kind.EXCHANGE,
        _l("Exchange ActiveSync"),
        _l("The work mail, calendar and contacts account (Exchange, Microsoft 365)."),
        EXCHANGE,
        _fields(
            EXCHANGE,
            Field("host", "Host", _l("Server"), required=True),
            Field("email", "EmailAddress", _l("E-mail address"), default="{email}"),
            Field("username", "UserName", _l("User name"), default="{email}"),
            Field("ssl", "SSL", _l("Use SSL"), "bool", default=True),
            Field("oauth", "OAuth", _l("Sign in with OAuth"), "bool", default=False),
            Field(
                "prevent_move",
                "PreventMove",
                _l("Keep work mail in work apps"),
                "bool",
                default=True,
            ),  # fmt: skip
            Field(
                "days",
                "MailNumberOfPastDaysToSync",
                _l("Days of mail to sync (0: all)"),
                "int",
                bounds=(0, 31),
                default=14,
            ),
        ),
        platforms=("ios",),
        conflict_field="host",
    )
)
_spec(
    KindSpec(
        Kind.MAIL,
        _l("Mail (IMAP or POP)"),
        _l("A work mail account on an IMAP or POP server."),
        MAIL,
        _fields(
            MAIL,
            Field("description", "EmailAccountDescription", _l("Account description")),
            Field(
                "type",
                "EmailAccountType",
                _l("Account type"),
                "choice",
                choices=(("EmailTypeIMAP", "IMAP"), ("EmailTypePOP", "POP")),
                default="EmailTypeIMAP",
            ),
            Field("email", "EmailAddress", _l("E-mail address"), default="{email}"),
            Field("in_host", "IncomingMailServerHostName", _l("Incoming server"), required=True),
            Field(
                "in_port",
                "IncomingMailServerPortNumber",
                _l("Incoming port"),
                "int",
                bounds=(1, 65535),
                default=993,
            ),  # fmt: skip
            Field(
                "in_ssl",
                "IncomingMailServerUseSSL",
                _l("Incoming server uses SSL"),
                "bool",
                default=True,
            ),  # fmt: skip
            Field(
                "in_user", "IncomingMailServerUsername", _l("Incoming user name"), default="{email}"
            ),  # fmt: skip
            Field(
                "in_auth",
                "IncomingMailServerAuthentication",
                _l("Incoming authentication"),
                "choice",
                choices=MAIL_AUTH,
                default="EmailAuthPassword",
            ),  # fmt: skip
            Field("out_host", "OutgoingMailServerHostName", _l("Outgoing server"), required=True),
            Field(
                "out_port",
                "OutgoingMailServerPortNumber",
                _l("Outgoing port"),
                "int",
                bounds=(1, 65535),
                default=587,
            ),  # fmt: skip
            Field(
                "out_ssl",
                "OutgoingMailServerUseSSL",
                _l("Outgoing server uses SSL"),
                "bool",
                default=True,
            ),  # fmt: skip
            Field(
                "out_user",
                "OutgoingMailServerUsername",
                _l("Outgoing user name"),
                default="{email}",
            ),  # fmt: skip
            Field(
                "out_auth",
                "OutgoingMailServerAuthentication",
                _l("Outgoing authentication"),
                "choice",
                choices=MAIL_AUTH,
                default="EmailAuthPassword",
            ),  # fmt: skip
        ),
        conflict_field="in_host",
    )
)
for _kind, _type, _prefix, _label, _summary in (
    (Kind.CALDAV, CALDAV, "CalDAV", _l("CalDAV calendar"), _l("A work calendar account.")),
    (Kind.CARDDAV, CARDDAV, "CardDAV", _l("CardDAV contacts"), _l("A work contacts account.")),
):
    _spec(
        KindSpec(
            _kind,
            _label,
            _summary,
            _type,
            _fields(
                _type,
                Field("description", f"{_prefix}AccountDescription", _l("Account description")),
                Field("host", f"{_prefix}HostName", _l("Server"), required=True),
                Field("port", f"{_prefix}Port", _l("Port"), "int", bounds=(1, 65535), default=443),
                Field("ssl", f"{_prefix}UseSSL", _l("Use SSL"), "bool", default=True),
                Field("username", f"{_prefix}Username", _l("User name"), default="{email}"),
                Field("principal_url", f"{_prefix}PrincipalURL", _l("Principal URL")),
            ),
            conflict_field="host",
        )
    )
_spec(
    KindSpec(
        Kind.PKCS12,
        _l("Certificate (PKCS#12)"),
        _l("An identity (certificate and private key) from a .p12 file."),
        PKCS12,
        _fields(
            PKCS12,
            Field("file", "PayloadContent", _l("PKCS#12 file (.p12)"), "file", required=True),
            Field("file_name", "PayloadCertificateFileName", _l("File name")),
            Field("password", "Password", _l("File password"), "secret"),
        ),
        conflict_field="file_name",
    )
)
_spec(
    KindSpec(
        Kind.SCEP,
        _l("Certificate (SCEP)"),
        _l("An identity the device requests itself from the company's SCEP server."),
        SCEP,
        _fields(
            SCEP,
            Field("url", "PayloadContent.URL", _l("SCEP server URL"), required=True),
            Field("ca_name", "PayloadContent.Name", _l("CA name")),
            Field(
                "subject",
                "PayloadContent.Subject",
                _l("Subject (e.g. CN={email})"),
                default="CN={email}",
            ),  # fmt: skip
            Field("challenge", "PayloadContent.Challenge", _l("Challenge"), "secret"),
            Field(
                "key_size",
                "PayloadContent.Keysize",
                _l("Key size"),
                "choice",
                choices=(("2048", "2048"), ("4096", "4096")),
                default="2048",
            ),
            Field(
                "key_usage",
                "PayloadContent.Key Usage",
                _l("Key usage"),
                "choice",
                choices=(
                    ("5", _l("Signing and encryption")),
                    ("1", _l("Signing")),
                    ("4", _l("Encryption")),
                ),
                default="5",
            ),
        ),
        conflict_field="url",
    )
)
_spec(
    KindSpec(
        Kind.WEBCLIP,
        _l("Web clip"),
        _l("A work web page on the Home Screen or in the Dock."),
        WEBCLIP,
        _fields(
            WEBCLIP,
            Field("label", "Label", _l("Label"), required=True),
            Field("url", "URL", _l("Address (URL)"), required=True),
            Field(
                "removable", "IsRemovable", _l("The person may remove it"), "bool", default=True
            ),  # fmt: skip
            Field("full_screen", "FullScreen", _l("Open full screen"), "bool", default=False),
        ),
        conflict_field="url",
    )
)
_spec(
    KindSpec(
        Kind.PASSCODE,
        _l("Passcode"),
        _l("The passcode the device must have."),
        PASSCODE,
        _fields(
            PASSCODE,
            Field("forcePIN", "forcePIN", _l("Require a passcode"), "bool", default=True),
            Field(
                "allowSimple",
                "allowSimple",
                _l("Allow simple passcodes such as 1234"),
                "bool",
                default=False,
            ),  # fmt: skip
            Field(
                "requireAlphanumeric",
                "requireAlphanumeric",
                _l("Require letters"),
                "bool",
                default=False,
            ),  # fmt: skip
            Field(
                "minLength", "minLength", _l("Minimum length"), "int", bounds=(0, 16), default=6
            ),  # fmt: skip
            Field(
                "minComplexChars",
                "minComplexChars",
                _l("Minimum special characters"),
                "int",
                bounds=(0, 4),
            ),  # fmt: skip
            Field(
                "maxFailedAttempts",
                "maxFailedAttempts",
                _l("Failed attempts before erase or lock"),
                "int",
                bounds=(2, 11),
            ),  # fmt: skip
            Field(
                "maxInactivity",
                "maxInactivity",
                _l("Auto-lock after (minutes)"),
                "int",
                bounds=(0, 15),
            ),  # fmt: skip
            Field(
                "maxPINAgeInDays",
                "maxPINAgeInDays",
                _l("Maximum passcode age (days)"),
                "int",
                bounds=(0, 730),
            ),  # fmt: skip
            Field(
                "pinHistory", "pinHistory", _l("Passcodes remembered"), "int", bounds=(1, 50)
            ),  # fmt: skip
        ),
        macos_user_enrollment_name="passcode",
        conflict_field=None,
    )
)
_spec(
    KindSpec(
        Kind.APP_CONFIG,
        _l("Managed app configuration"),
        _l(
            "Settings for one work app (its managed configuration), sent with Apple's "
            "Settings command."
        ),  # fmt: skip
        SETTINGS_COMMAND,
        _fields(
            SETTINGS_COMMAND,
            Field("bundle_id", "Identifier", _l("App bundle ID"), required=True),
            Field(
                "values",
                "Configuration",
                _l("Settings, one key=value a line"),
                "lines",
                required=True,
            ),
        ),
        conflict_field="bundle_id",
    )
)


def clean(kind: Kind, raw: Mapping[str, Any], stored: Iterable[str] = ()) -> dict[str, Any]:
    """The stored settings of `kind` from form values (strings, files as bytes).

    Secrets stay as given: the service encrypts them. `stored` names the secrets and files
    already kept, which an empty field leaves as they are. Raises SettingsError on the first
    value Apple would not accept.
    """
    spec = SPECS[Kind(kind)]
    kept = set(stored)
    cleaned: dict[str, Any] = {}
    for f in spec.fields:
        value = raw.get(f.name)
        if f.name in kept and value in (None, "", b""):
            continue
        if f.input == "bool":
            cleaned[f.name] = value in (True, "y", "on", "true", "1")
            continue
        if f.input == "file":
            if isinstance(value, bytes) and value:
                if len(value) > MAX_FILE:
                    raise SettingsError(f.name, _l("The file is too large (64 KB at most)."))
                cleaned[f.name] = base64.b64encode(value).decode()
            elif isinstance(value, str) and value:
                cleaned[f.name] = value  # already stored (base64)
            elif f.required:
                raise SettingsError(f.name, _l("Choose a file."))
            continue
        text = ("" if value is None else str(value)).strip()
        if not text:
            if f.required:
                raise SettingsError(f.name, _l("This field is required."))
            continue
        if len(text) > MAX_TEXT * (8 if f.input == "lines" else 1):
            raise SettingsError(f.name, _l("This value is too long."))
        if f.input == "int":
            try:
                number = int(text)
            except ValueError:
                raise SettingsError(f.name, _l("Enter a whole number.")) from None
            if f.bounds and not f.bounds[0] <= number <= f.bounds[1]:
                raise SettingsError(
                    f.name,
                    _l(
                        "Enter a number from %(low)d to %(high)d.",
                        low=f.bounds[0],
                        high=f.bounds[1],
                    ),  # fmt: skip
                )
            cleaned[f.name] = number
        elif f.input == "choice":
            if text not in {key for key, _label in f.choices}:
                raise SettingsError(f.name, _l("Choose one of the options."))
            cleaned[f.name] = text
        elif f.input == "lines":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            cleaned[f.name] = lines
        else:
            cleaned[f.name] = text
    _check_kind(spec, {**{name: True for name in kept}, **cleaned})
    return cleaned


def _check_kind(spec: KindSpec, values: dict[str, Any]) -> None:
    kind = spec.kind
    if kind == Kind.PER_APP_VPN:
        for bundle in values.get("apps", []):
            if not BUNDLE_ID.fullmatch(bundle):
                raise SettingsError("apps", _l("“%(value)s” is not a bundle ID.", value=bundle))
        if values.get("auth") == "SharedSecret" and not values.get("shared_secret"):
            raise SettingsError("shared_secret", _l("Give the shared secret."))
    if kind == Kind.WIFI:
        if values.get("encryption") not in (None, "None") and not values.get("password"):
            raise SettingsError("password", _l("Give the network's password."))
        if values.get("proxy") == "Manual" and not values.get("proxy_server"):
            raise SettingsError("proxy_server", _l("Give the proxy server."))
    if kind == Kind.WEBCLIP and not re.match(r"https?://", values.get("url", "")):
        raise SettingsError("url", _l("Give an address starting with https://."))
    if kind == Kind.SCEP and not re.match(r"https?://", values.get("url", "")):
        raise SettingsError("url", _l("Give an address starting with https://."))
    if kind == Kind.PKCS12 and isinstance(values.get("file"), str):
        try:
            base64.b64decode(values["file"], validate=True)
        except (binascii.Error, ValueError):
            raise SettingsError("file", _l("Choose a file.")) from None
    if kind == Kind.APP_CONFIG:
        if not BUNDLE_ID.fullmatch(values.get("bundle_id", "")):
            raise SettingsError(
                "bundle_id", _l("Give the app's bundle ID, such as com.example.app.")
            )
        app_configuration(values.get("values", []))
    if kind == Kind.PASSCODE:
        if not any(values.get(f.name) not in (None, False) for f in spec.fields):
            raise SettingsError("forcePIN", _l("Set at least one passcode rule."))


def _typed(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[0-9]{1,18}", text):
        return int(text)
    return text


def app_configuration(lines: list[str]) -> dict[str, Any]:
    """An app's managed configuration from key=value lines (true/false and numbers typed)."""
    result: dict[str, Any] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError("values", _l("Write each setting as key=value: “%(line)s”.",
                                             line=line))  # fmt: skip
        result[key] = _typed(value.strip())
    return result


def stable_uuid(identifier: str, part: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{identifier}:{part}")).upper()


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


def _set(payload: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        payload = payload.setdefault(part, {})
    payload[parts[-1]] = value


def _payload_value(f: Field, value: Any) -> Any:
    if f.input == "file":
        return base64.b64decode(value)
    if f.input == "choice" and f.key.endswith(("Keysize", "Key Usage")):
        return int(value)
    if f.key == "PayloadContent.Subject":
        return [[[part.split("=", 1)[0].strip(), part.split("=", 1)[1].strip()]]
                for part in value.split(",") if "=" in part]  # fmt: skip
    return value


def build_payloads(
    kind: Kind,
    settings: Mapping[str, Any],
    *,
    identifier: str,
    version: int,
    platform: str,
    variables: Mapping[str, str],
    secrets: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Apple's payloads (without the profile around them) for these settings on `platform`.

    `secrets` holds the decrypted secret fields; `variables` the person's values for
    {email}, {name}, {managed_apple_id}.
    """
    spec = SPECS[Kind(kind)]
    values = {**settings, **(secrets or {})}
    main: dict[str, Any] = {}
    extra: dict[str, dict[str, Any]] = {}
    for f in spec.fields:
        if f.name not in values or values[f.name] in (None, "", []):
            continue
        value = _substitute(_payload_value(f, values[f.name]), variables)
        if f.payload_type != spec.payload_type:
            extra.setdefault(f.payload_type, {})[f.key] = value
        else:
            _set(main, f.key, value)
    if kind == Kind.WIFI:
        if main.get("EncryptionType") == "None":
            main.pop("Password", None)
        if main.get("ProxyType") == "None":
            for key in ("ProxyType", "ProxyServer", "ProxyServerPort"):
                main.pop(key, None)
    if kind == Kind.PER_APP_VPN:
        vpn_uuid = per_app_vpn_uuid(identifier)
        main["VPNUUID"] = vpn_uuid
        main["VPNType"] = "IKEv2"
        ike = main.setdefault("IKEv2", {})
        if ike.get("AuthenticationMethod") != "SharedSecret":
            ike.pop("SharedSecret", None)
        apps = extra.pop(APP_VPN_MAPPING, {}).get("AppLayerVPNMapping", [])
        if apps and platform == "macos":
            extra[APP_VPN_MAPPING] = {
                "AppLayerVPNMapping": [
                    {
                        "Identifier": bundle,
                        "SigningIdentifier": bundle,
                        "DesignatedRequirement": (
                            f'identifier "{bundle}" and anchor apple generic'
                        ),
                        "VPNUUID": vpn_uuid,
                    }
                    for bundle in apps
                ]
            }
    if kind == Kind.PASSCODE:
        main = {key: value for key, value in main.items() if value is not False or key in (
            "allowSimple",)}  # fmt: skip
    result = []
    for number, (payload_type, content) in enumerate([(spec.payload_type, main), *extra.items()]):
        result.append(
            {
                "PayloadType": payload_type,
                "PayloadVersion": 1,
                "PayloadIdentifier": f"{identifier}.{number}",
                "PayloadUUID": stable_uuid(identifier, f"{payload_type}:{version}"),
                **content,
            }
        )
    return result


def per_app_vpn_uuid(identifier: str) -> str:
    """The VPNUUID of the per-app VPN whose profile has `identifier`."""
    return stable_uuid(identifier, "vpn")


def app_vpn_attributes(identifier: str, bundles: list[str]) -> dict[str, Any]:
    """The Settings command (without RequestType) that routes these apps through the per-app
    VPN on an iPhone or iPad, where the app-mapping payload does not exist."""
    vpn_uuid = per_app_vpn_uuid(identifier)
    return {
        "Settings": [
            {"Item": "ApplicationAttributes", "Identifier": bundle,
             "Attributes": {"VPNUUID": vpn_uuid}}
            for bundle in bundles
        ]
    }  # fmt: skip


def settings_command(settings: Mapping[str, Any], *, variables: Mapping[str, str],
                     remove: bool = False) -> dict[str, Any]:  # fmt: skip
    """The Settings command (without RequestType) that applies or removes an app's managed
    configuration."""
    item: dict[str, Any] = {"Item": "ApplicationConfiguration", "Identifier": settings["bundle_id"]}
    if not remove:
        item["Configuration"] = _substitute(
            app_configuration(settings.get("values", [])), variables
        )
        item["Configuration"] = {
            key: _substitute(value, variables) for key, value in item["Configuration"].items()
        }
    return {"Settings": [item]}


def secret_fields(kind: Kind) -> list[str]:
    return [f.name for f in SPECS[Kind(kind)].fields if f.input == "secret"]


def conflict_key(kind: Kind, settings: Mapping[str, Any]) -> str:
    """What a configuration sets, to find two that set the same thing on one device."""
    spec = SPECS[Kind(kind)]
    if spec.conflict_field is None:
        return str(kind)
    value = str(settings.get(spec.conflict_field or "", "")).strip().casefold()
    return f"{kind}:{value}"
