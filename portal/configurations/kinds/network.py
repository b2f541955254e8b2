"""The network kinds: Wi-Fi and per-app VPN."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...models import ConfigurationKind as Kind
from .fields import (
    APP_VPN,
    APP_VPN_MAPPING,
    WIFI,
    Field,
    KindSpec,
    _fields,
)

ENCRYPTION = (
    ("WPA2", "WPA2"),
    ("WPA3", "WPA3"),
    ("WPA", _l("WPA or WPA2")),
    ("Any", _l("Any")),
    ("None", _l("None (open network)")),
)
PROXY = (("None", _l("None")), ("Manual", _l("Manual")), ("Auto", _l("Automatic")))

SPECS: list[KindSpec] = []
_spec = SPECS.append

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
