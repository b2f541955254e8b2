"""Fixtures for invitations: a real SMTP server and an app that sends to it."""

from tests.support.mail import deliver, mail_app, smtp, user  # noqa: F401
