"""Credentials of the identity sources that call the portal (SCIM provisioning)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin
from .user import User


class ScimToken(TimestampMixin, Base):
    """A bearer token Entra ID's provisioning presents; only its SHA-256 is stored."""

    __tablename__ = "scim_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's last characters, so an admin can tell which one Entra holds.
    hint: Mapped[str] = mapped_column(sa.String(8))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()
