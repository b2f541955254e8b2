"""Delivering MIME messages: by SMTP (`SMTP_URL`), or to files and the log in development."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ..config import private_directory

log = logging.getLogger("portal.outbox")


class DeliveryError(Exception):
    """Sending failed. `permanent`: the server refused the message itself (5xx)."""

    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False):
        super().__init__(message)
        self.permanent = permanent
        # The connection is gone: the rest of a batch would fail the same way.
        self.connection = connection


class SendCancelled(Exception):
    """The sender withdrew the message before its data went out: nothing was delivered."""


class _BeforeData:
    """An SMTP client that asks `before_data()` right before the DATA command: False (or an
    error) resets the transaction, so the message is not delivered."""

    before_data: Callable[[], bool] | None = None

    def data(self, msg):
        check, self.before_data = self.before_data, None
        if check is not None:
            try:
                go = check()
            except BaseException:
                self._reset_quietly()
                raise
            if not go:
                self._reset_quietly()
                raise SendCancelled
        return super().data(msg)

    def _reset_quietly(self) -> None:
        try:
            self.rset()
        except (OSError, smtplib.SMTPException):
            self.close()


class _SMTP(_BeforeData, smtplib.SMTP):
    pass


class _SMTP_SSL(_BeforeData, smtplib.SMTP_SSL):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False  # smtps://
    starttls: bool = False
    timeout: float = 30.0

    def describe(self) -> str:
        """For logs: no password."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


_TRUE = {"1", "true", "yes", "on"}


def parse_smtp_url(url: str, *, timeout: float = 30.0) -> SmtpSettings:
    """`smtp://user:pass@host:587?starttls=true`, `smtps://host:465`, `smtp://host:25`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:pass@host:587?starttls=true")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    port = parts.port or (465 if implicit else 25)
    starttls = not implicit and query.get("starttls", "true" if port == 587 else "") in _TRUE
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=starttls,
        timeout=float(query.get("timeout", timeout)),
    )


@dataclass(frozen=True)
class Envelope:
    """A composed message and where it goes."""

    sender: str
    recipients: list[str]
    raw: bytes
    message_id: str


class SmtpTransport:
    """One SMTP connection reused across a batch, reopened when the server drops it."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if s.implicit_tls:
                smtp = _SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = _SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise DeliveryError(f"SMTP sign-in refused ({exc.smtp_code})", connection=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            raise DeliveryError(
                f"cannot reach the SMTP server {s.describe()}: {exc}", connection=True
            ) from exc
        return smtp

    def send(self, envelope: Envelope, *, before_data: Callable[[], bool] | None = None) -> None:
        """Deliver `envelope`; `before_data()` is asked right before the data is sent."""
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._smtp.before_data = before_data
                refused = self._smtp.sendmail(envelope.sender, envelope.recipients, envelope.raw)
            except smtplib.SMTPServerDisconnected as exc:
                self._smtp.close()
                self._smtp = None
                if attempt == 1:
                    continue  # an idle connection the server closed: reconnect once
                raise DeliveryError(f"the SMTP server closed the connection: {exc}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                raise DeliveryError(
                    f"recipient refused: {_responses(exc.recipients)}",
                    permanent=all(code >= 500 for code in codes),
                ) from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise DeliveryError(
                    f"SMTP error {exc.smtp_code}: {_text(exc.smtp_error)}",
                    permanent=exc.smtp_code >= 500,
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                raise DeliveryError(f"SMTP failure: {exc}", connection=True) from exc
            if refused:
                raise DeliveryError(f"recipient refused: {_responses(refused)}", permanent=True)
            return

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _responses(refused: dict) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileTransport:
    """Development without SMTP: each message logged and written to `directory/*.eml`."""

    def __init__(self, directory: Path, *, echo: bool = True):
        self.directory = Path(directory)
        self.echo = echo

    def send(self, envelope: Envelope, *, before_data: Callable[[], bool] | None = None) -> None:
        if before_data is not None and not before_data():
            raise SendCancelled
        private_directory(self.directory)  # the messages carry personal links
        name = _UNSAFE.sub("_", envelope.message_id.strip("<>")) or "message"
        path = self.directory / f"{name}.eml"
        path.write_bytes(envelope.raw)
        message = BytesParser(policy=policy.default).parsebytes(envelope.raw)
        log.info("e-mail to %s (%s) written to %s", message["To"], message["Subject"], path)
        if self.echo:  # development only: the body carries a personal link
            body = message.get_body(("plain",))
            log.info("%s", body.get_content() if body is not None else "")

    def close(self) -> None:
        pass


def transport_from_config(config) -> SmtpTransport | FileTransport:
    url = config.get("SMTP_URL") or ""
    if not url:
        if config.get("PORTAL_ENV") == "production":
            raise ValueError("SMTP_URL must be set when PORTAL_ENV=production")
        echo = config.get("PORTAL_ENV") == "development"
        return FileTransport(Path(config["INSTANCE_PATH"]) / "outbox", echo=echo)
    return SmtpTransport(parse_smtp_url(url, timeout=float(config.get("SMTP_TIMEOUT", 30))))
