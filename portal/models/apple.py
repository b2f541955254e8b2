"""Apple setup: the MDM push certificate and the Apps & Books location token."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin


class PushCertificate(TimestampMixin, Base):
    """The APNs MDM push certificate (one row), and the key of the last signing request.

    Private keys are stored encrypted (`portal.apple.secrets`), never in clear.
    """

    __tablename__ = "push_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The key and request the admin last downloaded, waiting for Apple's certificate.
    request_key: Mapped[str | None] = mapped_column(sa.Text)
    request_created_at: Mapped[datetime | None]
    # The certificate in use and its key.
    certificate_pem: Mapped[str | None] = mapped_column(sa.Text)
    private_key: Mapped[str | None] = mapped_column(sa.Text)
    topic: Mapped[str | None] = mapped_column(sa.String(200))
    subject: Mapped[str | None] = mapped_column(sa.String(500))
    not_after: Mapped[datetime | None]
    uploaded_at: Mapped[datetime | None]


class LocationToken(TimestampMixin, Base):
    """The Apps & Books (VPP) location token (one row); the token itself encrypted."""

    __tablename__ = "location_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_name: Mapped[str] = mapped_column(sa.String(200))
    expires_at: Mapped[datetime | None]
    token: Mapped[str] = mapped_column(sa.Text)
    token_sha256: Mapped[str] = mapped_column(sa.String(64))
