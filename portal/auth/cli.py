"""`flask --app wsgi users oidc-unbind EMAIL`: release an account's OpenID identity."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext


def register(app: Flask) -> None:
    """Add `oidc-unbind` to the `users` command group (creating the group if needed)."""
    group = app.cli.commands.get("users")
    if group is None:
        group = AppGroup("users", help="People and their accounts.")
        app.cli.add_command(group)
    group.add_command(oidc_unbind)


@click.command("oidc-unbind")
@click.argument("email")
@with_appcontext
def oidc_unbind(email: str) -> None:
    """Forget the company sign-in identity EMAIL's account is bound to.

    Its next company sign-in binds it again, to whoever signs in with the address: use it
    when the company changed its sign-in service, or after checking who holds the address.
    """
    from ..extensions import db
    from ..models import User
    from .identity import unbind

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    count = unbind(user, actor=None, channel="cli")
    db.session.commit()
    click.echo(f"{count} identity released for {user.email}.")
