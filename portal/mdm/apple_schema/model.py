"""What Apple's schema says of a payload, command, message or key: the systems it exists
on, what User Enrollment does with it, and its keys (read as described in the package)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ENROLLMENTS = ("user", "device")
# Apple's schema knows no iPadOS: an iPad follows the iOS entries.
_OS_ALIASES = {
    "ios": "iOS",
    "ipados": "iOS",
    "macos": "macOS",
    "tvos": "tvOS",
    "visionos": "visionOS",
    "watchos": "watchOS",
}
_OSES = ("iOS", "macOS", "tvOS", "visionOS", "watchOS")
NOT_AVAILABLE = "n/a"
ANY_KEY = "ANY"

ALLOWED = "allowed"
FORBIDDEN = "forbidden"
IGNORED = "ignored"
REQUIRED = "required"
UNSUPPORTED = "unsupported"

# Payloads whose schema file lists only what they add to another payload's keys: Apple's
# App-Layer VPN "fields are the same as the VPN payload, with the addition of" its own.
_SAME_KEYS_AS = {"com.apple.vpn.managed.applayer": "com.apple.vpn.managed"}

_ALL_ENROLLMENTS = ("supervised", "device", "user", "local")


class SchemaError(KeyError):
    """Apple's schema has no such payload type, command, check-in message or key."""

    def __str__(self) -> str:  # KeyError would show the repr of its argument
        return str(self.args[0]) if self.args else ""


# --- what the schema says --------------------------------------------------------------


@dataclass(frozen=True)
class OSSupport:
    """One system's entry of a `supportedOS` block, with what it inherited merged in."""

    os: str
    introduced: str | None
    deprecated: str | None = None
    removed: str | None = None
    # allowed | forbidden | ignored | required; None when the schema says nothing.
    userenrollment: str | None = None
    supervised: bool | None = None
    devicechannel: bool | None = None
    userchannel: bool | None = None
    # Declarations: supervised, device, user, local.
    allowed_enrollments: tuple[str, ...] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def supported(self) -> bool:
        return self.introduced != NOT_AVAILABLE

    def mode(self, enrollment: str) -> str:
        """allowed | forbidden | ignored | unsupported for this kind of enrollment."""
        if not self.supported:
            return UNSUPPORTED
        if self.allowed_enrollments is not None:
            wanted = ("user",) if enrollment == "user" else ("device", "supervised")
            return ALLOWED if set(wanted) & set(self.allowed_enrollments) else FORBIDDEN
        if enrollment != "user":
            # "required": only under User Enrollment (EnrollmentID, ManagedAppleID).
            return FORBIDDEN if self.userenrollment == REQUIRED else ALLOWED
        if self.userenrollment in (ALLOWED, REQUIRED):
            return ALLOWED
        if self.userenrollment in (FORBIDDEN, IGNORED):
            return self.userenrollment
        return FORBIDDEN  # a system or payload without User Enrollment


def _os_support(os: str, raw: Mapping[str, Any] | None) -> OSSupport:
    if raw is None:
        return OSSupport(os, NOT_AVAILABLE)
    ue = raw.get("userenrollment")
    enrollments = raw.get("allowed-enrollments")
    return OSSupport(
        os=os,
        introduced=_version_text(raw.get("introduced")),
        deprecated=_version_text(raw.get("deprecated")),
        removed=_version_text(raw.get("removed")),
        userenrollment=ue.get("mode") if isinstance(ue, Mapping) else None,
        supervised=raw.get("supervised"),
        devicechannel=raw.get("devicechannel"),
        userchannel=raw.get("userchannel"),
        allowed_enrollments=tuple(enrollments) if enrollments is not None else None,
        raw=raw,
    )


def _version_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _merge(parent: Mapping[str, Mapping[str, Any]], own: Mapping[str, Any] | None):
    """The effective supportedOS of a key: its parent's, overridden by its own entries."""
    if not own:
        return parent
    merged = dict(parent)
    for os, entry in own.items():
        if os not in parent:
            continue  # a key cannot exist where its payload does not
        merged[os] = {**parent[os], **(entry or {})}
    return merged


