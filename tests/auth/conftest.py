"""OpenID providers for the sign-in tests: a real one (oidc-provider) and a scriptable one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from portal import demo
from portal.extensions import limiter
from tests.support.fake_idp import FakeIdp
from tests.support.oidc_provider import OidcProvider

TEST_CLIENT_CALLBACK = "http://localhost/login/oidc/callback"


@pytest.fixture
def fake_idp():
    idp = FakeIdp().start()
    yield idp
    idp.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    provider = OidcProvider(tmp_path_factory.mktemp("oidc"), [TEST_CLIENT_CALLBACK])
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def seeded_factory(app_factory):
    """An app with extra configuration and the demo data."""

    def factory(**overrides):
        app = app_factory(**overrides)
        with app.app_context():
            limiter.reset()
            demo.seed("testing")
        return app

    return factory


def begin(client, next_target: str | None = None) -> tuple[str, dict]:
    """Press the company sign-in button; returns the provider URL and its parameters."""
    query = {"next": next_target} if next_target is not None else {}
    response = client.get("/login/oidc", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)
    url = response.headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return url, params
