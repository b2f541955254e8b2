"""The catalogue pages, installing from the device page, the licence-usage tab and the
notifications, through HTTP: admins act, helpdesk reads, bad input gets a clear 4xx."""

from __future__ import annotations

import sqlalchemy as sa

from portal.apple import notifications
from portal.apps import service
from portal.extensions import db
from portal.models import AdminNotification, App, EnrollmentType, LicenceAssignment, LicenceType
from tests.conftest import csrf_token

from .conftest import enrolled, new_app, person


def add(client, **values):
    data = {
        "csrf_token": csrf_token(client, "/admin/apps"),
        "adam_id": "951937596",
        "name": "Outlook",
        "platform": "ios",
        "licence_type": "user",
        "total_licences": "2",
        **values,
    }
    return client.post("/admin/apps", data=data)


def test_an_admin_adds_an_app_and_sees_it_in_the_catalogue(seeded, client, auth):
    auth.login("adam@example.com")
    response = add(client)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Outlook" in page and "951937596" in page and "0 of 2 in use" in page
    catalogue = client.get("/admin/apps").get_data(as_text=True)
    assert 'data-adam-id="951937596"' in catalogue


def test_bad_input_is_explained_and_nothing_is_written(seeded, client, auth):
    auth.login("adam@example.com")
    response = add(client, adam_id="outlook", total_licences="-4")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Give a number from 0 to 10,000,000." in page
    assert add(client, adam_id="outlook").status_code == 400
    assert "the number in its App Store link" in add(client, adam_id="outlook").get_data(
        as_text=True
    )
    assert add(client).status_code == 303
    duplicate = add(client, name="Outlook again")
    assert duplicate.status_code == 409 and "already in the catalogue" in duplicate.get_data(
        as_text=True
    )
    with seeded.app_context():
        assert db.session.scalar(sa.select(sa.func.count(App.id))) == 1


def test_helpdesk_reads_but_cannot_change(seeded, client, auth):
    with seeded.app_context():
        app_id = new_app().id
    auth.login("helen@example.com")
    page = client.get("/admin/apps").get_data(as_text=True)
    assert "Outlook" in page and "Add the app" not in page
    assert "Save" not in client.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    token = csrf_token(client, "/admin/apps")
    for path in (
        "/admin/apps",
        f"/admin/apps/{app_id}",
        f"/admin/apps/{app_id}/delete",
        "/admin/apps/sync",
    ):
        assert client.post(path, data={"csrf_token": token, "name": "x"}).status_code == 403


def test_edit_and_remove(seeded, client, auth):
    with seeded.app_context():
        app_id = new_app().id
    auth.login("adam@example.com")
    token = csrf_token(client, f"/admin/apps/{app_id}")
    data = {
        "csrf_token": token,
        "name": "Outlook (work)",
        "platform": "ios",
        "licence_type": "user",
        "total_licences": "9",
    }
    assert client.post(f"/admin/apps/{app_id}", data=data).status_code == 303
    assert "0 of 9 in use" in client.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert (
        client.post(f"/admin/apps/{app_id}", data={**data, "total_licences": "x"}).status_code
        == 400
    )
    assert (
        client.post(f"/admin/apps/{app_id}/delete", data={"csrf_token": token}).status_code == 303
    )
    assert client.get(f"/admin/apps/{app_id}").status_code == 404


def test_install_from_the_device_page_and_the_licence_usage_tab(seeded, client, auth):
    with seeded.app_context():
        outlook = new_app(total=1).id
        keynote = new_app("361285480", "Keynote", total=3, licence_type=LicenceType.DEVICE).id
        phone = enrolled("alice@example.com").id
        bob_phone = enrolled("bob@example.com", EnrollmentType.DEVICE).id
        user_id = person("alice@example.com").id
    auth.login("adam@example.com")
    page = client.get(f"/admin/devices/{phone}").get_data(as_text=True)
    assert 'id="install-app"' in page
    assert "Device-based licences cannot be used under User Enrollment" in page
    token = csrf_token(client, f"/admin/devices/{phone}")
    response = client.post(
        f"/admin/devices/{phone}/apps", data={"csrf_token": token, "app_id": outlook}
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Outlook is being installed, with a user-based licence." in page
    # A forged request for the device-based app is refused with the reason.
    response = client.post(
        f"/admin/devices/{phone}/apps",
        data={"csrf_token": token, "app_id": keynote},
        follow_redirects=True,
    )
    assert "Device-based licences cannot be used under User Enrollment" in response.get_data(
        as_text=True
    )
    client.post(f"/admin/devices/{bob_phone}/apps", data={"csrf_token": token, "app_id": keynote})
    tab = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert 'id="licence-usage"' in tab
    section = tab.split('id="licence-usage"')[1]
    assert "Outlook" in section and "User Enrollment" in section and "Keynote" not in section
    with seeded.app_context():
        bob = db.session.scalar(
            sa.select(LicenceAssignment).where(LicenceAssignment.device_id == bob_phone)
        )
        bob_user = bob.user_id
    bob_tab = (
        client.get(f"/admin/users/{bob_user}").get_data(as_text=True).split('id="licence-usage"')[1]
    )
    assert "Keynote" in bob_tab and "Device Enrollment" in bob_tab
    # No app chosen, or an unknown one: a clear message, nothing queued.
    for bad in ({}, {"app_id": "999999"}, {"app_id": "abc"}):
        answer = client.post(
            f"/admin/devices/{phone}/apps", data={"csrf_token": token, **bad}, follow_redirects=True
        )
        assert "Choose an app from the catalogue." in answer.get_data(as_text=True)


def test_a_failed_assignment_shows_in_the_bell_and_can_be_dismissed(seeded, client, auth):
    with seeded.app_context():
        app_id = new_app(total=0).id
        phone = enrolled("alice@example.com").id
        before = notifications.count()  # the Apple setup's own alerts
    auth.login("adam@example.com")
    token = csrf_token(client, f"/admin/devices/{phone}")
    page = client.post(
        f"/admin/devices/{phone}/apps",
        data={"csrf_token": token, "app_id": app_id},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "No licence left for Outlook" in page
    bell = client.get("/admin/notifications/bell", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert f">{before + 1}<" in bell.replace(" ", "")
    listing = client.get("/admin/notifications").get_data(as_text=True)
    assert 'data-code="licence_none_left"' in listing and f"/admin/apps/{app_id}" in listing
    with seeded.app_context():
        stored = db.session.scalar(sa.select(AdminNotification.id))
    assert (
        client.post(
            f"/admin/notifications/{stored}/dismiss", data={"csrf_token": token}
        ).status_code
        == 303
    )
    assert 'data-code="licence_none_left"' not in client.get("/admin/notifications").get_data(
        as_text=True
    )
    assert (
        client.post(
            f"/admin/notifications/{stored}/dismiss", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_sync_without_a_token_says_what_to_do(seeded, client, auth):
    auth.login("adam@example.com")
    token = csrf_token(client, "/admin/apps")
    page = client.post(
        "/admin/apps/sync", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Upload the Apps and Books location token first" in page


def test_the_employee_sees_the_work_apps_on_their_device(seeded, client, auth):
    with seeded.app_context():
        app = new_app(name="Microsoft Outlook", total=2)
        phone = enrolled("alice@example.com")
        service.install(person("adam@example.com"), phone, app, org=None)
        db.session.commit()
        phone_id = phone.id
    auth.login("alice@example.com")
    page = client.get(f"/devices/{phone_id}").get_data(as_text=True)
    section = page.split('id="work-apps"')[1].split("</section>")[0]
    assert "Microsoft Outlook" in section and "not to this device's serial number" in section
