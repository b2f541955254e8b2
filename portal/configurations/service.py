"""Configurations: create, change, assign, delete; each checked against Apple's schema for
every system and enrollment type it is assigned to, and refused with the reason when it
could not apply there (SPEC §5, §6).

Services take the acting user as an argument, flush but never commit. An edit that changes
what devices get raises the version; the identifier never changes, so devices replace the
installed profile.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from .. import audit
from ..domain import DomainError
from ..extensions import db
from ..models import (
    Configuration,
    ConfigurationKind,
    Group,
    User,
)
from . import kinds

# INVALID_REQUEST_TYPE, build_profile and key_notes are read here too (tests, callers).
from .applicability import (  # noqa: F401
    INVALID_REQUEST_TYPE,
    build_profile,
    key_notes,
    problems,
    targets,
)
from .sealing import is_secret, seal

PLATFORMS = ("ios", "macos")
MAX_NAME = 200
MIN_PRIORITY, MAX_PRIORITY = 1, 1000


class ConfigurationError(DomainError):
    """A configuration refused: `field` names the form field at fault, if any."""


class NotApplicable(ConfigurationError):
    """The configuration could not apply where it is assigned; `reasons` say why."""

    status = 409

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(_l("This configuration could not apply where it is assigned:"), field=None)
        self.reasons = reasons


# --- storage -------------------------------------------------------------------------------


def all_configurations() -> list[Configuration]:
    return list(
        db.session.scalars(
            sa.select(Configuration).order_by(
                Configuration.priority, sa.func.lower(Configuration.name)
            )
        )
    )


def get(configuration_id: int) -> Configuration:
    configuration = db.session.get(Configuration, configuration_id)
    if configuration is None:
        raise ConfigurationError(_l("That configuration does not exist (any more)."), status=404)
    return configuration


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40] or "configuration"


def _clean_common(name: str | None, platforms: Iterable[str], priority: Any) -> tuple:
    name = " ".join((name or "").split())
    if not name:
        raise ConfigurationError(_l("Give the configuration a name."), field="name")
    if len(name) > MAX_NAME:
        raise ConfigurationError(_l("Use at most %(num)d characters.", num=MAX_NAME), field="name")
    chosen = [p for p in PLATFORMS if p in set(platforms)]
    if not chosen:
        raise ConfigurationError(_l("Choose at least one system."), field="platforms")
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        raise ConfigurationError(
            _l("Give a priority from %(low)d to %(high)d.", low=MIN_PRIORITY, high=MAX_PRIORITY),
            field="priority",
        ) from None
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise ConfigurationError(
            _l("Give a priority from %(low)d to %(high)d.", low=MIN_PRIORITY, high=MAX_PRIORITY),
            field="priority",
        )
    return name, chosen, priority


def _groups(group_ids: Iterable[int]) -> list[Group]:
    ids = sorted({int(i) for i in group_ids})
    groups = list(db.session.scalars(sa.select(Group).where(Group.id.in_(ids)))) if ids else []
    if len(groups) != len(ids):
        raise ConfigurationError(_l("That group does not exist (any more)."), field="groups")
    return groups


def _summary(configuration: Configuration) -> dict:
    return {
        "name": configuration.name,
        "kind": str(configuration.kind),
        "version": configuration.version,
        "platforms": list(configuration.platforms or []),
        "priority": configuration.priority,
        "everyone": configuration.everyone,
        "groups": [group.name for group in configuration.groups],
        # Secrets never go into the audit log.
        "settings": {
            k: ("•••" if is_secret(v) else v)
            for k, v in (configuration.settings or {}).items()
            if k != "file"
        },
    }


def _merge_secrets(
    kind: ConfigurationKind, cleaned: dict[str, Any], previous: Mapping[str, Any], secret_key: str
) -> dict[str, Any]:
    """Encrypt new secrets; an empty secret field keeps the stored one."""
    for name in kinds.secret_fields(kind):
        if cleaned.get(name):
            cleaned[name] = seal(secret_key, cleaned[name])
        elif previous.get(name):
            cleaned[name] = previous[name]
    spec = kinds.SPECS[ConfigurationKind(kind)]
    for f in spec.fields:
        if f.input == "file" and not cleaned.get(f.name) and previous.get(f.name):
            cleaned[f.name] = previous[f.name]
    return cleaned


def save(
    actor: User | None,
    *,
    kind: str,
    raw: Mapping[str, Any],
    name: str | None,
    platforms: Iterable[str],
    priority: Any,
    everyone: bool,
    group_ids: Iterable[int],
    secret_key: str,
    configuration: Configuration | None = None,
) -> Configuration:
    """Create (or change) a configuration from its form.

    :raise ConfigurationError: a field Apple would not accept (its `field` set).
    :raise NotApplicable: it could not apply on a system and enrollment type it reaches.
    """
    try:
        kind = ConfigurationKind(kind)
    except ValueError:
        raise ConfigurationError(_l("Choose a kind of configuration."), status=404) from None
    if configuration is not None and configuration.kind != kind:
        raise ConfigurationError(_l("Choose a kind of configuration."))
    name, chosen, priority = _clean_common(name, platforms, priority)
    previous = dict(configuration.settings or {}) if configuration is not None else {}
    stored = [
        f.name
        for f in kinds.SPECS[kind].fields
        if f.input in ("secret", "file") and previous.get(f.name)
    ]
    try:
        cleaned = kinds.clean(kind, raw, stored=stored)
    except kinds.SettingsError as exc:
        raise ConfigurationError(exc.message, field=exc.field) from None
    cleaned = _merge_secrets(kind, cleaned, previous or {}, secret_key)
    groups = _groups(group_ids)
    reasons = problems(kind, cleaned, targets(chosen, groups, everyone))
    if reasons:
        raise NotApplicable(reasons)
    taken = db.session.scalar(
        sa.select(Configuration.id).where(
            sa.func.lower(Configuration.name) == name.casefold(),
            Configuration.id != (configuration.id if configuration is not None else -1),
        )
    )
    if taken is not None:
        raise ConfigurationError(
            _l("Another configuration already has this name."), field="name", status=409
        )
    if configuration is None:
        configuration = Configuration(kind=kind, version=1, identifier="pending")
        db.session.add(configuration)
        before = None
    else:
        before = _summary(configuration)
    content_changed = (
        configuration.settings != cleaned or list(configuration.platforms or []) != chosen
    )
    configuration.name = name
    configuration.settings = cleaned
    configuration.platforms = chosen
    configuration.priority = priority
    configuration.everyone = bool(everyone)
    configuration.groups = groups
    db.session.flush()
    if before is None:
        configuration.identifier = (
            "passcode" if kind == ConfigurationKind.PASSCODE else f"{kind.value}-{configuration.id}"
        )
        audit.record(
            actor, "configuration.created", target=configuration, after=_summary(configuration)
        )
    else:
        if content_changed:
            configuration.version += 1
        after = _summary(configuration)
        if after != before:
            audit.record(
                actor, "configuration.updated", target=configuration, before=before, after=after
            )
    db.session.flush()
    return configuration


def delete(actor: User | None, configuration: Configuration) -> None:
    """Delete a configuration; devices that have it get it removed (by the caller's sync)."""
    audit.record(
        actor, "configuration.deleted", target=configuration, before=_summary(configuration)
    )
    db.session.delete(configuration)
    db.session.flush()


def file_of(configuration: Configuration) -> bytes | None:
    value = (configuration.settings or {}).get("file")
    return base64.b64decode(value) if value else None


def ensure_passcode_presets() -> list[str]:
    """The passcode presets as configurations (as migration 0016 creates them), where
    missing: for databases built without it (demo data, tests). Returns the names added."""
    from ..devices.configurations import PASSCODE_PRESETS

    added = []
    for priority, preset in zip((100, 90), PASSCODE_PRESETS.values(), strict=False):
        if db.session.scalar(sa.select(Configuration.id).where(Configuration.preset == preset.key)):
            continue
        with force_locale("en"):
            name = str(preset.label)
        db.session.add(
            Configuration(
                name=name,
                kind=ConfigurationKind.PASSCODE,
                identifier="passcode",
                settings=dict(preset.settings),
                platforms=list(PLATFORMS),
                priority=priority,
                everyone=False,
                preset=preset.key,
            )
        )
        added.append(name)
    db.session.flush()
    return added
