"""Accounts bound to the OpenID identity that first signed in to them (issuer + subject).

Against the real provider (oidc-provider; `give_address` changes what address a subject
has), and the scripted one for Entra ID's multi-tenant issuer forms.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.auth import identity
from portal.extensions import db
from portal.models import AuditEvent, OidcIdentity, User, UserSession
from tests.auth.conftest import TEST_CLIENT_CALLBACK, begin
from tests.support.oidc_provider import sign_in_at_provider

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"


@pytest.fixture
def real_app(seeded_factory, oidc_provider):
    yield seeded_factory(**oidc_provider.settings())
    for subject in ("subject-alice", "subject-newcomer", "subject-other"):
        oidc_provider.give_address(subject, None)


@pytest.fixture
def addresses(oidc_provider):
    oidc_provider.give_address("subject-alice", "alice@example.com")
    oidc_provider.give_address("subject-newcomer", "alice@example.com")
    oidc_provider.give_address("subject-other", "alice@example.com")
    return oidc_provider


def _sign_in(app, login: str):
    client = app.test_client()
    url, _params = begin(client)
    location = sign_in_at_provider(url, login, TEST_CLIENT_CALLBACK)
    parts = urlsplit(location)
    return client, client.get(parts.path, query_string=parts.query)


def _sessions(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(
            sa.select(User.email).join(UserSession, UserSession.user_id == User.id)
        ).all()


def test_first_sign_in_binds_the_account_and_later_ones_follow_the_subject(
    real_app, addresses, oidc_provider
):
    _client, response = _sign_in(real_app, "subject-alice")
    assert response.status_code == 302
    with real_app.app_context():
        bound = db.session.scalar(sa.select(OidcIdentity))
        assert (bound.issuer, bound.subject) == (oidc_provider.issuer, "subject-alice")
        assert bound.user.email == "alice@example.com"
        assert "user.oidc_bound" in db.session.scalars(sa.select(AuditEvent.action)).all()
    # Her address changes at the provider (a name change): the subject still finds her.
    oidc_provider.give_address("subject-alice", "alice.martin@example.com")
    client, response = _sign_in(real_app, "subject-alice")
    assert response.status_code == 302
    assert "Alice Martin" in client.get("/").get_data(as_text=True)
    assert _sessions(real_app) == ["alice@example.com", "alice@example.com"]


def test_a_reused_address_cannot_enter_the_previous_owners_account(real_app, addresses):
    assert _sign_in(real_app, "subject-alice")[1].status_code == 302
    # The address is given to a newcomer, whose identity at the provider is another one.
    _client, response = _sign_in(real_app, "subject-newcomer")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "This account belongs to someone else" in page
    assert "given to someone new" in page
    assert _sessions(real_app) == ["alice@example.com"]  # only the first sign-in
    with real_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OidcIdentity)) == 1


def test_an_admin_can_release_a_binding(real_app, addresses):
    assert _sign_in(real_app, "subject-alice")[1].status_code == 302
    runner = real_app.test_cli_runner()
    result = runner.invoke(args=["users", "oidc-unbind", "alice@example.com"])
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    assert _sign_in(real_app, "subject-newcomer")[1].status_code == 302


def test_french_refusal_page(real_app, addresses):
    assert _sign_in(real_app, "subject-alice")[1].status_code == 302
    client = real_app.test_client()
    client.set_cookie("locale", "fr")
    url, _params = begin(client)
    location = sign_in_at_provider(url, "subject-other", TEST_CLIENT_CALLBACK)
    parts = urlsplit(location)
    response = client.get(parts.path, query_string=parts.query, headers={"Accept-Language": "fr"})
    assert response.status_code == 403
    assert "appartient à quelqu’un d’autre" in response.get_data(as_text=True)


# -- Entra ID's multi-tenant issuer forms (scripted provider) ---------------------------------


def _entra_app(seeded_factory, fake_idp, path: str, tenants: str, published: str):
    fake_idp.metadata_overrides = {"issuer": f"{fake_idp.issuer}/{published}/v2.0"}
    return seeded_factory(
        **fake_idp.settings(
            OIDC_ISSUER=f"{fake_idp.issuer}/{path}/v2.0", OIDC_ALLOWED_TENANTS=tenants
        )
    )


def _entra_sign_in(app, fake_idp, tenant: str, **claims):
    client = app.test_client()
    response = client.get("/login/oidc")
    if response.status_code != 302:
        return client, response
    params = dict(p.split("=", 1) for p in urlsplit(response.headers["Location"]).query.split("&"))
    fake_idp.answer_with(
        fake_idp.claims(
            params["nonce"],
            iss=f"{fake_idp.issuer}/{tenant}/v2.0",
            tid=tenant,
            oid="00000000-0000-0000-0000-00000000a11c",
            **claims,
        )
    )
    return client, client.get(
        "/login/oidc/callback", query_string={"code": "c", "state": params["state"]}
    )


@pytest.mark.parametrize("endpoint", ["common", "organizations"])
def test_multi_tenant_endpoint_accepts_an_allowed_tenant(seeded_factory, fake_idp, endpoint):
    app = _entra_app(seeded_factory, fake_idp, endpoint, TENANT, "{tenantid}")
    client, response = _entra_sign_in(app, fake_idp, TENANT)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Alice Martin" in client.get("/").get_data(as_text=True)
    with app.app_context():
        bound = db.session.scalar(sa.select(OidcIdentity))
        assert bound.issuer == f"{fake_idp.issuer}/{TENANT}/v2.0"
        assert (bound.tenant_id, bound.object_id) == (
            TENANT,
            "00000000-0000-0000-0000-00000000a11c",
        )


def test_multi_tenant_endpoint_refuses_another_tenant(seeded_factory, fake_idp):
    app = _entra_app(seeded_factory, fake_idp, "common", TENANT, "{tenantid}")
    _client, response = _entra_sign_in(app, fake_idp, OTHER_TENANT)
    assert response.status_code == 403
    assert "not one this portal accepts" in response.get_data(as_text=True)
    assert _sessions(app) == []


def test_multi_tenant_endpoint_without_allowed_tenants_says_what_is_wrong(seeded_factory, fake_idp):
    app = _entra_app(seeded_factory, fake_idp, "common", "", "{tenantid}")
    _client, response = _entra_sign_in(app, fake_idp, TENANT)
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "not set up correctly" in page and "OIDC_ALLOWED_TENANTS" in page
    assert "cannot be reached" not in page


def test_tenant_given_by_domain_name(seeded_factory, fake_idp):
    app = _entra_app(seeded_factory, fake_idp, "contoso.example", TENANT, TENANT)
    client, response = _entra_sign_in(app, fake_idp, TENANT)
    assert response.status_code == 302, response.get_data(as_text=True)
    # Not allowed: the page names both issuers.
    other = _entra_app(seeded_factory, fake_idp, "contoso.example", OTHER_TENANT, TENANT)
    _client, response = _entra_sign_in(other, fake_idp, TENANT)
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert f"{fake_idp.issuer}/{TENANT}/v2.0" in page
    assert f"{fake_idp.issuer}/contoso.example/v2.0" in page


def test_same_entra_user_through_another_app_registration(seeded_factory, fake_idp):
    """Entra's `sub` differs per app registration; tenant + object id still find her."""
    app = _entra_app(seeded_factory, fake_idp, TENANT, TENANT, TENANT)
    assert _entra_sign_in(app, fake_idp, TENANT, sub="pairwise-1")[1].status_code == 302
    response = _entra_sign_in(
        app, fake_idp, TENANT, sub="pairwise-2", email="alice.new@example.com"
    )[1]
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.scalars(sa.select(OidcIdentity)).all()
        assert [(r.subject, r.user.email) for r in rows] == [("pairwise-2", "alice@example.com")]


def test_account_for_binds_nothing_for_a_deactivated_account(seeded_factory, fake_idp):
    app = seeded_factory(**fake_idp.settings())
    with app.app_context():
        alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
        alice.active = False
        db.session.commit()
        claims = {"iss": fake_idp.issuer, "sub": "s-1", "email": "alice@example.com"}
        with pytest.raises(identity.NoAccount):
            identity.account_for(claims, identity.OidcSettings())
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OidcIdentity)) == 0
