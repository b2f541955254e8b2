"""People, their sign-in sessions and static groups."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow
from .enums import Role, UserSource

group_membership = sa.Table(
    "group_membership",
    Base.metadata,
    sa.Column("group_id", sa.ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class User(TimestampMixin, Base):
    __tablename__ = "user"
    # Account-driven discovery looks people up by Managed Apple ID in any case. Admin lists
    # are ordered by lower(display_name), id; their searches match parts of lower-cased names
    # and e-mails, through trigram indexes on PostgreSQL (pg_trgm; SQLite reads the table).
    __table_args__ = (
        sa.Index("ix_user_managed_apple_id_lower", sa.func.lower(sa.text("managed_apple_id"))),
        sa.Index("ix_user_display_name_order", sa.func.lower(sa.text("display_name")), "id"),
        *(
            sa.Index(
                f"ix_user_{column}_trgm",
                sa.func.lower(sa.text(column)).label(column),
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            ).ddl_if(dialect="postgresql")
            for column in ("display_name", "email")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    # Stored lower-case; sign-in compares lower-case.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    upn: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[UserSource] = enum_column(UserSource, default=UserSource.LOCAL)
    # LDAP DN or SCIM externalId: how the directory knows this person.
    external_id: Mapped[str | None] = mapped_column(sa.String(500), index=True)
    role: Mapped[Role] = enum_column(Role, default=Role.EMPLOYEE)
    # The directory's device-management role (criterion 6 for LDAP users).
    device_role: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    # The person's time zone (IANA name, "Europe/Paris") as their browser last told it: dates
    # are shown in it, and reminders go out within its working hours.
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    managed_apple_id: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    # A Managed Apple ID this user should have but another account holds (shown to admins).
    managed_apple_id_conflict: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Removed by its directory (SCIM DELETE, gone from LDAP): kept, inactive, for its history.
    deprovisioned_at: Mapped[datetime | None]
    # What Entra ID (SCIM) sent that the portal keeps only to give back: name parts, title…
    directory_attributes: Mapped[dict | None] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    groups: Mapped[list[Group]] = relationship(
        secondary=group_membership, back_populates="members", order_by="Group.name"
    )

    # Flask-Login's interface. The id it keeps in the cookie is the server-side session's
    # token (set at sign-in or load), not the user's id, so sign-out really ends a session.
    is_authenticated = True
    is_anonymous = False
    session_token = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return self.session_token

    def has_role(self, role: Role) -> bool:
        return Role(self.role).includes(role)

    def __repr__(self) -> str:
        return f"<User {self.email!r}>"


class UserSession(Base):
    """A signed-in browser: server-side, so sign-out and timeouts really end it."""

    __tablename__ = "user_session"

    # SHA-256 of the random id kept in the (signed) cookie.
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    method: Mapped[str] = mapped_column(sa.String(16), default="local")

    user: Mapped[User] = relationship()


class Group(TimestampMixin, Base):
    """A static group of users; enrollment settings are assigned to groups."""

    __tablename__ = "user_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    # LDAP DN or SCIM externalId of a group imported from a directory.
    external_id: Mapped[str | None] = mapped_column(sa.String(500), index=True)
    # Who manages its members: the portal (local), an LDAP import or Entra ID (SCIM).
    source: Mapped[UserSource] = enum_column(UserSource, default=UserSource.LOCAL)
    # When its name or members last changed (SCIM's meta.lastModified); NULL: never since
    # it was created.
    updated_at: Mapped[datetime | None]

    members: Mapped[list[User]] = relationship(
        secondary=group_membership, back_populates="groups", order_by="User.email"
    )

    def __repr__(self) -> str:
        return f"<Group {self.name!r}>"