@dataclass(frozen=True, eq=False)
class KeySchema:
    """One key of a payload, command or message, as Apple's schema describes it."""

    key: str
    type: str  # string, integer, real, boolean, data, date, array, dictionary, any
    presence: str  # required | optional
    content: str
    rangelist: tuple[Any, ...] | None
    range: tuple[Any, Any] | None  # (min, max), either may be None
    default: Any
    title: str | None
    _raw: Mapping[str, Any] = field(repr=False)
    _os: Mapping[str, Mapping[str, Any]] = field(repr=False)

    @classmethod
    def build(cls, raw: Mapping[str, Any], parent_os: Mapping[str, Mapping[str, Any]]):
        bounds = raw.get("range")
        return cls(
            key=str(raw.get("key")),
            type=str(raw.get("type", "<any>")).strip("<>"),
            presence=str(raw.get("presence", "optional")),
            content=str(raw.get("content") or ""),
            rangelist=tuple(raw["rangelist"]) if raw.get("rangelist") is not None else None,
            range=(bounds.get("min"), bounds.get("max")) if isinstance(bounds, Mapping) else None,
            default=raw.get("default"),
            title=raw.get("title"),
            _raw=raw,
            _os=_merge(parent_os, raw.get("supportedOS")),
        )

    @functools.cached_property
    def supported_os(self) -> dict[str, OSSupport]:
        """Every system's effective entry (a system missing here has no such key)."""
        return {os: _os_support(os, entry) for os, entry in self._os.items()}

    @functools.cached_property
    def subkeys(self) -> tuple[KeySchema, ...]:
        # Built on demand: a few of Apple's types contain themselves (icon folders).
        return tuple(KeySchema.build(sub, self._os) for sub in self._raw.get("subkeys") or ())

    def subkey(self, name: str) -> KeySchema | None:
        return _find(self.subkeys, name)

    def support(self, os: str) -> OSSupport:
        return self.supported_os.get(normalize_os(os)) or OSSupport(normalize_os(os), "n/a")

    def mode(self, os: str, enrollment: str) -> str:
        return self.support(os).mode(_enrollment(enrollment))

    @property
    def item(self) -> KeySchema | None:
        """For an array: the schema of its items, when Apple gives one."""
        return self.subkeys[0] if self.type == "array" and self.subkeys else None


def _find(keys: Iterable[KeySchema], name: str) -> KeySchema | None:
    return next((k for k in keys if k.key == name), None)


@dataclass(frozen=True, eq=False)
class PayloadSchema:
    """A profile payload type, command, check-in message or declaration."""

    payload_type: str  # PayloadType, RequestType, MessageType or declaration Type
    kind: str  # profile | command | checkin | declaration
    title: str
    description: str
    source: str  # the YAML file, relative to DATA_DIR
    _raw: Mapping[str, Any] = field(repr=False)
    _os: Mapping[str, Mapping[str, Any]] = field(repr=False)

    @functools.cached_property
    def supported_os(self) -> dict[str, OSSupport]:
        return {os: _os_support(os, entry) for os, entry in self._os.items()}

    @functools.cached_property
    def keys(self) -> tuple[KeySchema, ...]:
        own = tuple(KeySchema.build(raw, self._os) for raw in self._raw.get("payloadkeys") or ())
        base = _SAME_KEYS_AS.get(self.payload_type) if self.kind == "profile" else None
        if base is None:
            return own
        # The base payload's keys, with this payload's systems and User Enrollment rules.
        from .catalog import _schema  # the catalog builds these objects: imported on use

        names = {key.key for key in own}
        inherited = (
            KeySchema.build(raw, self._os)
            for raw in _schema().profiles[base]._raw.get("payloadkeys") or ()
            if raw.get("key") not in names
        )
        return own + tuple(inherited)

    @functools.cached_property
    def response_keys(self) -> tuple[KeySchema, ...]:
        """What the device answers (commands) or the server answers (check-ins)."""
        return tuple(KeySchema.build(raw, self._os) for raw in self._raw.get("responsekeys") or ())

    def key(self, name: str) -> KeySchema | None:
        return _find(self.keys, name)

    def response_key(self, name: str) -> KeySchema | None:
        return _find(self.response_keys, name)

    def support(self, os: str) -> OSSupport:
        return self.supported_os.get(normalize_os(os)) or OSSupport(normalize_os(os), "n/a")

    def mode(self, os: str, enrollment: str) -> str:
        """allowed | forbidden | unsupported (a whole payload is never just ignored)."""
        return self.support(os).mode(_enrollment(enrollment))


def normalize_os(os: str) -> str:
    """Apple's schema name of a system: iOS, macOS, …; iPadOS (and the portal's lower-case
    platform names) map as Apple does. ValueError for anything else."""
    name = _OS_ALIASES.get(str(os).lower())
    if name is None:
        raise ValueError(f"unknown operating system: {os!r}")
    return name


def _enrollment(enrollment: str) -> str:
    if enrollment not in ENROLLMENTS:
        raise ValueError(f"enrollment must be 'user' or 'device', not {enrollment!r}")
    return enrollment
