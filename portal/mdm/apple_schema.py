"""Apple's device-management schema, loaded from the YAML files Apple publishes.

The files (profiles, commands, check-in messages, declarations) are vendored unchanged in
`apple_schema_data/` beside this module; they are parsed once, on first use, and kept.

What a key allows is read the way Apple's documentation renders the schema: a payload's
`supportedOS` says on which systems it exists (`introduced: n/a` meaning never) and what User
Enrollment does with it (`userenrollment.mode`: allowed, forbidden, ignored, required); a
key's own `supportedOS` overrides those facts for that key and everything under it, and a key
without one inherits them. Declarations say the same with `allowed-enrollments`.

The public functions:
- `payload_schema`, `command_schema`, `checkin_schema`: the schema of one profile payload type
  (or declaration type), command request type, check-in message type;
- `key_mode`: what one key does on one system and enrollment type;
- `validate_profile`, `validate_command`, `validate_checkin`, `validate_declaration`: every
  finding for a whole message, empty when Apple's schema has nothing to say against it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DATA_DIR",
    "ENROLLMENTS",
    "Finding",
    "KeySchema",
    "OSSupport",
    "PayloadSchema",
    "SchemaError",
    "checkin_schema",
    "command_schema",
    "iter_findings_text",
    "key_mode",
    "normalize_os",
    "payload_schema",
    "payload_types",
    "validate_checkin",
    "validate_command",
    "validate_declaration",
    "validate_profile",
    "validate_response",
    "status_item_schema",
    "status_item_supported",
    "validate_status_subscriptions",
]

DATA_DIR = Path(__file__).with_name("apple_schema_data")
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

# Keys Apple marks required under User Enrollment although another key stands in for them:
# profile-based User Enrollment names the account with ManagedAppleID, account-driven User
# Enrollment (iOS 15, macOS 14 and later) with AssignedManagedAppleID instead.
_SATISFIED_BY = {("com.apple.mdm", "ManagedAppleID"): ("AssignedManagedAppleID",)}

# Payloads whose schema file lists only what they add to another payload's keys: Apple's
# App-Layer VPN "fields are the same as the VPN payload, with the addition of" its own.
_SAME_KEYS_AS = {"com.apple.vpn.managed.applayer": "com.apple.vpn.managed"}

_ALL_ENROLLMENTS = ("supervised", "device", "user", "local")

_CONTAINERS = ("array", "dictionary")
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "real": (int, float),
    "boolean": (bool,),
    "data": (bytes, bytearray),
    "date": (datetime, date),
    "array": (list, tuple),
    "dictionary": (dict,),
}


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


# --- loading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Schema:
    profiles: dict[str, PayloadSchema]
    commands: dict[str, PayloadSchema]
    checkins: dict[str, PayloadSchema]
    declarations: dict[str, PayloadSchema]
    status_items: dict[str, PayloadSchema] = field(default_factory=dict)


def _load_file(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader


def _payload(path: Path, kind: str, name_key: str) -> PayloadSchema:
    raw = _load_file(path)
    head = raw.get("payload") or {}
    supported = {os: entry or {} for os, entry in (head.get("supportedOS") or {}).items()}
    if kind == "declaration":
        # Activations (and a few management declarations) name no allowed-enrollments:
        # they apply under every enrollment, the configurations they activate say the rest.
        supported = {
            os: entry if "allowed-enrollments" in entry or entry.get("introduced") == "n/a"
            else {**entry, "allowed-enrollments": list(_ALL_ENROLLMENTS)}
            for os, entry in supported.items()
        }  # fmt: skip
    return PayloadSchema(
        payload_type=str(head.get(name_key)),
        kind=kind,
        title=str(raw.get("title") or ""),
        description=str(raw.get("description") or ""),
        source=path.relative_to(DATA_DIR).as_posix(),
        _raw=raw,
        _os=supported,
    )


@functools.cache
def _schema() -> _Schema:
    """Every schema file, parsed once per process."""

    def load(folder: str, kind: str, name_key: str) -> dict[str, PayloadSchema]:
        found: dict[str, PayloadSchema] = {}
        for path in sorted((DATA_DIR / folder).rglob("*.yaml")):
            schema = _payload(path, kind, name_key)
            found.setdefault(schema.payload_type, schema)
        return found

    declarations = load("declarative/declarations", "declaration", "declarationtype")
    return _Schema(
        profiles=load("mdm/profiles", "profile", "payloadtype"),
        commands=load("mdm/commands", "command", "requesttype"),
        checkins=load("mdm/checkin", "checkin", "requesttype"),
        declarations=declarations,
        status_items=load("declarative/status", "status", "statusitemtype"),
    )


def payload_types(kind: str = "profile") -> list[str]:
    """Every payload type (or command, check-in, declaration type) Apple's schema defines."""
    table = {
        "profile": _schema().profiles,
        "command": _schema().commands,
        "checkin": _schema().checkins,
        "declaration": _schema().declarations,
    }[kind]
    return sorted(table)


