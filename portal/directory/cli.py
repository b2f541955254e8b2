"""`flask --app wsgi users sync-ldap`: bring LDAP accounts and groups up to date."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .ldap import LdapError, LdapSettings


def register(app: Flask) -> None:
    """Add `sync-ldap` to the `users` command group (creating the group if needed)."""
    group = app.cli.commands.get("users")
    if group is None:
        group = AppGroup("users", help="People and their accounts.")
        app.cli.add_command(group)
    group.add_command(sync_ldap)


@click.command("sync-ldap")
@click.option(
    "--keep-missing",
    is_flag=True,
    help="Do not deactivate accounts that are gone from the directory.",
)
@with_appcontext
def sync_ldap(keep_missing: bool) -> None:
    """Re-read every LDAP account and imported group from the directory.

    Names, e-mails, UPNs, device-management roles and group members are refreshed and
    Managed Apple IDs derived again. Accounts gone from the directory (or now outside the
    user filter) are deactivated, signed out and their invitations revoked, unless
    --keep-missing or LDAP_SYNC_DEACTIVATE_MISSING=false; they come back if the directory
    lists them again. Nothing changes when the directory cannot be read completely.
    """
    from . import ldap_import

    settings = LdapSettings.from_config(current_app.config)
    if settings is None:
        raise click.ClickException("LDAP is not configured (set LDAP_URL)")
    deactivate = current_app.config.get("LDAP_SYNC_DEACTIVATE_MISSING", True) and not keep_missing
    try:
        report = ldap_import.sync(settings, channel="cli", deactivate_missing=deactivate)
    except LdapError as exc:
        raise click.ClickException(f"nothing changed: {exc}") from exc
    summary = report.summary()
    click.echo(
        "LDAP sync: {created} created, {updated} updated, {deactivated} deactivated, "
        "{groups} groups, {skipped} skipped.".format(**summary)
    )
    for who, why in report.skipped:
        click.echo(f"  skipped {who}: {why}")
