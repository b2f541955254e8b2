"""The BYOD enrollment portal: Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Create and configure the portal.

    Configuration comes from defaults, then environment variables, then `overrides`
    (see `portal.config`). Only configures and registers: no I/O beyond reading
    configuration, no network, no threads.
    """
    settings = config_module.load(overrides)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings)
    logging.getLogger("portal").setLevel(logging.INFO)

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from .extensions import babel, csrf, db, htmx, limiter, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)

    from .i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    from . import access, admin, auth, errors, main, passwords, templating

    passwords.init_app(app)
    auth.init_app(app)
    access.init_app(app)
    errors.init_app(app)
    templating.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)

    from . import invitations, outbox
    from .enrollment import routes as enrollment_routes

    invitations.init_app(app)
    outbox.init_app(app)
    app.register_blueprint(enrollment_routes.bp)

    from . import mdm

    mdm.init_app(app)

    from . import apple

    app.register_blueprint(apple.bp)

    from . import devices

    app.register_blueprint(devices.bp)

    from .apps import cli as apps_cli
    from .apps import routes as apps_routes

    app.register_blueprint(apps_routes.bp)
    app.cli.add_command(apps_cli.apps_cli)

    from . import scim

    scim.init_app(app)

    from . import cli

    cli.init_app(app)

    from . import performance

    performance.init_app(app)

    # The Slack assistant: /slack/events only when its token and secret are configured.
    import bot

    bot.init_app(app)
    return app
