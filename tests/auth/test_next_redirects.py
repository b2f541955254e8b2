"""`next` survives every sign-in, and never sends anyone to another site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.access import safe_next
from tests.auth.conftest import begin
from tests.conftest import csrf_token

EVIL = [
    "//evil.example",
    "//evil.example/path",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "evil.example",
    "///evil.example",
]


def _same_origin(location: str) -> bool:
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not any(c in location for c in "\r\n\t")
    )


@pytest.mark.parametrize("target", EVIL)
def test_local_sign_in_refuses_foreign_next(seeded, client, target):
    token = csrf_token(client, "/login?next=" + target)
    response = client.post(
        "/login",
        data={
            "email": "alice@example.com",
            "password": "demo-password",
            "next": target,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert _same_origin(response.headers["Location"])


def test_local_sign_in_keeps_a_same_origin_next_with_its_query(seeded, client):
    target = "/enroll?platform=ios&owner=personal"
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'value="/enroll?platform=ios&amp;owner=personal"' in page
    response = client.post(
        "/login",
        data={
            "email": "alice@example.com",
            "password": "demo-password",
            "next": target,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == target


@pytest.fixture
def oidc_app(seeded_factory, fake_idp):
    return seeded_factory(**fake_idp.settings())


def _oidc_sign_in(app, fake_idp, next_target):
    client = app.test_client()
    _url, params = begin(client, next_target)
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    return client.get("/login/oidc/callback", query_string={"code": "c", "state": params["state"]})


@pytest.mark.parametrize("target", EVIL)
def test_oidc_round_trip_refuses_foreign_next(oidc_app, fake_idp, target):
    response = _oidc_sign_in(oidc_app, fake_idp, target)
    assert response.status_code == 302
    assert _same_origin(response.headers["Location"])


def test_oidc_next_lives_in_the_signed_state_not_in_the_provider_answer(oidc_app, fake_idp):
    client = oidc_app.test_client()
    url, params = begin(client, "/enroll?owner=personal")
    assert "enroll" not in url  # the provider never sees where the person goes next
    fake_idp.answer_with(fake_idp.claims(params["nonce"]))
    response = client.get(
        "/login/oidc/callback",
        query_string={"code": "c", "state": params["state"], "next": "//evil.example"},
    )
    assert response.headers["Location"] == "/enroll?owner=personal"


def test_account_driven_web_session_resumes_exactly(oidc_app, fake_idp):
    target = "/mdm/enroll/auth?user-identifier=alice%40example.com&model-family=iPhone"
    response = _oidc_sign_in(oidc_app, fake_idp, target)
    assert response.headers["Location"] == target


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_safe_next_never_leaves_the_origin(target):
    result = safe_next(target)
    if result is not None:
        assert _same_origin(result)
        assert not result.startswith("//")
        assert "\\" not in result


@settings(max_examples=200)
@given(
    st.sampled_from(["/", "//", "/\\", "\\", "http://", "https:", "//x", ""]),
    st.text(alphabet="/\\:.@%?#evilxample\t\r\n ", max_size=25),
)
def test_safe_next_with_tricky_prefixes(prefix, rest):
    result = safe_next(prefix + rest)
    if result is not None:
        assert _same_origin(result)
        assert not result.startswith("//") and not result.startswith("/\\")
