"""Credentials of the identity sources that call the portal (SCIM provisioning)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow
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


class OidcIdentity(Base):
    """The OpenID Connect identity an account is bound to: issuer and stable subject.

    Bound at the first sign-in and matched on afterwards, so a claim that can change
    (`email`, `preferred_username`) never moves a person into someone else's account.
    Entra ID also gives the tenant (`tid`) and the user's object id (`oid`), stable across
    app registrations.
    """

    __tablename__ = "oidc_identity"
    __table_args__ = (
        sa.UniqueConstraint("issuer", "subject"),
        sa.UniqueConstraint("tenant_id", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    tenant_id: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
