import sqlalchemy as sa

from portal.extensions import db
from portal.models import EnrollmentSetting, Group, Organization, Role, User


def test_seed_creates_the_demo_organization_and_accounts(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "alice@example.com" in result.output
    org = db.session.scalar(sa.select(Organization))
    assert org.name == "Example Corp" and org.domains == ["example.com"] and org.abm_linked
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    assert set(users) == {
        "alice@example.com",
        "bob@example.com",
        "helen@example.com",
        "adam@example.com",
    }
    assert users["alice@example.com"].managed_apple_id == "alice@appleid.example.com"
    assert [g.name for g in users["alice@example.com"].groups] == ["User Enrollment"]
    assert users["bob@example.com"].groups == []
    assert users["helen@example.com"].role == Role.HELPDESK
    assert users["adam@example.com"].role == Role.ADMIN
    default = db.session.scalar(sa.select(EnrollmentSetting).filter_by(is_default=True))
    assert default.enrollment_type == "device"


def test_seed_is_idempotent(app, ctx):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "seed"])
    counts = [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (User, Group)]
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0
    assert "nothing changed" in again.output
    assert counts == [
        db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (User, Group)
    ]


def test_seed_is_refused_in_production(app_factory, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "production-secret")
    app = app_factory(PORTAL_ENV="production", PUBLIC_BASE_URL="https://portal.example.com")
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert "never seeded when PORTAL_ENV=production" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_large_seed_adds_a_varied_organization_once(app, ctx):
    from portal import demo_large
    from portal.models import (
        Device,
        DeviceLogEntry,
        DeviceStatus,
        Invitation,
        OutboxMessage,
        OutboxStatus,
    )

    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "seed", "--large", "--scale", "0.02"])
    assert result.exit_code == 0, result.output
    assert "device-log entries" in result.output

    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    sizes = demo_large.Sizes.scaled(0.02)
    assert count(User) == sizes.people + 4
    assert count(Device) == sizes.devices
    assert count(DeviceLogEntry) == sizes.log_entries
    assert count(Invitation) == sizes.invitations
    # Every state a real organization has: pending and finished enrollments, every platform.
    statuses = set(db.session.scalars(sa.select(Device.status).distinct()))
    assert statuses == set(DeviceStatus)
    assert set(db.session.scalars(sa.select(Device.platform).distinct())) == {
        "ios",
        "ipados",
        "macos",
    }
    assert set(db.session.scalars(sa.select(Device.enrollment_type).distinct())) == {
        "user",
        "device",
    }
    # Invitations delivered, used, expired, revoked, failed and stuck in the outbox.
    now = sa.func.now()
    assert count(Invitation, Invitation.used_at.is_not(None)) > 0
    assert count(Invitation, Invitation.revoked_at.is_not(None)) > 0
    assert count(Invitation, Invitation.used_at.is_(None), Invitation.expires_at < now) > 0
    assert count(OutboxMessage, OutboxMessage.status == OutboxStatus.DEAD) > 0
    assert count(OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING) > 0
    assert count(Group) == 1 + len(demo_large.DEPARTMENTS)
    assert count(User, User.active.is_(False)) > 0
    # Dates spread over weeks.
    oldest, newest = db.session.execute(
        sa.select(sa.func.min(DeviceLogEntry.created_at), sa.func.max(DeviceLogEntry.created_at))
    ).one()
    assert newest - oldest > demo_large.SPAN / 2

    # The ORM adds rows after the explicit ids (PostgreSQL's sequences were moved on).
    highest = db.session.scalar(sa.select(sa.func.max(User.id)))
    user = User(org_id=db.session.scalar(sa.select(Organization.id)), email="new@example.com")
    user.display_name = "New"
    db.session.add(user)
    db.session.commit()
    assert user.id == highest + 1

    again = runner.invoke(args=["demo", "seed", "--large", "--scale", "0.02"])
    assert again.exit_code == 0, again.output
    assert "Large demo set already present" in again.output
    assert count(DeviceLogEntry) == sizes.log_entries


def test_large_seed_refuses_a_scale_out_of_range(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--large", "--scale", "2"])
    assert result.exit_code != 0
    assert "scale" in result.output.lower()
