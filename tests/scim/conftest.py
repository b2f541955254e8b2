"""A seeded app, a SCIM token, and a client that speaks SCIM with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import demo
from portal.extensions import db
from portal.models import User
from portal.scim import tokens

DATA = Path(__file__).resolve().parent.parent / "data" / "scim"


def sample(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def scim_app(app):
    with app.app_context():
        demo.seed("testing")
    return app


@pytest.fixture
def token(scim_app) -> str:
    with scim_app.app_context():
        admin = db.session.scalar(sa.select(User).filter_by(email="adam@example.com"))
        _row, raw = tokens.issue(admin, days=30)
        db.session.commit()
    return raw


class Scim:
    """Requests as Entra sends them: bearer token, application/scim+json."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def request(
        self, method: str, path: str, body=None, *, raw: bytes | None = None, token=None, **kw
    ):
        headers = {"Authorization": f"Bearer {token or self.token}"}
        data = raw
        if body is not None:
            data = json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/scim+json"
        path = path if path.startswith("/scim/v2") else "/scim/v2" + path
        return self.client.open(path, method=method, data=data, headers=headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def scim(scim_app, token):
    return Scim(scim_app.test_client(), token)


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.get_json(force=True)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type
    return body
