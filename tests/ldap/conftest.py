"""A real OpenLDAP server for the LDAP tests (one per session, with TLS; tests only read it)."""

from __future__ import annotations

import pytest

from portal import demo
from portal.extensions import limiter
from tests.support.ldap_server import start_server


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("slapd"), tls=True)
    yield server
    server.stop()


@pytest.fixture
def ldap_app_factory(app_factory, slapd):
    """An app pointed at the test directory, with the demo data."""

    def factory(**overrides):
        app = app_factory(**slapd.settings(**overrides))
        with app.app_context():
            limiter.reset()
            demo.seed("testing")
        return app

    return factory


@pytest.fixture
def ldap_app(ldap_app_factory):
    return ldap_app_factory()
