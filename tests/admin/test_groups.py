"""The groups pages: admins change groups and members; helpdesk only reads; bad input is refused."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Group, User, group_membership, setting_assignment
from tests.conftest import csrf_token

HX = {"HX-Request": "true"}


def group_id(app, name):
    with app.app_context():
        return db.session.scalar(sa.select(Group.id).filter_by(name=name))


def snapshot(app):
    """Groups, memberships, assignments, users and the audit trail's length."""
    with app.app_context():
        groups = sorted(db.session.execute(sa.select(Group.id, Group.name, Group.description)))
        members = sorted(db.session.execute(sa.select(group_membership)))
        assigned = sorted(db.session.execute(sa.select(setting_assignment)))
        users = db.session.scalar(sa.select(sa.func.count(User.id)))
        audit = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action.startswith("group."))
        )
        return groups, members, assigned, users, audit


@pytest.fixture
def admin(seeded, auth, client):
    auth.login("adam@example.com")
    return client


@pytest.fixture
def helpdesk(seeded, auth, client):
    auth.login("helen@example.com")
    return client


def post(client, path, data=None, **headers):
    token = csrf_token(client, "/admin/groups")
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers)


def test_list_shows_member_counts_and_settings(admin):
    body = admin.get("/admin/groups").get_data(as_text=True)
    assert "User Enrollment" in body and "BYOD – User Enrollment" in body
    assert "<td>1</td>" in body
    assert "Create group" in body


def test_create_group_opens_it(admin, seeded):
    response = post(admin, "/admin/groups", {"name": " Sales ", "description": "Field"})
    gid = group_id(seeded, "Sales")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/groups/{gid}"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Group “Sales” created." in page and "Group: Sales" in page


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("", 400, "Enter a name for the group."),
        ("user enrollment", 409, "Another group already has this name."),
        ("x" * 201, 400, "A group name has at most 200 characters."),
    ],
)
def test_create_group_bad_name_shows_the_error_and_changes_nothing(
    admin, seeded, name, status, message
):
    before = snapshot(seeded)
    response = post(admin, "/admin/groups", {"name": name})
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert message in body and 'aria-invalid="true"' in body
    assert snapshot(seeded) == before


def test_rename_group(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    response = post(admin, f"/admin/groups/{gid}/rename", {"name": "BYOD people"})
    assert response.status_code == 302
    assert "Group: BYOD people" in admin.get(f"/admin/groups/{gid}").get_data(as_text=True)


def test_rename_to_a_taken_name_is_refused(admin, seeded):
    post(admin, "/admin/groups", {"name": "Sales"})
    gid = group_id(seeded, "User Enrollment")
    before = snapshot(seeded)
    response = post(admin, f"/admin/groups/{gid}/rename", {"name": "SALES"})
    assert response.status_code == 409
    assert "Another group already has this name." in response.get_data(as_text=True)
    assert snapshot(seeded) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/groups/9999"),
        ("get", "/admin/groups/9999/delete"),
        ("post", "/admin/groups/9999/rename"),
        ("post", "/admin/groups/9999/delete"),
        ("post", "/admin/groups/9999/members"),
        ("post", "/admin/groups/9999/members/1/remove"),
    ],
)
def test_unknown_group_is_a_clear_404(admin, seeded, method, path):
    before = snapshot(seeded)
    if method == "get":
        response = admin.get(path)
    else:
        response = post(admin, path, {"name": "X", "email": "bob@example.com"})
    assert response.status_code == 404
    assert "That group does not exist (any more)." in response.get_data(as_text=True)
    assert snapshot(seeded) == before