def payload_schema(payload_type: str) -> PayloadSchema:
    """The schema of a profile payload type ("com.apple.mdm"; "TopLevel" for the profile
    itself, "CommonPayloadKeys" for the keys of every payload) or of a declaration type
    ("com.apple.configuration.passcode.settings"). SchemaError if Apple has none."""
    schema = _schema()
    found = schema.profiles.get(payload_type) or schema.declarations.get(payload_type)
    if found is None:
        raise SchemaError(f"no payload type {payload_type!r} in Apple's schema")
    return found


def command_schema(request_type: str) -> PayloadSchema:
    found = _schema().commands.get(request_type)
    if found is None:
        raise SchemaError(f"no command {request_type!r} in Apple's schema")
    return found


def checkin_schema(message_type: str) -> PayloadSchema:
    found = _schema().checkins.get(message_type)
    if found is None:
        raise SchemaError(f"no check-in message {message_type!r} in Apple's schema")
    return found


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


def _resolve_key(
    payload: PayloadSchema, key: str | Sequence[str], *, response: bool = False
) -> KeySchema:
    path = [key] if isinstance(key, str) else list(key)
    if not path:
        raise SchemaError("an empty key path")
    found = payload.response_key(path[0]) if response else payload.key(path[0])
    if found is None and payload.kind == "profile":
        found = payload_schema("CommonPayloadKeys").key(path[0])
    for part in path[1:]:
        if found is None:
            break
        holder = found
        while holder is not None and holder.type == "array":
            item = holder.item
            if item is not None and item.key == part:
                break  # the array's item named explicitly
            holder = item
        if holder is not found and holder is not None and holder.key == part:
            found = holder
            continue
        found = holder.subkey(part) if holder is not None else None
    if found is None:
        raise SchemaError(f"no key {'.'.join(path)!r} in {payload.payload_type!r}")
    return found


def key_mode(
    payload_type: str,
    key: str | Sequence[str],
    os: str,
    enrollment: str,
    *,
    kind: str = "profile",
    response: bool = False,
) -> str:
    """What the device does with `key` of `payload_type` on `os` ("iOS", "iPadOS", "macOS")
    under `enrollment` ("user" or "device"): "allowed", "forbidden", "ignored" (accepted and
    not applied) or "unsupported" (no such key, or no such payload, on that system).

    `key` may be a path into nested keys, as a sequence of names. A whole payload that User
    Enrollment forbids makes each of its keys forbidden. `kind` "command" or "checkin" reads
    `payload_type` as a command's RequestType or a check-in's MessageType, and `response`
    asks about the keys of the answer. SchemaError for an unknown payload type or key."""
    if kind == "profile":
        payload = payload_schema(payload_type)
    elif kind == "command":
        payload = command_schema(payload_type)
    elif kind == "checkin":
        payload = checkin_schema(payload_type)
    else:
        raise ValueError(f"kind must be profile, command or checkin, not {kind!r}")
    found = _resolve_key(payload, key, response=response)
    payload_mode = payload.mode(os, enrollment)
    if payload_mode != ALLOWED:
        return payload_mode
    return found.mode(os, enrollment)


