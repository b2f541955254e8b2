"""OIDC sign-in through a real, independently written provider (panva's oidc-provider)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import UserSession
from tests.auth.conftest import TEST_CLIENT_CALLBACK, begin
from tests.support.oidc_provider import sign_in_at_provider


@pytest.fixture
def oidc_app(seeded_factory, oidc_provider):
    return seeded_factory(**oidc_provider.settings())


def _callback(client, location: str):
    parts = urlsplit(location)
    return client.get(parts.path, query_string=parts.query)


def _sessions(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession))


def test_sign_in_through_the_real_provider(oidc_app):
    client = oidc_app.test_client()
    url, params = begin(client, "/enroll?owner=personal")
    assert params["code_challenge_method"] == "S256"
    location = sign_in_at_provider(url, "alice@example.com", TEST_CLIENT_CALLBACK)
    back = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert back["state"] == params["state"]

    response = _callback(client, location)

    assert response.status_code == 302
    assert response.headers["Location"] == "/enroll?owner=personal"
    assert "Alice Martin" in client.get("/").get_data(as_text=True)


def test_a_code_is_good_once(oidc_app):
    client = oidc_app.test_client()
    url, _params = begin(client)
    location = sign_in_at_provider(url, "alice@example.com", TEST_CLIENT_CALLBACK)
    assert _callback(client, location).status_code == 302

    # The same answer again in the same browser: its state was used up.
    replay = _callback(client, location)
    assert replay.status_code == 400
    assert "no longer valid" in replay.get_data(as_text=True)

    # An attacker's browser with a fresh state of its own, and the stolen code.
    attacker = oidc_app.test_client()
    _url, fresh = begin(attacker)
    code = parse_qs(urlsplit(location).query)["code"][0]
    stolen = attacker.get(
        "/login/oidc/callback", query_string={"code": code, "state": fresh["state"]}
    )
    assert stolen.status_code == 401
    assert "could not be verified" in stolen.get_data(as_text=True)
    assert attacker.get("/").status_code == 302  # not signed in
    assert _sessions(oidc_app) == 1


def test_tampered_state_from_the_real_provider(oidc_app):
    client = oidc_app.test_client()
    url, _params = begin(client)
    location = sign_in_at_provider(url, "alice@example.com", TEST_CLIENT_CALLBACK)
    tampered = location.replace("state=", "state=x")
    response = _callback(client, tampered)
    assert response.status_code == 400
    assert _sessions(oidc_app) == 0


def test_unknown_person_at_the_real_provider_gets_no_session(oidc_app):
    client = oidc_app.test_client()
    url, _params = begin(client)
    location = sign_in_at_provider(url, "stranger@example.com", TEST_CLIENT_CALLBACK)
    response = _callback(client, location)
    assert response.status_code == 403
    assert "there is no portal account for it" in response.get_data(as_text=True)
    assert _sessions(oidc_app) == 0
