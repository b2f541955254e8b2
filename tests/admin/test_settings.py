"""The enrollment settings pages: admins edit, assign and reorder; helpdesk only reads."""

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, EnrollmentSetting, Group, setting_assignment
from tests.conftest import csrf_token

HX = {"HX-Request": "true"}
BYOD = "BYOD – User Enrollment"


def setting_id(app, name):
    with app.app_context():
        return db.session.scalar(sa.select(EnrollmentSetting.id).filter_by(name=name))


def group_id(app, name):
    with app.app_context():
        return db.session.scalar(sa.select(Group.id).filter_by(name=name))


def snapshot(app):
    """Every setting's values, every assignment and the settings audit trail's length."""
    with app.app_context():
        rows = sorted(
            db.session.execute(
                sa.select(
                    EnrollmentSetting.id,
                    EnrollmentSetting.name,
                    EnrollmentSetting.description,
                    EnrollmentSetting.enrollment_type,
                    EnrollmentSetting.device_owner,
                    EnrollmentSetting.priority,
                    EnrollmentSetting.is_default,
                )
            )
        )
        assigned = sorted(db.session.execute(sa.select(setting_assignment)))
        audit = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action.startswith("setting."))
        )
        return rows, assigned, audit


def order_on_page(body):
    """Setting names in the order the list shows them."""
    return re.findall(r'<a href="/admin/settings/\d+" draggable="false">([^<]+)</a>', body)


@pytest.fixture
def admin(seeded, auth, client):
    auth.login("adam@example.com")
    return client


@pytest.fixture
def helpdesk(seeded, auth, client):
    auth.login("helen@example.com")
    return client


def post(client, path, data=None, **headers):
    token = csrf_token(client, "/admin/settings")
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers)


def create(client, name, **values):
    data = {"name": name, "enrollment_type": "device", "device_owner": "employee"}
    data.update(values)
    return post(client, "/admin/settings/new", data)


def test_list_is_by_priority_with_the_default_last(admin, seeded):
    create(admin, "Kiosks", device_owner="company")
    body = admin.get("/admin/settings").get_data(as_text=True)
    assert order_on_page(body) == [BYOD, "Kiosks", "Default"]
    assert "Company-owned" in body and "Groups: User Enrollment" in body


def test_create_setting_then_open_it(admin, seeded):
    response = create(admin, "Contractors", description="Short term", enrollment_type="user")
    sid = setting_id(seeded, "Contractors")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/settings/{sid}"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Setting “Contractors” created." in page
    assert re.search(r'<input checked id="enrollment_type-\d" [^>]*value="user">', page)


@pytest.mark.parametrize(
    ("values", "status", "message"),
    [
        (
            {"enrollment_type": "user", "device_owner": "company"},
            400,
            "User Enrollment is for employees&#39; own devices: a company-owned device uses "
            "Device Enrollment.",
        ),
        ({"name": ""}, 400, "Enter a name for the setting."),
        ({"name": "default"}, 409, "Another enrollment setting already has this name."),
        ({"enrollment_type": "mam"}, 400, "Choose User Enrollment or Device Enrollment."),
        ({"device_owner": "nobody"}, 400, "Choose employee-owned or company-owned."),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(admin, seeded, values, status, message):
    before = snapshot(seeded)
    response = create(admin, **{"name": "New", **values})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert snapshot(seeded) == before


def test_edit_setting_and_refuse_company_owned_user_enrollment(admin, seeded):
    sid = setting_id(seeded, BYOD)
    data = {"name": "BYOD", "description": "", "enrollment_type": "user"}
    before = snapshot(seeded)
    refused = post(admin, f"/admin/settings/{sid}", {**data, "device_owner": "company"})
    assert refused.status_code == 400
    assert "Choose employee-owned, or Device Enrollment." in refused.get_data(as_text=True)
    assert snapshot(seeded) == before
    saved = post(admin, f"/admin/settings/{sid}", {**data, "device_owner": "employee"})
    assert saved.status_code == 302
    assert "Setting: BYOD" in admin.get(f"/admin/settings/{sid}").get_data(as_text=True)
    with seeded.app_context():
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="setting.updated"))
        assert event.before["name"] == BYOD and event.after["name"] == "BYOD"


