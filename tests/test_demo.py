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
