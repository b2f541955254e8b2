"""Creating accounts: validated, unique, audited, with a derived Managed Apple ID."""

import pytest
import sqlalchemy as sa

from portal.directory import service
from portal.extensions import db
from portal.models import AuditEvent, Organization, Role, User, UserSource
from portal.passwords import passwords


@pytest.fixture
def org(ctx):
    org = Organization(name="Example Corp", domains=["example.com"], apple_id_subdomain=True)
    db.session.add(org)
    db.session.commit()
    return org


@pytest.fixture
def admin(org):
    admin = User(org_id=org.id, email="adam@example.com", display_name="Adam", role=Role.ADMIN)
    db.session.add(admin)
    db.session.commit()
    return admin


def create(org, admin, **values):
    args = {
        "org": org,
        "email": "Zoe.Martin@Example.com",
        "display_name": "  Zoé   Martin ",
        "role": "employee",
        "source": "local",
    }
    args.update(values)
    return service.create_user(admin, **args)


def user_count():
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def test_creates_a_local_user_with_a_managed_apple_id(org, admin):
    user = create(org, admin, password="correct horse battery")
    db.session.commit()
    assert user.email == "zoe.martin@example.com"
    assert user.display_name == "Zoé Martin"
    assert user.role == Role.EMPLOYEE and user.source == UserSource.LOCAL
    assert user.managed_apple_id == "zoe.martin@appleid.example.com"
    assert passwords.verify(user.password_hash, "correct horse battery")
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.created", "user.managed_apple_id_set"]
    created = db.session.scalar(sa.select(AuditEvent).filter_by(action="user.created"))
    assert created.actor_id == admin.id and created.after["email"] == "zoe.martin@example.com"
    assert "correct horse" not in str(created.after)


def test_without_password_has_no_hash(org, admin):
    assert create(org, admin).password_hash is None


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"email": "not-an-address"}, service.InvalidEmail),
        ({"email": ""}, service.InvalidEmail),
        ({"email": "a@b@example.com"}, service.InvalidEmail),
        ({"email": "x" * 320 + "@example.com"}, service.InvalidEmail),
        ({"email": "ADAM@example.com "}, service.DuplicateEmail),
        ({"display_name": "   "}, service.InvalidDisplayName),
        ({"display_name": "x" * 201}, service.InvalidDisplayName),
        ({"role": "root"}, service.InvalidRole),
        ({"source": "nis"}, service.InvalidSource),
        ({"upn": "no-at-sign"}, service.InvalidUpn),
        ({"password": "short"}, service.InvalidPassword),
        ({"password": "long enough password", "source": "ldap"}, service.InvalidPassword),
    ],
)
def test_bad_input_raises_a_directory_error_and_changes_nothing(org, admin, values, error):
    before = user_count()
    with pytest.raises(error) as raised:
        create(org, admin, **values)
    assert isinstance(raised.value, service.DirectoryError)
    assert str(raised.value)  # a message fit to show
    db.session.commit()
    assert user_count() == before
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_duplicate_upn(org, admin):
    create(org, admin, email="one@example.com", upn="one@corp.example.com")
    with pytest.raises(service.DuplicateUpn):
        create(org, admin, email="two@example.com", upn="ONE@corp.example.com")


def test_error_fields_name_the_form_field():
    assert service.DuplicateEmail().field == "email"
    assert service.InvalidPassword().field == "password"


def test_a_duplicate_found_only_by_the_database_is_still_a_duplicate(org, admin, monkeypatch):
    create(org, admin, email="zoe@example.com")
    db.session.commit()
    checks = iter([False, True])  # the pre-check misses it (a concurrent insert)
    monkeypatch.setattr(service, "_email_taken", lambda email: next(checks))
    with pytest.raises(service.DuplicateEmail):
        create(org, admin, email="zoe@example.com")
    db.session.commit()
    assert user_count() == 2


def test_a_held_managed_apple_id_still_creates_the_user_with_the_conflict(org, admin):
    admin.managed_apple_id = "zoe@appleid.example.com"
    db.session.commit()
    user = create(org, admin, email="zoe@example.com")
    db.session.commit()
    assert user.id is not None and user.managed_apple_id is None
    assert user.managed_apple_id_conflict == "zoe@appleid.example.com"


def test_organization_lookup(ctx):
    with pytest.raises(service.NoOrganization):
        service.organization()


def test_search_by_name_or_email_escapes_wildcards(org, admin):
    create(org, admin, email="zoe@example.com", display_name="Zoé Martin")
    create(org, admin, email="z_x@example.com", display_name="Other 100%")
    db.session.commit()

    def names(text, **kw):
        query = service.user_search(text, **kw)
        return [u.display_name for u in db.session.scalars(query)]

    assert names("MARTIN") == ["Zoé Martin"]
    assert names("zoe@") == ["Zoé Martin"]
    assert names("z_") == ["Other 100%"]
    assert names("100%") == ["Other 100%"]
    assert names("") == ["Adam", "Other 100%", "Zoé Martin"]
    assert names("", conflicts_only=True) == []