def test_delete_asks_first_and_removes_assignments(admin, seeded):
    sid = setting_id(seeded, BYOD)
    confirm = admin.get(f"/admin/settings/{sid}/delete").get_data(as_text=True)
    assert f"Delete the setting “{BYOD}”?" in confirm and "User Enrollment" in confirm
    response = post(admin, f"/admin/settings/{sid}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/settings"
    rows, assigned, _ = snapshot(seeded)
    assert [r.name for r in rows] == ["Default"] and assigned == []
    assert group_id(seeded, "User Enrollment") is not None


def test_the_default_setting_cannot_be_deleted(admin, seeded):
    sid = setting_id(seeded, "Default")
    page = admin.get(f"/admin/settings/{sid}").get_data(as_text=True)
    assert "Delete this setting" not in page and "cannot be deleted" in page
    before = snapshot(seeded)
    for response in (
        admin.get(f"/admin/settings/{sid}/delete"),
        post(admin, f"/admin/settings/{sid}/delete"),
    ):
        assert response.status_code == 409
        assert "it cannot be deleted, moved or assigned to a group" in response.get_data(
            as_text=True
        )
    assert snapshot(seeded) == before


def test_unknown_setting_is_a_clear_404(admin, seeded):
    before = snapshot(seeded)
    for response in (
        admin.get("/admin/settings/9999"),
        post(admin, "/admin/settings/9999", {"name": "X"}),
        post(admin, "/admin/settings/9999/delete"),
        post(admin, "/admin/settings/9999/groups", {"group_id": "1"}),
    ):
        assert response.status_code == 404
        assert "That enrollment setting does not exist (any more)." in response.get_data(
            as_text=True
        )
    assert snapshot(seeded) == before


def test_assign_and_unassign_groups_with_htmx(admin, seeded):
    create(admin, "Contractors")
    sid = setting_id(seeded, "Contractors")
    gid = group_id(seeded, "User Enrollment")
    page = admin.get(f"/admin/settings/{sid}").get_data(as_text=True)
    assert f'<option value="{gid}">User Enrollment</option>' in page
    response = post(admin, f"/admin/settings/{sid}/groups", {"group_id": str(gid)}, **HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<div id="setting-groups">')
    assert "Assigned to “User Enrollment”." in body
    again = post(admin, f"/admin/settings/{sid}/groups", {"group_id": str(gid)}, **HX)
    assert again.status_code == 409
    assert "already assigned to that group" in again.get_data(as_text=True)
    removed = post(admin, f"/admin/settings/{sid}/groups/{gid}/remove", **HX)
    assert removed.status_code == 200
    assert "No longer assigned to “User Enrollment”." in removed.get_data(as_text=True)
    with seeded.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.startswith("setting.group"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["setting.group_assigned", "setting.group_unassigned"]


def test_assignment_errors_are_refused_and_change_nothing(admin, seeded):
    sid = setting_id(seeded, BYOD)
    default = setting_id(seeded, "Default")
    before = snapshot(seeded)
    unknown = post(admin, f"/admin/settings/{sid}/groups", {"group_id": "9999"}, **HX)
    assert unknown.status_code == 404
    assert "That group does not exist (any more)." in unknown.get_data(as_text=True)
    garbage = post(admin, f"/admin/settings/{sid}/groups", {"group_id": "abc"})
    assert garbage.status_code == 404
    gid = group_id(seeded, "User Enrollment")
    to_default = post(admin, f"/admin/settings/{default}/groups", {"group_id": str(gid)}, **HX)
    assert to_default.status_code == 409
    assert snapshot(seeded) == before


def test_reorder_with_the_move_buttons_without_javascript(admin, seeded):
    create(admin, "Kiosks")
    byod, kiosks = setting_id(seeded, BYOD), setting_id(seeded, "Kiosks")
    page = admin.get("/admin/settings").get_data(as_text=True)
    # The Move up button of "Kiosks" carries the whole new order.
    assert f'id="move-up-{kiosks}" name="order" value="{kiosks},{byod}"' in page
    response = post(admin, "/admin/settings/order", {"order": f"{kiosks},{byod}"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/settings"
    body = admin.get("/admin/settings").get_data(as_text=True)
    assert "Priority order saved." in body
    assert order_on_page(body) == ["Kiosks", BYOD, "Default"]
    with seeded.app_context():
        query = sa.select(EnrollmentSetting.name, EnrollmentSetting.priority)
        priorities = {name: priority for name, priority in db.session.execute(query)}
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="setting.reordered"))
    assert priorities["Kiosks"] == 10 and priorities[BYOD] == 20 and priorities["Default"] == 1000
    assert [row["name"] for row in event.after["order"]] == ["Kiosks", BYOD]


def test_reorder_with_htmx_returns_the_list(admin, seeded):
    create(admin, "Kiosks")
    byod, kiosks = setting_id(seeded, BYOD), setting_id(seeded, "Kiosks")
    response = post(admin, "/admin/settings/order", {"order": [str(kiosks), str(byod)]}, **HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<div id="settings-list">')
    assert order_on_page(body) == ["Kiosks", BYOD, "Default"]


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize("order", ["stale", "duplicate", "garbage", "empty"])
def test_stale_or_bad_reorder_is_a_409_and_changes_nothing(admin, seeded, order, htmx):
    create(admin, "Kiosks")
    byod, kiosks = setting_id(seeded, BYOD), setting_id(seeded, "Kiosks")
    data = {
        "stale": f"{byod}",  # a page loaded before "Kiosks" existed
        "duplicate": f"{kiosks},{kiosks},{byod}",
        "garbage": "1;DROP TABLE",
        "empty": "",
    }[order]
    before = snapshot(seeded)
    response = post(admin, "/admin/settings/order", {"order": data}, **(HX if htmx else {}))
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "The list of settings changed since this page was loaded" in body
    assert body.startswith('<div id="settings-list">') == htmx
    # The answer shows the order as it is now.
    assert order_on_page(body) == [BYOD, "Kiosks", "Default"]
    assert snapshot(seeded) == before


def test_moving_the_default_setting_is_refused(admin, seeded):
    create(admin, "Kiosks")
    byod, kiosks = setting_id(seeded, BYOD), setting_id(seeded, "Kiosks")
    default = setting_id(seeded, "Default")
    before = snapshot(seeded)
    order = f"{default},{kiosks},{byod}"
    response = post(admin, "/admin/settings/order", {"order": order}, **HX)
    assert response.status_code == 409
    assert "cannot be deleted, moved or assigned" in response.get_data(as_text=True)
    assert snapshot(seeded) == before


def test_helpdesk_reads_without_forms_or_buttons(helpdesk, seeded):
    body = helpdesk.get("/admin/settings").get_data(as_text=True)
    assert order_on_page(body) == [BYOD, "Default"]
    for control in ("New setting", "Move up", "Move down", "data-reorder", "reorder.js"):
        assert control not in body
    detail = helpdesk.get(f"/admin/settings/{setting_id(seeded, BYOD)}").get_data(as_text=True)
    assert "User Enrollment" in detail and "Employee-owned" in detail
    for control in ('<form method="post" action="/admin/settings', "Unassign", "Delete this"):
        assert control not in detail
    assert helpdesk.get("/admin/settings/new").status_code == 403


def test_helpdesk_forged_posts_are_refused_and_change_nothing(helpdesk, seeded):
    sid = setting_id(seeded, BYOD)
    gid = group_id(seeded, "User Enrollment")
    data = {"name": "Forged", "enrollment_type": "device", "device_owner": "employee"}
    before = snapshot(seeded)
    for path, form in [
        ("/admin/settings/new", data),
        (f"/admin/settings/{sid}", data),
        (f"/admin/settings/{sid}/delete", {}),
        (f"/admin/settings/{sid}/groups", {"group_id": str(gid)}),
        (f"/admin/settings/{sid}/groups/{gid}/remove", {}),
        ("/admin/settings/order", {"order": str(sid)}),
    ]:
        response = post(helpdesk, path, form)
        assert response.status_code == 403, path
        assert "This page is not for your account" in response.get_data(as_text=True)
    assert snapshot(seeded) == before


def test_forms_without_csrf_token_are_refused(admin, seeded):
    before = snapshot(seeded)
    response = admin.post("/admin/settings/new", data={"name": "No token"})
    assert response.status_code == 400
    assert snapshot(seeded) == before


def test_settings_pages_load_reorder_script_without_inline_code(admin, seeded):
    body = admin.get("/admin/settings").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/reorder\.js(\?v=[0-9a-f]+)?" defer></script>', body)
    sid = setting_id(seeded, BYOD)
    for path in ["/admin/settings", "/admin/settings/new", f"/admin/settings/{sid}"]:
        page = admin.get(path).get_data(as_text=True)
        assert "<script>" not in page and " onclick=" not in page and "style=" not in page
