"""OIDC sign-in against a provider whose answers each test writes: what must be refused."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc.jwk import RSAKey

from portal.extensions import db
from portal.models import AuditEvent, User, UserSession, UserSource
from tests.auth.conftest import begin


@pytest.fixture
def oidc_app(seeded_factory, fake_idp):
    return seeded_factory(**fake_idp.settings())


@pytest.fixture
def client(oidc_app):
    return oidc_app.test_client()


def _sessions(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession))


def _finish(client, params, code="code-1"):
    return client.get("/login/oidc/callback", query_string={"code": code, "state": params["state"]})


def _assert_refused(response, app, status, text):
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert text in body
    assert "Traceback" not in body
    assert _sessions(app) == 0
    assert response.headers.get("Location") is None


def test_valid_token_signs_in_and_uses_pkce_s256(client, oidc_app, fake_idp):
    url, params = begin(client, "/enroll?platform=ios&owner=personal")
    assert url.startswith(fake_idp.issuer + "/authorize?")
    assert params["code_challenge_method"] == "S256"
    assert params["response_type"] == "code"
    assert params["scope"] == "openid email profile"
    assert params["nonce"] and params["state"]
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))

    response = _finish(client, params)

    assert response.status_code == 302
    # The decision's parameters survive the round trip untouched.
    assert response.headers["Location"] == "/enroll?platform=ios&owner=personal"
    sent = fake_idp.token_requests[-1]
    verifier = sent["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge.decode() == params["code_challenge"]
    assert sent["authorization"].startswith("Basic ")
    home = client.get("/")
    assert "Alice Martin" in home.get_data(as_text=True)
    with oidc_app.app_context():
        row = db.session.scalar(sa.select(UserSession))
        assert row.method == "oidc" and row.user.email == "alice@example.com"
        assert "auth.sign_in" in db.session.scalars(sa.select(AuditEvent.action)).all()


def test_tampered_state_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    response = client.get(
        "/login/oidc/callback", query_string={"code": "c", "state": params["state"] + "x"}
    )
    _assert_refused(response, oidc_app, 400, "This sign-in link is no longer valid")
    assert fake_idp.token_requests == []  # the code was never even redeemed


def test_state_from_another_browser_is_refused(oidc_app, fake_idp):
    victim, attacker = oidc_app.test_client(), oidc_app.test_client()
    _url, params = begin(attacker)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    response = _finish(victim, params)
    _assert_refused(response, oidc_app, 400, "This sign-in link is no longer valid")


def test_callback_without_state_is_refused(client, oidc_app):
    response = client.get("/login/oidc/callback?code=abc")
    _assert_refused(response, oidc_app, 400, "This sign-in link is no longer valid")


def test_replayed_callback_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    assert _finish(client, params).status_code == 302
    auth_cookie = client.get_cookie("portal_session")
    assert auth_cookie is not None
    fresh = oidc_app.test_client()
    response = _finish(fresh, params)
    assert response.status_code == 400
    with oidc_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"aud": "some-other-client"}, "wrong audience"),
        ({"aud": ["some-other-client", "fake-client"], "azp": "some-other-client"}, "azp"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iss": "https://evil.example"}, "wrong issuer"),
        ({"nonce": "not-the-nonce"}, "wrong nonce"),
        ({"nonce": None}, "no nonce"),
        ({"iat": None}, "no iat"),
        ({"exp": None}, "no exp"),
    ],
)
def test_bad_id_tokens_are_refused(client, oidc_app, fake_idp, change, label):
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"], **change))
    response = _finish(client, params)
    _assert_refused(response, oidc_app, 401, "could not be verified")


def test_token_signed_with_another_key_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    fake_idp.answer_with(fake_idp.claims(params["nonce"]), key=stranger)
    _assert_refused(_finish(client, params), oidc_app, 401, "could not be verified")


def test_unsigned_token_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    claims = fake_idp.claims(params["nonce"])
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    fake_idp.token_response = {
        "access_token": "x",
        "token_type": "Bearer",
        "id_token": f"{header}.{payload}.",
    }
    _assert_refused(_finish(client, params), oidc_app, 401, "could not be verified")


def test_garbage_token_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.token_response = {"access_token": "x", "token_type": "Bearer", "id_token": "a.b.c"}
    _assert_refused(_finish(client, params), oidc_app, 401, "could not be verified")


def test_token_response_without_id_token_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.token_response = {"access_token": "x", "token_type": "Bearer"}
    _assert_refused(_finish(client, params), oidc_app, 401, "could not be verified")


def test_code_the_provider_refuses_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    # No answer prepared: the token endpoint says invalid_grant (a replayed code).
    _assert_refused(_finish(client, params), oidc_app, 401, "could not be verified")


def test_provider_error_answer_is_a_clear_page(client, oidc_app):
    _url, params = begin(client)
    response = client.get(
        "/login/oidc/callback",
        query_string={"error": "access_denied", "state": params["state"]},
    )
    _assert_refused(response, oidc_app, 401, "The sign-in was cancelled")


def test_answer_from_another_issuer_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    response = client.get(
        "/login/oidc/callback",
        query_string={"code": "c", "state": params["state"], "iss": "https://evil.example"},
    )
    _assert_refused(response, oidc_app, 401, "could not be verified")


def test_unknown_account_is_refused_without_jit(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"], email="zoe@example.com"))
    _assert_refused(_finish(client, params), oidc_app, 403, "there is no portal account for it")
    with oidc_app.app_context():
        assert db.session.scalar(sa.select(User).filter_by(email="zoe@example.com")) is None


def test_unverified_email_is_refused(client, oidc_app, fake_idp):
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"], email_verified=False))
    _assert_refused(_finish(client, params), oidc_app, 403, "there is no portal account")


def test_deactivated_account_is_refused(client, oidc_app, fake_idp):
    with oidc_app.app_context():
        db.session.scalar(sa.select(User).filter_by(email="alice@example.com")).active = False
        db.session.commit()
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    _assert_refused(_finish(client, params), oidc_app, 403, "deactivated")


def test_jit_creates_an_entra_employee_with_a_managed_apple_id(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings(OIDC_JIT_USERS=True))
    client = app.test_client()
    _url, params = begin(client)
    claims = fake_idp.claims(
        params["nonce"],
        email="Zoe.Roy@example.com",
        name="Zoé Roy",
        preferred_username="zoe.roy@example.com",
    )
    fake_idp.answer_with(claims)
    assert _finish(client, params).status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(email="zoe.roy@example.com"))
        assert user.source == UserSource.ENTRA
        assert user.role == "employee"
        assert user.display_name == "Zoé Roy"
        assert user.managed_apple_id == "zoe.roy@appleid.example.com"


def test_jit_refuses_addresses_outside_the_org_domains(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings(OIDC_JIT_USERS=True))
    client = app.test_client()
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"], email="mallory@evil.example"))
    _assert_refused(_finish(client, params), app, 403, "no portal account")
    with app.app_context():
        assert db.session.scalar(sa.select(User).filter_by(email="mallory@evil.example")) is None


def test_user_claim_is_configurable(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings(OIDC_USER_CLAIM="preferred_username"))
    client = app.test_client()
    _url, params = begin(client)
    fake_idp.answer_with(
        fake_idp.claims(
            params["nonce"], email="someone-else@example.com", preferred_username="BOB@example.com"
        )
    )
    assert _finish(client, params).status_code == 302
    assert "Bob Durand" in client.get("/").get_data(as_text=True)


def test_missing_user_claim_is_a_clear_page(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings(OIDC_USER_CLAIM="upn"))
    client = app.test_client()
    _url, params = begin(client)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    _assert_refused(_finish(client, params), app, 403, "OIDC_USER_CLAIM")


def test_unreachable_provider_is_a_clear_page(seeded_factory):
    from tests.support.ldap_server import free_port

    app = seeded_factory(
        OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", OIDC_CLIENT_ID="x", OIDC_TIMEOUT=2
    )
    response = app.test_client().get("/login/oidc")
    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)


def test_metadata_of_another_issuer_is_refused(client, oidc_app, fake_idp):
    fake_idp.metadata_overrides = {"issuer": "https://evil.example"}
    response = client.get("/login/oidc")
    assert response.status_code == 502


def test_routes_are_404_without_configuration(seeded):
    client = seeded.test_client()
    assert client.get("/login/oidc").status_code == 404
    assert client.get("/login/oidc/callback?state=x&code=y").status_code == 404
    assert "company account" not in client.get("/login").get_data(as_text=True)


def test_sign_in_page_shows_the_button_with_the_configured_label(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings(OIDC_BUTTON_LABEL="Sign in with Contoso"))
    page = app.test_client().get("/login?next=/enroll").get_data(as_text=True)
    assert "Sign in with Contoso" in page
    assert 'href="/login/oidc?next=/enroll"' in page


def test_default_button_label(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with your company account" in page


def test_app_creation_makes_no_network_call(app_factory):
    # An issuer nobody listens on: creating the app must not fetch its metadata.
    app = app_factory(OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="x")
    assert "portal.oidc" in app.extensions


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.dictionaries(
        st.sampled_from(["state", "code", "iss", "error", "error_description", "next"]),
        st.text(max_size=80),
        max_size=6,
    )
)
def test_arbitrary_callback_queries_never_sign_in_nor_break(client, oidc_app, query):
    begin(client)  # a real pending state in this browser, which the query does not carry
    response = client.get("/login/oidc/callback", query_string=query)
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert _sessions(oidc_app) == 0
