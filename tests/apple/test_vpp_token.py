"""The Apps and Books location token and the policy's criterion 4."""

from __future__ import annotations

import base64
import hashlib

import pytest
import sqlalchemy as sa

from portal.apple import setup, vpp_token
from portal.directory.service import organization
from portal.enrollment import service
from portal.extensions import db
from portal.models import AuditEvent, LocationToken, User

from . import helpers

SECRET = "test-secret-key"


@pytest.fixture
def adam(seeded):
    with seeded.app_context():
        yield db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))


def test_parse_reads_the_organization_and_expiry():
    parsed = vpp_token.parse(helpers.vpptoken("Example Corp", days=100))
    assert parsed.organization_name == "Example Corp"
    assert 98 <= (parsed.expires_at - helpers.NOW).days <= 100


@pytest.mark.parametrize(
    "data",
    [
        b"not base64 at all!",
        base64.b64encode(b"not json"),
        base64.b64encode(b"[1, 2]"),
        base64.b64encode(b'{"orgName": "X", "expDate": "2030-01-01T00:00:00+0000"}'),
        base64.b64encode(b'{"orgName": "", "token": "t", "expDate": "2030-01-01T00:00:00+0000"}'),
        base64.b64encode(b'{"orgName": "X", "token": "t", "expDate": "soon"}'),
    ],
)
def test_bad_files_are_refused_clearly(data):
    with pytest.raises(vpp_token.LocationTokenError, match="not an Apps and Books location token"):
        vpp_token.parse(data)


def test_an_empty_file_is_refused():
    with pytest.raises(vpp_token.LocationTokenError, match="Choose the .vpptoken file"):
        vpp_token.parse(b"  \n")


def test_an_expired_token_is_refused(adam):
    with pytest.raises(vpp_token.LocationTokenError, match="expired on"):
        vpp_token.upload(adam, organization(), helpers.vpptoken("X", days=-1), secret_key=SECRET)


def test_the_token_is_stored_encrypted_and_audited(adam):
    org = organization()
    vpp_token.upload(adam, org, helpers.vpptoken("Example Corp", token="tok"), secret_key=SECRET)
    db.session.commit()
    row = db.session.scalar(sa.select(LocationToken))
    assert "tok" not in row.token
    assert row.token_sha256 == hashlib.sha256(b"tok").hexdigest()
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "apple.vpp_token.uploaded")
    )
    assert "tok" not in str(event.after) and event.after["organization"] == "Example Corp"


def test_a_token_of_another_organization_makes_alice_fall_back(seeded, adam):
    alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    decision = service.explain(alice, platform="ios", os_version="18.1")
    assert decision.type == "user"
    vpp_token.upload(adam, organization(), helpers.vpptoken("Other Corp"), secret_key=SECRET)
    db.session.commit()
    decision = service.explain(alice, platform="ios", os_version="18.1")
    assert decision.type == "device"
    assert "vpp_token_other_organization" in decision.reason_codes
    checklist = setup.checklist(organization())
    assert not checklist.complete and "Other Corp" in checklist.criterion_reason
    result = seeded.test_cli_runner().invoke(
        args=["enrollment", "explain", "alice@example.com", "--platform", "ios", "--os", "18.1"]
    )
    assert "Other Corp" in result.output


def test_linking_and_unlinking_abm_is_audited(adam):
    org = organization()
    setup.unlink_abm(adam, org)
    assert (org.abm_linked, org.abm_organization_name) == (False, None)
    with pytest.raises(setup.SetupError):
        setup.link_abm(adam, org, name=" ", organization_id="1")
    with pytest.raises(setup.SetupError):
        setup.link_abm(adam, org, name="Example Corp", organization_id="")
    setup.link_abm(adam, org, name="Example Corp", organization_id="ABM-1")
    assert (org.abm_linked, org.abm_organization_id) == (True, "ABM-1")
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"apple.abm.linked", "apple.abm.unlinked"} <= set(actions)


def test_warnings_30_days_before_expiry(adam):
    org = organization()
    vpp_token.upload(adam, org, helpers.vpptoken("Example Corp", days=12), secret_key=SECRET)
    codes = [notice.code for notice in setup.warnings(org)]
    assert codes == ["vpp_token_expiring"]
    later = helpers.NOW + helpers.datetime.timedelta(days=20)
    assert [notice.code for notice in setup.warnings(org, later)] == ["vpp_token_expired"]
