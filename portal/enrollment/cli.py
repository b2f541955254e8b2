"""`flask --app wsgi enrollment explain EMAIL --platform ios --os 18.1`: the policy, no browser."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..auth.service import find_user_by_email
from . import service
from .policy import Decision

enrollment = AppGroup("enrollment", help="Enrollment decisions.")

_ORIGIN = {
    "en": {"group": "from group “{group}”", "default": "the default setting", "builtin": ""},
    "fr": {"group": "par le groupe « {group} »", "default": "le réglage par défaut", "builtin": ""},
}
_WORDS = {
    "en": ("Setting", "Built-in default (Device Enrollment)", "Reasons", "Checks"),
    "fr": ("Réglage", "Réglage intégré (Inscription de l'appareil)", "Raisons", "Critères"),
}


def _setting_line(setting: service.EffectiveSetting, locale: str) -> str:
    label, builtin, _reasons, _checks = _WORDS[locale]
    if setting.setting is None:
        return f"{label}: {builtin}"
    origin = _ORIGIN[locale][setting.origin].format(
        group=setting.group.name if setting.group else ""
    )
    return f"{label}: {setting.setting.name} ({origin})"


def _print(decision: Decision, setting: service.EffectiveSetting, locale: str) -> None:
    _label, _builtin, reasons, checks = _WORDS[locale]
    click.echo(decision.summary(locale))
    click.echo(_setting_line(setting, locale))
    click.echo(f"{reasons}:")
    for reason in decision.reasons:
        click.echo(f"  - {reason.message(locale)} [{reason.code}]")
    click.echo(f"{checks}:")
    for check in decision.checks:
        mark = "✓" if check.passed else "✗"
        click.echo(f"  {mark} {check.label(locale)}")


@enrollment.command("explain")
@click.argument("email")
@click.option(
    "--platform", required=True, type=click.Choice(service.PLATFORMS, case_sensitive=False)
)
@click.option("--os", "os_version", required=True, metavar="X.Y", help="OS version, e.g. 17.4")
@click.option("--supervised", is_flag=True, help="The device is supervised by the company.")
@click.option(
    "--channel",
    default="web",
    show_default=True,
    type=click.Choice(service.CHANNELS, case_sensitive=False),
    help="How the device enrolls.",
)
@click.option(
    "--locale", default="en", show_default=True, type=click.Choice(("en", "fr")), help="Language."
)
def explain_command(email, platform, os_version, supervised, channel, locale) -> None:
    """Explain which enrollment applies to EMAIL's device, with every reason."""
    user = find_user_by_email(email)
    if user is None:
        raise click.BadParameter(f"no account has the e-mail {email!r}", param_hint="EMAIL")
    try:
        version = service.parse_os_version(os_version)
    except service.InvalidOsVersion as exc:
        raise click.BadParameter(
            f"{os_version!r} is not an OS version; use numbers and dots, like 17.4",
            param_hint="'--os'",
        ) from exc
    setting = service.effective_setting(user)
    decision = service.explain(
        user,
        platform=platform,
        os_version=version,
        supervised=supervised,
        channel=channel,
        setting=setting,
    )
    _print(decision, setting, locale)
