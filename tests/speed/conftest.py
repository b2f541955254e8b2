"""Fixtures of the speed tests: an app able to serve device requests."""

from __future__ import annotations

import pytest

from portal.extensions import limiter
from tests.support.pki import signing_config


@pytest.fixture(scope="session")
def speed_pki(tmp_path_factory) -> dict[str, str]:
    return signing_config(tmp_path_factory.mktemp("speed-pki"))


@pytest.fixture
def app(app_factory, speed_pki):
    app = app_factory(**speed_pki)
    with app.app_context():
        limiter.reset()
    return app