def test_delete_asks_first_then_removes_memberships_not_people(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    confirm = admin.get(f"/admin/groups/{gid}/delete").get_data(as_text=True)
    assert "Delete the group “User Enrollment”?" in confirm
    assert "Its 1 member keeps their account" in confirm
    assert "BYOD – User Enrollment" in confirm
    response = post(admin, f"/admin/groups/{gid}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/groups"
    assert group_id(seeded, "User Enrollment") is None
    groups, members, assigned, users, _ = snapshot(seeded)
    assert members == [] and assigned == [] and users == 4
    assert "Group “User Enrollment” deleted." in admin.get("/admin/groups").get_data(as_text=True)


def test_add_and_remove_member_with_htmx(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    response = post(admin, f"/admin/groups/{gid}/members", {"email": "bob@example.com"}, **HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith('<div id="group-members">')
    assert "Bob Durand added to the group." in body and "Members (2)" in body
    with seeded.app_context():
        bob = db.session.scalar(sa.select(User).filter_by(email="bob@example.com"))
        assert [g.name for g in bob.groups] == ["User Enrollment"]
        bob_id = bob.id
    response = post(admin, f"/admin/groups/{gid}/members/{bob_id}/remove", **HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<div id="group-members">')
    assert "Bob Durand removed from the group." in body and "Members (1)" in body
    with seeded.app_context():
        actions = list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.action.startswith("group.member"))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["group.member_added", "group.member_removed"]


def test_add_member_without_javascript_redirects_back(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    response = post(admin, f"/admin/groups/{gid}/members", {"email": "bob@example.com"})
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bob Durand added to the group." in page


@pytest.mark.parametrize(
    ("email", "status", "message"),
    [
        ("nobody@example.com", 404, "No account has this e-mail address."),
        ("alice@example.com", 409, "This person is already a member of the group."),
        ("", 400, "Enter the e-mail address of the person to add."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_add_member_errors_show_next_to_the_field(admin, seeded, email, status, message, htmx):
    gid = group_id(seeded, "User Enrollment")
    before = snapshot(seeded)
    headers = HX if htmx else {}
    response = post(admin, f"/admin/groups/{gid}/members", {"email": email}, **headers)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert f'<p class="error" id="member-email-error">{message}</p>' in body
    assert body.startswith('<div id="group-members">') == htmx
    assert snapshot(seeded) == before


def test_removing_a_non_member_is_refused(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    with seeded.app_context():
        bob_id = db.session.scalar(sa.select(User.id).filter_by(email="bob@example.com"))
    before = snapshot(seeded)
    response = post(admin, f"/admin/groups/{gid}/members/{bob_id}/remove", **HX)
    assert response.status_code == 409
    assert "not a member of the group" in response.get_data(as_text=True)
    assert snapshot(seeded) == before


def test_suggestions_list_people_outside_the_group(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    response = admin.get(f"/admin/groups/{gid}/candidates?email=bo", headers=HX)
    body = response.get_data(as_text=True)
    assert body.startswith('<ul id="member-suggestions"')
    assert "Add Bob Durand" in body and "bob@example.com" in body
    assert "alice@example.com" not in body
    empty = admin.get(f"/admin/groups/{gid}/candidates?email=zzz", headers=HX)
    assert "Nobody outside the group matches “zzz”." in empty.get_data(as_text=True)


def test_helpdesk_reads_without_forms(helpdesk, seeded):
    gid = group_id(seeded, "User Enrollment")
    listing = helpdesk.get("/admin/groups").get_data(as_text=True)
    assert "User Enrollment" in listing and "Create group" not in listing
    detail = helpdesk.get(f"/admin/groups/{gid}")
    body = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "alice@example.com" in body
    for control in ("Add a person", "Remove", "Rename", "Delete this group", "hx-post"):
        assert control not in body
    assert helpdesk.get(f"/admin/groups/{gid}/delete").status_code == 403


def test_helpdesk_forged_posts_are_refused_and_change_nothing(helpdesk, seeded):
    gid = group_id(seeded, "User Enrollment")
    with seeded.app_context():
        alice_id = db.session.scalar(sa.select(User.id).filter_by(email="alice@example.com"))
    before = snapshot(seeded)
    for path, data in [
        ("/admin/groups", {"name": "Forged"}),
        (f"/admin/groups/{gid}/rename", {"name": "Forged"}),
        (f"/admin/groups/{gid}/delete", {}),
        (f"/admin/groups/{gid}/members", {"email": "bob@example.com"}),
        (f"/admin/groups/{gid}/members/{alice_id}/remove", {}),
    ]:
        response = post(helpdesk, path, data)
        assert response.status_code == 403, path
        assert "This page is not for your account" in response.get_data(as_text=True)
    assert helpdesk.get(f"/admin/groups/{gid}/candidates?email=b").status_code == 403
    assert snapshot(seeded) == before


def test_employees_cannot_see_groups(seeded, auth, client):
    auth.login("alice@example.com")
    assert client.get("/admin/groups").status_code == 403
    assert client.get(f"/admin/groups/{group_id(seeded, 'User Enrollment')}").status_code == 403


def test_nav_links_for_helpdesk_and_up(helpdesk):
    body = helpdesk.get("/").get_data(as_text=True)
    assert 'href="/admin/groups"' in body and 'href="/admin/settings"' in body


def test_group_pages_carry_no_inline_script(admin, seeded):
    gid = group_id(seeded, "User Enrollment")
    for path in ["/admin/groups", f"/admin/groups/{gid}", f"/admin/groups/{gid}/delete"]:
        body = admin.get(path).get_data(as_text=True)
        assert "<script>" not in body and " onclick=" not in body and "style=" not in body
