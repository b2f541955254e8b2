"""The organization the portal serves."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin, enum_column
from .enums import AppleIdScheme


class Organization(TimestampMixin, Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # E-mail domains of the company's accounts (account-driven discovery answers for these).
    domains: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    apple_id_scheme: Mapped[AppleIdScheme] = enum_column(AppleIdScheme, default=AppleIdScheme.EMAIL)
    apple_id_subdomain: Mapped[bool] = mapped_column(default=False)
    abm_linked: Mapped[bool] = mapped_column(default=False)
    abm_organization_name: Mapped[str | None] = mapped_column(sa.String(200))
    abm_organization_id: Mapped[str | None] = mapped_column(sa.String(100))
    vpp_token_organization: Mapped[str | None] = mapped_column(sa.String(200))
    vpp_token_expires_at: Mapped[datetime | None]
    invite_imported_users: Mapped[bool] = mapped_column(default=False)
    # Branding and support, set by an admin; shown on every employee page, e-mail and
    # error page. Texts per language: {"en": "...", "fr": "..."}.
    accent_color: Mapped[str | None] = mapped_column(sa.String(7))
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(sa.String(40))
    welcome_message: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # {"en": {"email": ..., "phone": ..., "url": ...}, "fr": {...}}
    support_contact: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    def __repr__(self) -> str:
        return f"<Organization {self.name!r}>"
