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
    config_module.check_production(settings)
    from .performance import Portal

    app = Portal(
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

    # First: every request gets its id and is measured, whatever the later hooks do.
    from . import logs, metrics

    logs.init_app(app)
    metrics.init_app(app)

    from .extensions import babel, csrf, db, htmx, limiter, migrate

    db.init_app(app)
    from . import pool

    pool.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))

    from . import boundary

    # Before CSRF and the rate limiter: oversized bodies are refused unread.
    boundary.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)

    from . import ratelimit

    ratelimit.init_app(app)

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

    from .apps import work_routes
    from .configurations import hooks as configuration_hooks
    from .configurations import routes as configuration_routes

    app.register_blueprint(work_routes.bp)
    app.register_blueprint(configuration_routes.bp)
    configuration_hooks.init_app(app)
    from .configurations.cli import configurations_cli

    app.cli.add_command(configurations_cli)

    from . import scim

    scim.init_app(app)

    from . import rollout

    rollout.init_app(app)

    from . import cli, worker

    cli.init_app(app)
    worker.init_app(app)

    from . import performance

    performance.init_app(app)

    # The Slack assistant: /slack/events only when its token and secret are configured.
    import bot

    bot.init_app(app)
    errors.route_database_down(app)
    return app
