"""The configurations pages: admins build, change and delete; refusals are explained on the
form; helpdesk reads; employees are kept out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db, limiter
from portal.models import AuditEvent, Configuration, Group
from tests.conftest import csrf_token
from tests.support.pki import signing_config


@pytest.fixture(scope="session")
def signing_pki(tmp_path_factory) -> dict[str, str]:
    return signing_config(tmp_path_factory.mktemp("configuration-pages-pki"))


@pytest.fixture
def app(app_factory, signing_pki):
    app = app_factory(MDM_PROFILE_IDENTIFIER="com.example.portal", **signing_pki)
    with app.app_context():
        limiter.reset()
    return app


def group_id(app, name="User Enrollment") -> int:
    with app.app_context():
        value = db.session.scalar(sa.select(Group.id).where(Group.name == name))
        db.session.rollback()
    return value


def post(client, path, data, page=None):
    token = csrf_token(client, page or path)
    return client.post(path, data={"csrf_token": token, **data})


VPN = {
    "name": "Work VPN",
    "vpn_name": "Example VPN",
    "server": "vpn.example.com",
    "remote_id": "vpn.example.com",
    "local_id": "{email}",
    "auth": "SharedSecret",
    "shared_secret": "s3cret",
    "apps": "com.microsoft.Office.Outlook",
    "on_demand": "y",
    "priority": "10",
}


def test_the_list_shows_the_migrated_passcode_presets(seeded, client, auth):
    auth.login("helen@example.com")
    page = client.get("/admin/configurations").get_data(as_text=True)
    assert "Work passcode" in page and "Strict passcode" in page
    assert "New configuration" not in page  # helpdesk reads only


def test_an_employee_is_kept_out(seeded, client, auth):
    auth.login("alice@example.com")
    assert client.get("/admin/configurations").status_code == 403
    assert client.get("/admin/configurations/new/wifi").status_code == 403


def test_the_form_shows_what_user_enrollment_forbids_beside_the_field(seeded, client, auth):
    auth.login("adam@example.com")
    page = client.get("/admin/configurations/new/wifi").get_data(as_text=True)
    assert 'id="proxy-ue"' in page
    assert "User Enrollment forbids this on iPhone and iPad" in page
    page = client.get("/admin/configurations/new/passcode").get_data(as_text=True)
    assert "User Enrollment ignores this on iPhone and iPad" in page
    assert "Restrictions – this is not a valid request type" in page
    assert client.get("/admin/configurations/new/nonsense").status_code == 404


def test_an_admin_builds_a_per_app_vpn_for_user_enrollment(seeded, client, auth):
    auth.login("adam@example.com")
    response = post(
        client,
        "/admin/configurations/new/per_app_vpn",
        {**VPN, "platforms": "ios", "groups": str(group_id(seeded))},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with seeded.app_context():
        saved = db.session.scalar(sa.select(Configuration).where(Configuration.name == "Work VPN"))
        assert [g.name for g in saved.groups] == ["User Enrollment"]
        assert saved.settings["shared_secret"].startswith("enc:")  # never stored in clear
        assert "s3cret" not in str(db.session.scalars(sa.select(AuditEvent.after)).all())
        ident = saved.id
        db.session.rollback()
    page = client.get(f"/admin/configurations/{ident}").get_data(as_text=True)
    assert "Stored. Leave empty to keep it." in page and "s3cret" not in page
    # Saved again without the secret: it is kept; the version moves only with a change.
    response = post(
        client,
        f"/admin/configurations/{ident}",
        {**VPN, "shared_secret": "", "platforms": "ios", "groups": str(group_id(seeded))},
    )
    assert response.status_code == 303
    with seeded.app_context():
        saved = db.session.get(Configuration, ident)
        assert saved.version == 1 and saved.settings["shared_secret"].startswith("enc:")
        db.session.rollback()


def test_a_configuration_that_cannot_apply_where_assigned_is_refused_with_the_reason(
    seeded, client, auth
):
    auth.login("adam@example.com")
    response = post(
        client,
        "/admin/configurations/new/per_app_vpn",
        {**VPN, "platforms": ["ios", "macos"], "groups": str(group_id(seeded))},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "could not apply where it is assigned" in page
    assert "Mac, User Enrollment: Restrictions – this is not a valid request type" in page
    assert 'value="Work VPN"' in page  # the form keeps what was typed
    with seeded.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Configuration)
                .where(Configuration.name == "Work VPN")
            )
            == 0
        )
        db.session.rollback()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Give the configuration a name."),
        ({"server": ""}, "This field is required."),
        ({"platforms": []}, "Choose at least one system."),
        ({"priority": "0"}, "Give a priority from 1 to 1000."),
        ({"apps": "outlook"}, "is not a bundle ID"),
    ],
)
def test_bad_input_is_a_clear_400_on_its_field(seeded, client, auth, changes, message):
    auth.login("adam@example.com")
    data = {**VPN, "platforms": "ios", **changes}
    response = post(client, "/admin/configurations/new/per_app_vpn", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_duplicate_name_is_refused(seeded, client, auth):
    auth.login("adam@example.com")
    response = post(
        client,
        "/admin/configurations/new/webclip",
        {
            "name": "Work passcode",
            "label": "Intranet",
            "url": "https://intranet.example.com",
            "platforms": "ios",
            "priority": "100",
        },  # fmt: skip
    )
    assert response.status_code == 409
    assert "Another configuration already has this name." in response.get_data(as_text=True)


def test_delete_needs_the_csrf_token_and_an_admin(seeded, client, auth):
    with seeded.app_context():
        ident = db.session.scalar(sa.select(Configuration.id).where(Configuration.preset == "work"))
        db.session.rollback()
    auth.login("helen@example.com")
    assert client.post(f"/admin/configurations/{ident}/delete").status_code in (400, 403)
    auth.logout()
    auth.login("adam@example.com")
    assert client.post(f"/admin/configurations/{ident}/delete").status_code == 400
    response = post(client, f"/admin/configurations/{ident}/delete", {},
                    page=f"/admin/configurations/{ident}")  # fmt: skip
    assert response.status_code == 303
    with seeded.app_context():
        assert db.session.get(Configuration, ident) is None
        db.session.rollback()
