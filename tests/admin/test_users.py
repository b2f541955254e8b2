"""Users pages for admin and helpdesk: list, search, detail, decision preview."""

import pytest

from portal.extensions import db
from portal.models import Device
from tests.admin.users_support import HTMX, add_users, make_conflict, user_id
from tests.conftest import csrf_token

# --- list and search ---------------------------------------------------------------------


def test_admin_sees_every_user_masked_and_the_add_button(seeded, auth, client):
    auth.login("adam@example.com")
    body = client.get("/admin/users").get_data(as_text=True)
    for name in ("Alice Martin", "Bob Durand", "Helen Petit", "Adam Bernard"):
        assert name in body
    assert "al***@appleid.example.com" in body
    assert "alice@appleid.example.com" not in body
    assert "Add user" in body and 'href="/admin/users/new"' in body


def test_helpdesk_reads_the_list_without_add_controls(seeded, auth, client):
    auth.login("helen@example.com")
    response = client.get("/admin/users")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Alice Martin" in body and "Add user" not in body and "/admin/users/new" not in body
    assert client.get("/admin/users/new").status_code == 403


def test_employee_cannot_see_users(seeded, auth, client):
    auth.login("alice@example.com")
    assert client.get("/admin/users").status_code == 403
    assert client.get(f"/admin/users/{user_id(seeded, 'bob@example.com')}").status_code == 403


def test_nav_shows_users_to_helpdesk_not_employees(seeded, auth, client, app):
    auth.login("helen@example.com")
    assert '<a href="/admin/users" >Users</a>' in client.get("/").get_data(as_text=True)
    other = app.test_client()
    token = csrf_token(other)
    other.post(
        "/login",
        data={"email": "alice@example.com", "password": "demo-password", "csrf_token": token},
    )
    assert 'href="/admin/users"' not in other.get("/").get_data(as_text=True)


