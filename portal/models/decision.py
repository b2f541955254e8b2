"""Enrollment decisions as they were made: who asked, for which device, with what outcome."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .enums import EnrollmentMethod, EnrollmentType, Platform
from .user import User


class EnrollmentDecision(Base):
    """One recorded policy decision (enrollment, Slack or MDM asked; previews are not kept)."""

    __tablename__ = "enrollment_decision"
    __table_args__ = (sa.Index("ix_enrollment_decision_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    platform: Mapped[Platform] = enum_column(Platform)
    os_version: Mapped[str] = mapped_column(sa.String(32))
    supervised: Mapped[bool] = mapped_column(default=False)
    # How the device enrolls: web, account, ade, configurator (the policy's channel).
    channel: Mapped[str] = mapped_column(sa.String(16))
    enrollment_type: Mapped[EnrollmentType] = enum_column(EnrollmentType)
    enrollment_method: Mapped[EnrollmentMethod] = enum_column(EnrollmentMethod)
    reason_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Who asked (None: the device itself or the system) and through what: web, slack, cli, mdm.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    asked_via: Mapped[str] = mapped_column(sa.String(16), default="web")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
