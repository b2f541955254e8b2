"""Builders shared by the users pages' tests."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Organization, User
from tests.conftest import csrf_token

HTMX = {"HX-Request": "true"}


def user_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def count_users(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


def add_users(app, n, prefix="user"):
    with app.app_context():
        org = db.session.scalar(sa.select(Organization))
        for i in range(n):
            db.session.add(
                User(
                    org_id=org.id,
                    email=f"{prefix}{i:02d}@example.com",
                    display_name=f"Zed {prefix} {i:02d}",
                    managed_apple_id=f"{prefix}{i:02d}@appleid.example.com",
                )
            )
        db.session.commit()


def make_conflict(app, email="carol@example.com", held_by="bob@example.com"):
    """Carol should get bob's current Managed Apple ID: a conflict."""
    with app.app_context():
        org = db.session.scalar(sa.select(Organization))
        wanted = email.replace("@", "@appleid.")
        db.session.get(User, user_id(app, held_by)).managed_apple_id = wanted
        db.session.add(
            User(
                org_id=org.id,
                email=email,
                display_name="Carol Conflict",
                managed_apple_id_conflict=wanted,
            )
        )
        db.session.commit()


def new_user(client, **values):
    data = {
        "email": "zoe@example.com",
        "display_name": "Zoé Martin",
        "role": "employee",
        "password": "",
        "csrf_token": csrf_token(client, "/admin/users/new"),
    }
    data.update(values)
    return client.post("/admin/users/new", data=data)
