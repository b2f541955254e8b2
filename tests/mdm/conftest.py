"""Fixtures of the MDM tests: an app with an https base URL, signed-in clients, devices."""

from __future__ import annotations

import pytest

from portal.extensions import limiter
from tests.support.pki import signing_config

from .support import BASE, DeviceClient, profile_of, secret_of


@pytest.fixture(scope="session")
def mdm_pki(tmp_path_factory) -> dict[str, str]:
    """A CA and signing certificate made once (RSA keys are slow), given by configuration."""
    return signing_config(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def app(app_factory, mdm_pki):
    # Without the device-facts questions at enrollment, a test's queue holds only its own
    # commands (tests/mdm/test_device_facts.py turns them on).
    app = app_factory(PUBLIC_BASE_URL=BASE, MDM_DEVICE_FACTS=False, **mdm_pki)
    with app.app_context():
        limiter.reset()
    return app


@pytest.fixture
def download(seeded, client, auth):
    """Sign in as `email` and download the profile for platform/os; (response, profile)."""

    signed_in: list[str] = []

    def download(email: str, platform: str, os: str):
        if signed_in[-1:] != [email]:
            if signed_in:
                auth.logout()
            auth.login(email)
            signed_in.append(email)
        response = client.get("/enroll/profile", query_string={"platform": platform, "os": os})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response, profile_of(response)

    return download


@pytest.fixture
def device_for(seeded, download):
    """Download a profile and return a DeviceClient bound by its secret, and the profile."""

    def device_for(email: str, platform: str, os: str):
        _response, profile = download(email, platform, os)
        return DeviceClient(seeded.test_client(), secret=secret_of(profile)), profile

    return device_for
