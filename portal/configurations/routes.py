"""The configurations pages: admins build, assign and delete; helpdesk reads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required
from ..apple.forms import ConfirmForm
from ..devices.configurations import ConfigurationUnavailable
from ..directory.groups import list_groups
from ..extensions import db
from ..htmx import render
from ..models import Configuration, ConfigurationKind, DeviceConfiguration, Role
from . import applicability, deploy, hooks, kinds, sealing, service

bp = Blueprint("configurations", __name__, url_prefix="/admin")


def _counts() -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        sa.select(
            DeviceConfiguration.configuration_id, DeviceConfiguration.state, sa.func.count()
        ).group_by(DeviceConfiguration.configuration_id, DeviceConfiguration.state)
    )
    counts: dict[int, dict[str, int]] = {}
    for configuration_id, state, number in rows:
        if configuration_id is not None:
            counts.setdefault(configuration_id, {})[str(state)] = number
    return counts


@bp.get("/configurations")
@role_required(Role.HELPDESK)
def configuration_list():
    """Every configuration, where it is assigned and how it stands on devices."""
    return render(
        "configurations/list.html",
        configurations=service.all_configurations(),
        specs=kinds.SPECS,
        counts=_counts(),
        platform_labels=applicability.PLATFORM_LABELS,
        can_edit=current_user.has_role(Role.ADMIN),
    )


def _form_context(kind: ConfigurationKind, configuration: Configuration | None, **extra) -> dict:
    spec = kinds.SPECS[kind]
    values = dict(extra.pop("values", None) or {})
    if configuration is not None and not values:
        values = {
            key: value
            for key, value in (configuration.settings or {}).items()
            if not sealing.is_secret(value)
        }
        values.update(
            name=configuration.name,
            platforms=list(configuration.platforms or []),
            priority=configuration.priority,
            everyone=configuration.everyone,
            groups=[group.id for group in configuration.groups],
        )
    elif configuration is None and not values:
        values = {f.name: f.default for f in spec.fields if f.default is not None}
        values.update(platforms=list(spec.platforms), priority=100, everyone=False, groups=[])
    stored_secrets = {
        key for key, value in ((configuration.settings or {}) if configuration else {}).items()
        if sealing.is_secret(value) or key == "file"
    }  # fmt: skip
    return {
        "kind": kind,
        "spec": spec,
        "configuration": configuration,
        "values": values,
        "notes": applicability.key_notes(kind),
        "stored_secrets": stored_secrets,
        "groups": list_groups(),
        "platform_labels": applicability.PLATFORM_LABELS,
        "form": ConfirmForm(formdata=None),
        "errors": extra.pop("errors", {}),
        "reasons": extra.pop("reasons", []),
        "form_error": extra.pop("form_error", None),
        "can_edit": current_user.has_role(Role.ADMIN),
        **extra,
    }


def _kind(value: str) -> ConfigurationKind:
    try:
        return ConfigurationKind(value)
    except ValueError:
        abort(404)


@bp.get("/configurations/new/<kind>")
@role_required(Role.ADMIN)
def new_configuration(kind: str):
    return render("configurations/form.html", **_form_context(_kind(kind), None))


@bp.get("/configurations/<int:configuration_id>")
@role_required(Role.HELPDESK)
def configuration_detail(configuration_id: int):
    configuration = db.get_or_404(Configuration, configuration_id)
    return render(
        "configurations/form.html",
        **_form_context(ConfigurationKind(configuration.kind), configuration),
        devices=_devices_of(configuration),
    )


def _devices_of(configuration: Configuration) -> list[DeviceConfiguration]:
    return list(
        db.session.scalars(
            sa.select(DeviceConfiguration)
            .where(DeviceConfiguration.configuration_id == configuration.id)
            .order_by(DeviceConfiguration.id)
            .limit(200)
        )
    )


def _raw(kind: ConfigurationKind) -> dict:
    raw: dict = {}
    for f in kinds.SPECS[kind].fields:
        if f.input == "file":
            upload = request.files.get(f.name)
            raw[f.name] = upload.read(kinds.MAX_FILE + 1) if upload and upload.filename else None
        elif f.input == "bool":
            raw[f.name] = request.form.get(f.name)
        else:
            raw[f.name] = request.form.get(f.name, "")
    return raw


def _save(kind: ConfigurationKind, configuration: Configuration | None):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    raw = _raw(kind)
    try:
        group_ids = [int(g) for g in request.form.getlist("groups")]
    except ValueError:
        abort(400)
    submitted = {
        **{k: v for k, v in raw.items() if not isinstance(v, bytes)},
        "name": request.form.get("name", ""),
        "platforms": request.form.getlist("platforms"),
        "priority": request.form.get("priority", ""),
        "everyone": bool(request.form.get("everyone")),
        "groups": group_ids,
    }
    for secret in kinds.secret_fields(kind):
        submitted.pop(secret, None)
    try:
        saved = service.save(
            current_user._get_current_object(),
            kind=kind,
            raw=raw,
            name=submitted["name"],
            platforms=submitted["platforms"],
            priority=submitted["priority"],
            everyone=submitted["everyone"],
            group_ids=group_ids,
            secret_key=current_app.config["SECRET_KEY"],
            configuration=configuration,
        )
    except service.NotApplicable as exc:
        db.session.rollback()
        configuration = db.session.get(Configuration, configuration.id) if configuration else None
        return render(
            "configurations/form.html",
            status=exc.status,
            **_form_context(
                kind, configuration, values=submitted, reasons=exc.reasons, form_error=str(exc)
            ),  # fmt: skip
        )
    except service.ConfigurationError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        configuration = db.session.get(Configuration, configuration.id) if configuration else None
        errors = {exc.field: str(exc)} if exc.field else {}
        return render(
            "configurations/form.html",
            status=exc.status,
            **_form_context(
                kind,
                configuration,
                values=submitted,
                errors=errors,
                form_error=None if exc.field else str(exc),
            ),  # fmt: skip
        )
    queued = _sync_all()
    db.session.commit()
    flash(
        _(
            "“%(name)s” is saved (version %(version)d). Commands queued for devices: %(count)d.",
            name=saved.name,
            version=saved.version,
            count=queued,
        ),
        "success",
    )
    return redirect(url_for("configurations.configuration_detail", configuration_id=saved.id), 303)


def _sync_all() -> int:
    try:
        return deploy.sync_all(
            settings=hooks.mdm_settings(),
            secret_key=current_app.config["SECRET_KEY"],
            actor=current_user._get_current_object(),
        )
    except ConfigurationUnavailable:
        flash(
            _(
                "Saved, but not sent: the portal cannot sign configuration profiles until its "
                "MDM setup is complete."
            ),
            "error",
        )
        return 0


@bp.post("/configurations/new/<kind>")
@role_required(Role.ADMIN)
def create_configuration(kind: str):
    return _save(_kind(kind), None)


@bp.post("/configurations/<int:configuration_id>")
@role_required(Role.ADMIN)
def update_configuration(configuration_id: int):
    configuration = db.get_or_404(Configuration, configuration_id)
    return _save(ConfigurationKind(configuration.kind), configuration)


@bp.post("/configurations/<int:configuration_id>/delete")
@role_required(Role.ADMIN)
def delete_configuration(configuration_id: int):
    configuration = db.get_or_404(Configuration, configuration_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = configuration.name
    service.delete(current_user._get_current_object(), configuration)
    queued = _sync_all()
    db.session.commit()
    flash(
        _("“%(name)s” is deleted. Devices that had it: %(count)d.", name=name, count=queued),
        "success",
    )
    return redirect(url_for("configurations.configuration_list"), 303)