def test_htmx_search_returns_only_the_rows(seeded, auth, client):
    auth.login("adam@example.com")
    response = client.get("/admin/users?q=ALI", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.startswith('<div id="user-rows">') and "<html" not in body
    assert "Alice Martin" in body and "Bob Durand" not in body
    assert "1 account" in body


def test_search_by_email_and_no_match(seeded, auth, client):
    auth.login("adam@example.com")
    assert "Bob Durand" in client.get("/admin/users?q=bob@example").get_data(as_text=True)
    body = client.get("/admin/users?q=%25_nobody").get_data(as_text=True)
    assert "No account matches." in body and 'value="%_nobody"' in body


def test_search_query_is_escaped(seeded, auth, client):
    auth.login("adam@example.com")
    body = client.get("/admin/users?q=<script>x</script>").get_data(as_text=True)
    assert "<script>x</script>" not in body and "&lt;script&gt;" in body


def test_paging_keeps_the_search(seeded, auth, client):
    add_users(seeded, 30)
    auth.login("adam@example.com")
    first = client.get("/admin/users?q=zed").get_data(as_text=True)
    assert "30 accounts" in first and "Page 1 of 2" in first
    assert "Zed user 00" in first and "Zed user 29" not in first
    assert "/admin/users?page=2&amp;q=zed" in first
    second = client.get("/admin/users?page=2&q=zed", headers=HTMX).get_data(as_text=True)
    assert "Zed user 29" in second and "Zed user 00" not in second and "Page 2 of 2" in second
    # A page past the end is empty, not an error.
    assert client.get("/admin/users?page=99").status_code == 200


def test_conflicts_show_a_badge_and_have_a_filter(seeded, auth, client):
    make_conflict(seeded)
    auth.login("adam@example.com")
    body = client.get("/admin/users").get_data(as_text=True)
    assert "1 account has a Managed Apple ID conflict." in body
    assert body.count('class="badge warn">Conflict<') == 1
    only = client.get("/admin/users?filter=conflicts", headers=HTMX).get_data(as_text=True)
    assert "Carol Conflict" in only and "Alice Martin" not in only
    assert "with a Managed Apple ID conflict" in only


# --- detail and decision preview ---------------------------------------------------------


def test_detail_shows_groups_setting_and_masked_apple_id(seeded, auth, client):
    auth.login("helen@example.com")
    body = client.get(f"/admin/users/{user_id(seeded, 'alice@example.com')}").get_data(as_text=True)
    assert "<h1>Alice Martin</h1>" in body
    assert "<li>User Enrollment</li>" in body
    assert "BYOD – User Enrollment" in body
    assert "Given by the group “User Enrollment” (priority 10)." in body
    assert "al***@appleid.example.com" in body and "alice@appleid.example.com" not in body
    # The preview starts on a current iPhone.
    assert 'id="decision-preview"' in body and "User Enrollment, account-driven" in body
    assert body.count('class="badge ok">Met<') == 6
    assert "Derive the Managed Apple ID again" not in body


def test_detail_of_bob_names_the_default_setting(seeded, auth, client):
    auth.login("adam@example.com")
    body = client.get(f"/admin/users/{user_id(seeded, 'bob@example.com')}").get_data(as_text=True)
    assert "In no group." in body
    assert "The default setting: the account is in no group with a setting." in body
    assert "Device Enrollment, profile-based" in body
    assert "Your account is set up for “Device Enrollment”, not User Enrollment." in body


def test_detail_lists_devices_without_hardware_identifiers(seeded, auth, client):
    alice = user_id(seeded, "alice@example.com")
    with seeded.app_context():
        db.session.add(
            Device(
                user_id=alice,
                name="Alice's iPhone",
                platform="ios",
                os_version="18.1",
                enrollment_type="device",
                enrollment_method="profile",
                status="enrolled",
                udid="00008110-SECRET-UDID",
                serial_number="SERIALSECRET",
            )
        )
        db.session.commit()
    auth.login("helen@example.com")
    body = client.get(f"/admin/users/{alice}").get_data(as_text=True)
    assert "Alice&#39;s iPhone" in body and "iOS" in body and "Enrolled" in body
    assert "Device Enrollment, profile-based" in body
    assert "SECRET-UDID" not in body and "SERIALSECRET" not in body


@pytest.mark.parametrize(
    ("query", "summary", "reason"),
    [
        ("platform=macos&os_version=13&channel=web", "User Enrollment, profile-based", None),
        (
            "platform=ios&os_version=12.4&channel=web",
            "Device Enrollment, profile-based",
            "iOS 12.4 is too old: User Enrollment needs iOS 13.0 or later.",
        ),
        (
            "platform=ipados&os_version=17.4&channel=web&supervised=y",
            "Device Enrollment, profile-based",
            "This device is supervised by a company",
        ),
        (
            "platform=ios&os_version=17.4&channel=configurator",
            "Device Enrollment, with Apple Configurator",
            "Apple Configurator, which always means Device Enrollment",
        ),
    ],
)
def test_decision_preview_fragment(seeded, auth, client, query, summary, reason):
    auth.login("helen@example.com")
    alice = user_id(seeded, "alice@example.com")
    response = client.get(f"/admin/users/{alice}/decision?{query}", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.startswith('<section id="decision-preview"') and "<html" not in body
    assert summary in body
    if reason:
        assert reason in body


def test_decision_preview_without_htmx_is_the_whole_page(seeded, auth, client):
    auth.login("adam@example.com")
    alice = user_id(seeded, "alice@example.com")
    body = client.get(
        f"/admin/users/{alice}/decision?platform=macos&os_version=13&channel=web"
    ).get_data(as_text=True)
    assert "<h1>Alice Martin</h1>" in body and "User Enrollment, profile-based" in body
    assert 'value="13"' in body


def test_decision_preview_in_french(seeded, auth, client):
    auth.login("adam@example.com")
    client.post("/locale", data={"locale": "fr", "csrf_token": csrf_token(client, "/")})
    bob = user_id(seeded, "bob@example.com")
    body = client.get(
        f"/admin/users/{bob}/decision?platform=ios&os_version=18.1&channel=web", headers=HTMX
    ).get_data(as_text=True)
    assert "Inscription de l’appareil, par profil" in body


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("platform=ios&os_version=seventeen&channel=web", "os_version", "like 17.4 or 14.6.1"),
        ("platform=ios&os_version=&channel=web", "os_version", "Enter an OS version"),
        ("platform=android&os_version=14&channel=web", "platform", "Not a valid choice"),
        ("platform=ios&os_version=14&channel=pigeon", "channel", "Not a valid choice"),
    ],
)
def test_decision_preview_bad_input_shows_the_error_by_the_field(
    seeded, auth, client, query, field, message
):
    auth.login("adam@example.com")
    alice = user_id(seeded, "alice@example.com")
    response = client.get(f"/admin/users/{alice}/decision?{query}", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert body.startswith('<section id="decision-preview"')
    assert f'id="{field}-error"' in body and message in body
    assert 'id="decision-result"' not in body


def test_unknown_user_is_404_everywhere(seeded, auth, client):
    auth.login("adam@example.com")
    assert client.get("/admin/users/999999").status_code == 404
    assert client.get("/admin/users/999999/decision?platform=ios").status_code == 404
    token = csrf_token(client, "/admin/users")
    response = client.post("/admin/users/999999/managed-apple-id", data={"csrf_token": token})
    assert response.status_code == 404
    assert "Page not found" in client.get("/admin/users/999999").get_data(as_text=True)