# --- validating ------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing Apple's schema says against a message.

    Codes: unknown_payload_type, unknown_command, unknown_message_type, payload_unsupported,
    payload_forbidden, payload_introduced_later, payload_removed, unknown_key,
    key_unsupported, forbidden_key, ignored_key, introduced_later, removed, wrong_type,
    missing_required, value_not_allowed, out_of_range.
    """

    code: str
    path: str  # where, e.g. "PayloadContent[1].AccessRights"
    message: str
    payload_type: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


def _version(text: str | None) -> tuple[int, ...] | None:
    if not text or text == NOT_AVAILABLE:
        return None
    numbers = re.findall(r"\d+", text)
    return tuple(int(n) for n in numbers) if numbers else None


def _at_least(version: tuple[int, ...], other: tuple[int, ...]) -> bool:
    width = max(len(version), len(other))
    pad = lambda v: v + (0,) * (width - len(v))  # noqa: E731
    return pad(version) >= pad(other)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    return type(value).__name__


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("any", ""):
        return True
    expected = _PYTHON_TYPES.get(kind)
    if expected is None:
        return True  # a type this module does not know: nothing to say
    if isinstance(value, bool) and bool not in expected:
        return False  # bool is an int in Python; not in a plist
    return isinstance(value, expected)


@dataclass
class _Context:
    os: str
    enrollment: str
    os_version: tuple[int, ...] | None
    channel: str | None  # device | user, for messages that say which channel they use
    payload_type: str | None
    findings: list[Finding]

    def add(self, code: str, path: str, message: str, key: str | None = None) -> None:
        self.findings.append(Finding(code, path, message, self.payload_type, key))


_KEY_CODES = ("key_unsupported", "introduced_later", "removed")
_PAYLOAD_CODES = ("payload_unsupported", "payload_introduced_later", "payload_removed")


def _availability(
    ctx: _Context,
    support: OSSupport,
    path: str,
    what: str,
    key: str | None,
    codes: tuple[str, str, str],
) -> bool:
    """Add the findings about where `what` exists; False when it does not exist at all."""
    unsupported, later, removed_code = codes
    if not support.supported:
        ctx.add(unsupported, path, f"{what} does not exist on {ctx.os}", key)
        return False
    if ctx.os_version is not None:
        introduced = _version(support.introduced)
        if introduced is not None and not _at_least(ctx.os_version, introduced):
            ctx.add(later, path, f"{what} needs {ctx.os} {support.introduced} or later", key)
        removed = _version(support.removed)
        if removed is not None and _at_least(ctx.os_version, removed):
            ctx.add(removed_code, path, f"{what} was removed in {ctx.os} {support.removed}", key)
    return True


def _in_channel(support: OSSupport, channel: str | None) -> bool:
    if channel == "device":
        return support.devicechannel is not False
    if channel == "user":
        return support.userchannel is not False
    return True


def _required(key: KeySchema, ctx: _Context, present: Mapping[str, Any]) -> bool:
    support = key.support(ctx.os)
    if not support.supported or not _in_channel(support, ctx.channel):
        return False
    if ctx.os_version is not None:
        removed = _version(support.removed)
        introduced = _version(support.introduced)
        if removed is not None and _at_least(ctx.os_version, removed):
            return False
        if introduced is not None and not _at_least(ctx.os_version, introduced):
            return False
    mode = support.userenrollment
    if ctx.enrollment == "user":
        if mode in (FORBIDDEN, IGNORED):
            return False
        needed = mode == REQUIRED or key.presence == REQUIRED
    else:
        # A key User Enrollment requires is one only User Enrollment sends (EnrollmentID).
        needed = key.presence == REQUIRED and mode != REQUIRED
    if needed:
        stand_ins = _SATISFIED_BY.get((ctx.payload_type or "", key.key), ())
        needed = not any(name in present for name in stand_ins)
    return needed


def _check_value(ctx: _Context, key: KeySchema, value: Any, path: str) -> None:
    if not _is_type(value, key.type):
        ctx.add("wrong_type", path, f"must be {key.type}, not {_type_name(value)}", key.key)
        return
    if key.rangelist is not None and key.type not in _CONTAINERS:
        if value not in key.rangelist:
            allowed = ", ".join(repr(v) for v in key.rangelist)
            ctx.add("value_not_allowed", path, f"{value!r} is not one of {allowed}", key.key)
    if key.range is not None and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = key.range
        if (low is not None and value < low) or (high is not None and value > high):
            ctx.add("out_of_range", path, f"{value!r} is outside {low}…{high}", key.key)
    if key.type == "dictionary" and key.subkeys:
        _check_dict(ctx, key.subkeys, value, path)
    elif key.type == "array" and key.item is not None:
        for index, element in enumerate(value):
            element_path = f"{path}[{index}]"
            item = _union_item(key, element) or key.item
            if item.type in _CONTAINERS or not item.subkeys:
                _check_value(ctx, item, element, element_path)
                continue
            # An array of strings whose subkeys are the values it may hold, each with its
            # own support (DeviceInformation's Queries).
            if not _is_type(element, item.type):
                ctx.add("wrong_type", element_path, f"must be {item.type}", key.key)
                continue
            choice = item.subkey(element) if isinstance(element, str) else None
            if choice is None:
                ctx.add(
                    "value_not_allowed",
                    element_path,
                    f"{element!r} is not a value Apple's schema defines here",
                    key.key,
                )
                continue
            _check_mode(ctx, choice, element_path)


def _union_item(key: KeySchema, element: Any) -> KeySchema | None:
    """The item schema an element of an array of several kinds of dictionary follows (the
    Settings command's list: one dictionary per setting, told apart by its `Item`)."""
    if len(key.subkeys) < 2 or not isinstance(element, Mapping):
        return None
    for candidate in key.subkeys:
        tag = candidate.subkey("Item") if candidate.type == "dictionary" else None
        if tag is not None and tag.rangelist and element.get("Item") in tag.rangelist:
            # The item's own systems (and User Enrollment rules) are its tag's.
            if candidate._raw.get("supportedOS") is None and tag._raw.get("supportedOS"):
                return KeySchema.build(
                    {**candidate._raw, "supportedOS": tag._raw["supportedOS"]}, key._os
                )
            return candidate
    return None


def _check_dict(
    ctx: _Context,
    keys: Sequence[KeySchema],
    value: Mapping[str, Any],
    path: str,
    *,
    skip: Iterable[str] = (),
) -> None:
    skipped = set(skip)
    by_name = {k.key: k for k in keys}
    wildcard = by_name.get(ANY_KEY)
    for name, item in value.items():
        if name in skipped:
            continue
        item_path = _join(path, str(name))
        key = by_name.get(name, wildcard)
        if key is None:
            ctx.add("unknown_key", item_path, "is not a key Apple's schema defines here", name)
            continue
        _check_key(ctx, key, item, item_path)
    for key in keys:
        if key.key == ANY_KEY or key.key in value or key.key in skipped:
            continue
        if _required(key, ctx, value):
            ctx.add("missing_required", _join(path, key.key), "is required", key.key)


def _check_mode(ctx: _Context, key: KeySchema, path: str) -> bool:
    """Add the findings about whether `key` exists and works here; False if it does not exist."""
    support = key.support(ctx.os)
    if not _availability(ctx, support, path, f"key {key.key}", key.key, _KEY_CODES):
        return False
    mode = support.mode(ctx.enrollment)
    if mode == FORBIDDEN:
        where = "under User Enrollment" if ctx.enrollment == "user" else "outside User Enrollment"
        ctx.add("forbidden_key", path, f"is forbidden {where}", key.key)
    elif mode == IGNORED:
        ctx.add("ignored_key", path, "is ignored under User Enrollment", key.key)
    return True


def _check_key(ctx: _Context, key: KeySchema, value: Any, path: str) -> None:
    if _check_mode(ctx, key, path):
        _check_value(ctx, key, value, path)


def _context(os, enrollment, os_version, channel=None, payload_type=None) -> _Context:
    return _Context(
        os=normalize_os(os),
        enrollment=_enrollment(enrollment),
        os_version=_version(os_version) if os_version else None,
        channel=channel,
        payload_type=payload_type,
        findings=[],
    )


def _check_payload_support(ctx: _Context, schema: PayloadSchema, path: str, what: str) -> bool:
    support = schema.support(ctx.os)
    if not _availability(ctx, support, path, what, None, _PAYLOAD_CODES):
        return False
    if support.mode(ctx.enrollment) == FORBIDDEN:
        ctx.add("payload_forbidden", path, f"{what} is forbidden under User Enrollment")
        return False
    return True


def validate_profile(
    profile: Mapping[str, Any], os: str, enrollment: str, os_version: str | None = None
) -> list[Finding]:
    """Every finding of Apple's schema against a configuration profile (the plist's top-level
    dictionary) for a device on `os` under `enrollment`; `os_version` (e.g. "17.5") adds
    the checks of when payloads and keys were introduced or removed.

    Checks the profile's own keys and each payload's: unknown keys, wrong types, missing
    required keys, values outside Apple's lists and ranges, keys User Enrollment forbids or
    ignores, payload types the system or enrollment type does not support."""
    ctx = _context(os, enrollment, os_version, payload_type="TopLevel")
    if not isinstance(profile, Mapping):
        ctx.add("wrong_type", "", f"a profile must be a dictionary, not {_type_name(profile)}")
        return ctx.findings
    top = payload_schema("TopLevel")
    _check_dict(ctx, top.keys, profile, "", skip=("PayloadContent",))
    content = profile.get("PayloadContent")
    if content is None:
        if not profile.get("IsEncrypted"):
            ctx.add("missing_required", "PayloadContent", "is required", "PayloadContent")
        return ctx.findings
    if not isinstance(content, list | tuple):
        ctx.add("wrong_type", "PayloadContent", "must be array", "PayloadContent")
        return ctx.findings
    for index, item in enumerate(content):
        _validate_payload(ctx, item, f"PayloadContent[{index}]")
    return ctx.findings


def _validate_payload(ctx: _Context, payload: Any, path: str) -> None:
    if not isinstance(payload, Mapping):
        ctx.payload_type = None
        ctx.add("wrong_type", path, f"a payload must be a dictionary, not {_type_name(payload)}")
        return
    payload_type = payload.get("PayloadType")
    ctx.payload_type = payload_type if isinstance(payload_type, str) else None
    schema = _schema().profiles.get(payload_type) if isinstance(payload_type, str) else None
    if schema is None or payload_type in ("TopLevel", "CommonPayloadKeys"):
        ctx.add(
            "unknown_payload_type",
            _join(path, "PayloadType"),
            f"{payload_type!r} is not a payload type Apple's schema defines",
            "PayloadType",
        )
        return
    if not _check_payload_support(ctx, schema, path, f"payload {payload_type}"):
        return
    own = {k.key for k in schema.keys}
    common = [k for k in payload_schema("CommonPayloadKeys").keys if k.key not in own]
    _check_dict(ctx, [*common, *schema.keys], payload, path)


def validate_command(
    command: Mapping[str, Any],
    os: str,
    enrollment: str,
    os_version: str | None = None,
    *,
    channel: str = "device",
) -> list[Finding]:
    """Every finding of Apple's schema against a command: either the whole plist the device
    receives ({"CommandUUID": …, "Command": {"RequestType": …, …}}) or its "Command"
    dictionary. Checks the command exists on `os` and under `enrollment`, and its keys."""
    ctx = _context(os, enrollment, os_version, channel=channel)
    body = command
    path = ""
    if isinstance(command, Mapping) and "Command" in command:
        for name in command:
            if name not in ("Command", "CommandUUID"):
                ctx.add("unknown_key", name, "is not a key of a command plist", name)
        if not isinstance(command.get("CommandUUID"), str):
            ctx.add("missing_required", "CommandUUID", "is required (a string)", "CommandUUID")
        body = command["Command"]
        path = "Command"
    if not isinstance(body, Mapping):
        ctx.add("wrong_type", path, f"a command must be a dictionary, not {_type_name(body)}")
        return ctx.findings
    request_type = body.get("RequestType")
    ctx.payload_type = request_type if isinstance(request_type, str) else None
    schema = _schema().commands.get(request_type) if isinstance(request_type, str) else None
    if schema is None:
        ctx.add(
            "unknown_command",
            _join(path, "RequestType"),
            f"{request_type!r} is not a command Apple's schema defines",
            "RequestType",
        )
        return ctx.findings
    if not _check_payload_support(ctx, schema, path, f"command {request_type}"):
        return ctx.findings
    _check_dict(ctx, schema.keys, body, path, skip=("RequestType",))
    return ctx.findings


def validate_checkin(
    message: Mapping[str, Any],
    os: str,
    enrollment: str,
    os_version: str | None = None,
    *,
    channel: str = "device",
) -> list[Finding]:
    """Every finding of Apple's schema against a check-in message (Authenticate,
    TokenUpdate, …) from `os` under `enrollment`, on the device or the user `channel`."""
    ctx = _context(os, enrollment, os_version, channel=channel)
    if not isinstance(message, Mapping):
        ctx.add("wrong_type", "", f"a message must be a dictionary, not {_type_name(message)}")
        return ctx.findings
    message_type = message.get("MessageType")
    ctx.payload_type = message_type if isinstance(message_type, str) else None
    schema = _schema().checkins.get(message_type) if isinstance(message_type, str) else None
    if schema is None:
        ctx.add(
            "unknown_message_type",
            "MessageType",
            f"{message_type!r} is not a check-in message Apple's schema defines",
            "MessageType",
        )
        return ctx.findings
    if not _check_payload_support(ctx, schema, "", f"message {message_type}"):
        return ctx.findings
    _check_dict(ctx, [*schema.keys, *_envelope(schema)], message, "")
    return ctx.findings


# Every check-in names its device (and user channel) and topic; Apple's files for the
# bootstrap-token and other later messages leave these keys out, TokenUpdate has them all.
_CHECKIN_ENVELOPE = (
    "Topic",
    "UDID",
    "EnrollmentID",
    "EnrollmentUserID",
    "UserID",
    "UserShortName",
    "UserLongName",
    "NotOnConsole",
)


def _envelope(schema: PayloadSchema) -> list[KeySchema]:
    """The envelope keys `schema` does not define itself, as TokenUpdate defines them
    (optional: a message without them is not one Apple's file says is wrong)."""
    own = {k.key for k in schema.keys}
    source = _schema().checkins["TokenUpdate"]
    return [
        dataclasses.replace(key, presence="optional")
        for key in source.keys
        if key.key in _CHECKIN_ENVELOPE and key.key not in own
    ]


def validate_response(
    kind: str,
    name: str,
    body: Mapping[str, Any],
    os: str,
    enrollment: str,
    os_version: str | None = None,
) -> list[Finding]:
    """Every finding of Apple's schema against an answer: a device's result for command
    `name` (`kind` "command", without the Status/CommandUUID envelope), or the server's
    answer to check-in message `name` (`kind` "checkin")."""
    table = {"command": _schema().commands, "checkin": _schema().checkins}[kind]
    schema = table.get(name)
    if schema is None:
        raise SchemaError(f"no {kind} {name!r} in Apple's schema")
    ctx = _context(os, enrollment, os_version, payload_type=name)
    if not isinstance(body, Mapping):
        ctx.add("wrong_type", "", f"an answer must be a dictionary, not {_type_name(body)}")
        return ctx.findings
    _check_dict(ctx, schema.response_keys, body, "")
    return ctx.findings


def validate_declaration(
    declaration: Mapping[str, Any], os: str, enrollment: str, os_version: str | None = None
) -> list[Finding]:
    """Every finding of Apple's schema against a declaration (Type, Identifier, ServerToken,
    Payload) for a device on `os` under `enrollment`."""
    ctx = _context(os, enrollment, os_version)
    if not isinstance(declaration, Mapping):
        ctx.add(
            "wrong_type", "", f"a declaration must be a dictionary, not {_type_name(declaration)}"
        )
        return ctx.findings
    declaration_type = declaration.get("Type")
    ctx.payload_type = declaration_type if isinstance(declaration_type, str) else None
    schema = (
        _schema().declarations.get(declaration_type) if isinstance(declaration_type, str) else None
    )
    base = _schema().declarations["any"]  # declarationbase.yaml: the keys of every declaration
    if schema is None or schema is base:
        ctx.add(
            "unknown_payload_type",
            "Type",
            f"{declaration_type!r} is not a declaration type Apple's schema defines",
            "Type",
        )
        return ctx.findings
    if not _check_payload_support(ctx, schema, "", f"declaration {declaration_type}"):
        return ctx.findings
    # The common keys exist wherever the declaration does.
    common = [KeySchema.build(raw, schema._os) for raw in base._raw.get("payloadkeys") or ()]
    _check_dict(ctx, common, declaration, "", skip=("Payload",))
    payload = declaration.get("Payload", {})
    if not isinstance(payload, Mapping):
        ctx.add("wrong_type", "Payload", "must be dictionary", "Payload")
        return ctx.findings
    _check_dict(ctx, schema.keys, payload, "Payload")
    return ctx.findings


def iter_findings_text(findings: Iterable[Finding]) -> Iterator[str]:
    """One line per finding, for logs and test failures."""
    for finding in findings:
        yield f"{finding.payload_type or '-'} {finding.path}: {finding.code}: {finding.message}"


# --- declarative status items ----------------------------------------------------------


def status_item_schema(name: str) -> PayloadSchema:
    """The schema of a Declarative Device Management status item ("passcode.is-compliant")."""
    found = _schema().status_items.get(name)
    if found is None:
        raise SchemaError(f"no status item {name!r} in Apple's schema")
    return found


def status_item_supported(name: str, os: str, os_version: str | None, enrollment: str) -> bool:
    """Whether a device on `os` (at `os_version`, when known) under `enrollment` reports the
    status item `name`. SchemaError for a status item Apple does not define."""
    support = status_item_schema(name).support(os)
    if support.mode(_enrollment(enrollment)) != ALLOWED:
        return False
    version, introduced = _version(os_version), _version(support.introduced)
    return version is None or introduced is None or _at_least(version, introduced)


def validate_status_subscriptions(
    declaration: Mapping[str, Any], os: str, enrollment: str, os_version: str | None = None
) -> list[Finding]:
    """`validate_declaration` for a status-subscriptions configuration, plus each subscribed
    status item: one Apple defines, that `os` (at `os_version`) reports under `enrollment`."""
    findings = validate_declaration(declaration, os, enrollment, os_version)
    ctx = _context(os, enrollment, os_version, payload_type=str(declaration.get("Type")))
    payload = declaration.get("Payload")
    items = payload.get("StatusItems") if isinstance(payload, Mapping) else None
    for index, item in enumerate(items if isinstance(items, list | tuple) else ()):
        name = item.get("Name") if isinstance(item, Mapping) else None
        path = f"Payload.StatusItems[{index}].Name"
        if name not in _schema().status_items:
            ctx.add("value_not_allowed", path, f"{name!r} is not a status item Apple defines")
        elif not status_item_supported(name, os, os_version, enrollment):
            ctx.add("key_unsupported", path, f"{name} is not reported on {ctx.os} here")
    return findings + ctx.findings
