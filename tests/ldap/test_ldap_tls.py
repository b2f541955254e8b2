"""LDAPS and StartTLS against the test slapd: a trusted CA works, anything else is refused."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from portal.directory import ldap_import
from portal.directory.ldap import LdapSettings, LdapUnavailable, check_connection
from portal.extensions import db
from portal.models import User, UserSource
from tests.conftest import Auth, csrf_token
from tests.support.ldap_server import SUFFIX, start_server
from tests.support.tls import Authority

SAME_MESSAGE = "That e-mail and password do not match an account."
UNTRUSTED = "presented a certificate the portal does not trust"


@pytest.fixture(scope="module")
def untrusted_ca(tmp_path_factory) -> str:
    """A CA that did not sign the directory's certificate."""
    return str(Authority.create(tmp_path_factory.mktemp("untrusted"), "Untrusted CA").cert_file)


@pytest.fixture
def tls_settings(slapd):
    """LDAP settings over LDAPS or StartTLS, trusting the test CA unless told otherwise."""

    def settings(kind: str, **overrides) -> dict:
        values = {"LDAP_CA_FILE": str(slapd.tls.ca_file)}
        if kind == "ldaps":
            values["LDAP_URL"] = slapd.ldaps_url
        else:
            values.update(LDAP_URL=slapd.url, LDAP_START_TLS=True)
        values.update(overrides)
        return values

    return settings


def _sign_in(app, email="jane.doe@example.com", password="ldap-password"):  # noqa: S107
    client = app.test_client()
    return client, Auth(client).login(email, password)


def _connection_test(app):
    client = app.test_client()
    Auth(client).login("adam@example.com")
    token = csrf_token(client, "/admin/sign-in")
    return client.post(
        "/admin/sign-in/ldap-test", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )


def _ldap_users(app) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(sa.select(User.email).where(User.source == UserSource.LDAP))
        )


@pytest.mark.parametrize("kind", ["ldaps", "start_tls"])
def test_sign_in_import_and_connection_test_over_tls(ldap_app_factory, tls_settings, kind):
    app = ldap_app_factory(LDAP_JIT_USERS=True, **tls_settings(kind))
    client, response = _sign_in(app)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Jane Doe" in client.get("/").get_data(as_text=True)
    with app.app_context():
        report = ldap_import.import_selection(
            LdapSettings.from_config(app.config),
            actor=None,
            group_dns=[f"cn=Mobile Staff,ou=groups,{SUFFIX}"],
        )
    assert report.created == ["john.smith@example.com"]  # Jane came at sign-in
    assert _ldap_users(app) == ["jane.doe@example.com", "john.smith@example.com"]
    response = _connection_test(app)
    assert response.status_code == 200
    assert "Connected. 3 people match the user filter" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["ldaps", "start_tls"])
@pytest.mark.parametrize("trust", ["another CA", "the system's CAs"])
def test_certificate_from_an_untrusted_ca_is_refused(
    ldap_app_factory, tls_settings, untrusted_ca, kind, trust, caplog
):
    ca_file = untrusted_ca if trust == "another CA" else ""
    app = ldap_app_factory(LDAP_JIT_USERS=True, **tls_settings(kind, LDAP_CA_FILE=ca_file))

    response = _connection_test(app)
    page = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "The directory cannot be used" in page
    assert UNTRUSTED in page
    # OpenSSL's reason, which depends on whether slapd sends its CA along.
    assert "self-signed certificate in certificate chain" in page or (
        "unable to get local issuer certificate" in page
    )
    assert "LDAP_CA_FILE" in page
    assert "Traceback" not in page

    # Sign-in fails closed: the same answer as a wrong password, nobody created.
    with caplog.at_level(logging.WARNING, logger="portal"):
        _client, response = _sign_in(app)
    assert response.status_code == 401
    assert SAME_MESSAGE in response.get_data(as_text=True)
    assert _ldap_users(app) == []
    assert any(UNTRUSTED in record.getMessage() for record in caplog.records)


def test_certificate_for_another_host_is_refused(slapd):
    if slapd.other_ldaps_url is None:
        pytest.skip("this machine has no 127.0.0.2 to reach the directory by a wrong name")
    settings = LdapSettings.from_config(
        slapd.settings(LDAP_URL=slapd.other_ldaps_url, LDAP_CA_FILE=str(slapd.tls.ca_file))
    )
    with pytest.raises(LdapUnavailable) as raised:
        check_connection(settings)
    assert UNTRUSTED in str(raised.value)
    assert "IP address mismatch" in str(raised.value)


def test_the_same_name_over_the_right_address_is_accepted(slapd):
    # The counterpart of the test above: same server, same CA, the name the certificate has.
    settings = LdapSettings.from_config(
        slapd.settings(
            LDAP_URL=f"ldaps://localhost:{slapd.tls_port}", LDAP_CA_FILE=str(slapd.tls.ca_file)
        )
    )
    assert check_connection(settings) == 3


@pytest.mark.parametrize("content", [None, b"", b"not a certificate\n"])
def test_unreadable_ca_file_is_a_clear_error(ldap_app_factory, slapd, tmp_path, content):
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_bytes(content)
    app = ldap_app_factory(LDAP_URL=slapd.ldaps_url, LDAP_CA_FILE=str(ca_file))
    response = _connection_test(app)
    page = response.get_data(as_text=True)
    assert response.status_code == 502
    assert f"LDAP_CA_FILE ({ca_file}) cannot be read as PEM certificates" in page
    assert "Traceback" not in page


def test_ldaps_to_a_port_without_tls_is_refused(slapd):
    settings = LdapSettings.from_config(
        slapd.settings(
            LDAP_URL=f"ldaps://127.0.0.1:{slapd.port}", LDAP_CA_FILE=str(slapd.tls.ca_file)
        )
    )
    with pytest.raises(LdapUnavailable) as raised:
        check_connection(settings)
    assert f"TLS with the directory at ldaps://127.0.0.1:{slapd.port} failed" in str(raised.value)


def test_start_tls_refused_by_the_directory_never_falls_back_to_plain_ldap(
    ldap_app_factory, tmp_path
):
    plain = start_server(tmp_path / "plain")
    try:
        app = ldap_app_factory(LDAP_URL=plain.url, LDAP_START_TLS=True, LDAP_JIT_USERS=True)
        response = _connection_test(app)
        assert response.status_code == 502
        assert f"the directory at {plain.url} refused StartTLS" in response.get_data(as_text=True)
        assert _sign_in(app)[1].status_code == 401
        assert _ldap_users(app) == []
        # The same directory without StartTLS answers: the refusal was about TLS.
        app.config["LDAP_START_TLS"] = False
        assert _connection_test(app).status_code == 200
    finally:
        plain.stop()
