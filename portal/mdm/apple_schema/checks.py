"""The checks of a message against Apple's schema, key by key, collecting findings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .model import (
    ANY_KEY,
    FORBIDDEN,
    IGNORED,
    NOT_AVAILABLE,
    REQUIRED,
    KeySchema,
    OSSupport,
    PayloadSchema,
    _enrollment,
    normalize_os,
)

# Keys Apple marks required under User Enrollment although another key stands in for them:
# profile-based User Enrollment names the account with ManagedAppleID, account-driven User
# Enrollment (iOS 15, macOS 14 and later) with AssignedManagedAppleID instead.
_SATISFIED_BY = {("com.apple.mdm", "ManagedAppleID"): ("AssignedManagedAppleID",)}

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
