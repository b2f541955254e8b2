"""The /go link, the admin and helpdesk invite buttons, the employee's enrollment page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.invitations import service
from portal.models import (
    AuditEvent,
    Group,
    Invitation,
    InvitationSender,
    OutboxMessage,
    utcnow,
)
from tests.conftest import Auth, csrf_token

from .conftest import user

HX = {"HX-Request": "true"}


def _invite(app, email="alice@example.com", **changes) -> tuple[int, str]:
    with app.app_context():
        invitation, token = service.invite(user(email), actor=None, sent_by=InvitationSender.SYSTEM)
        for name, value in changes.items():
            setattr(invitation, name, value)
        db.session.commit()
        return invitation.id, token


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- /go ------------------------------------------------------------------------------------


def test_unknown_link_gets_a_404_page_saying_how_to_get_a_new_one(seeded, client):
    response = client.get("/go/" + "x" * 43)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "This invitation link is not valid" in page
    assert "IT helpdesk" in page
    # Slack is not set up here: no page sends people to it.
    assert "/enroll link" not in page and "Slack" not in page


@pytest.mark.parametrize(
    ("changes", "heading"),
    [
        ({"expires_at": utcnow() - timedelta(minutes=1)}, "This invitation link has expired"),
        ({"revoked_at": utcnow()}, "This invitation link was replaced"),
        ({"used_at": utcnow()}, "This invitation link was already used"),
    ],
)
def test_gone_links_get_a_410_page_saying_which(seeded, client, changes, heading):
    _, token = _invite(seeded, **changes)
    response = client.get(f"/go/{token}")
    assert response.status_code == 410
    assert heading in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_valid_link_asks_to_sign_in_first_and_is_then_used(seeded, client, auth):
    invitation_id, token = _invite(seeded)
    response = client.get(f"/go/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/go/{token}"
    with seeded.app_context():
        assert db.session.get(Invitation, invitation_id).used_at is None

    auth.login("alice@example.com")
    response = client.get(f"/go/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/enroll"
    with seeded.app_context():
        assert db.session.get(Invitation, invitation_id).used_at is not None
    assert client.get(f"/go/{token}").status_code == 410


def test_sign_in_form_carries_the_link_on(seeded, client):
    _, token = _invite(seeded)
    login = f"/login?next=/go/{token}"
    response = client.post(
        "/login",
        data={
            "email": "alice@example.com",
            "password": "demo-password",
            "next": f"/go/{token}",
            "csrf_token": csrf_token(client, login),
        },
    )
    assert response.headers["Location"] == f"/go/{token}"
    assert client.get(f"/go/{token}").headers["Location"] == "/enroll"


def test_another_signed_in_person_is_told_the_link_is_not_theirs(seeded, client, auth):
    invitation_id, token = _invite(seeded)
    auth.login("bob@example.com")
    response = client.get(f"/go/{token}")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "This link belongs to someone else" in page
    assert "alice" not in page.lower()
    with seeded.app_context():
        assert db.session.get(Invitation, invitation_id).used_at is None


def test_go_is_rate_limited_per_address(app_factory, client):
    from portal.extensions import limiter

    app = app_factory(GO_RATE_LIMIT="3 per minute")
    with app.app_context():
        limiter.reset()
    client = app.test_client()
    statuses = [client.get("/go/" + "y" * 43).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(min_size=1, max_size=300).filter(lambda t: "/" not in t))
def test_any_token_gets_a_4xx_page_and_changes_nothing(seeded, token):
    from portal.extensions import limiter

    with seeded.app_context():
        limiter.reset()
    client = seeded.test_client()
    response = client.get("/go/" + token.replace("?", "%3F").replace("#", "%23"))
    assert 400 <= response.status_code < 500
    assert _count(seeded, Invitation) == 0


# -- admin and helpdesk ---------------------------------------------------------------------


def _user_id(app, email):
    with app.app_context():
        return user(email).id


def test_helpdesk_invites_with_htmx_and_gets_the_panel_back(seeded, client, auth):
    auth.login("helen@example.com")
    alice = _user_id(seeded, "alice@example.com")
    token = csrf_token(client, "/")
    response = client.post(f"/admin/users/{alice}/invite", headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<section id="invitation-panel"')
    assert "Invitation sent to alice@example.com." in page
    assert "Resend invitation" in page and "the helpdesk (helen@example.com)" in page
    with seeded.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.sent_by == InvitationSender.HELPDESK
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.actor_label) == ("invitation.sent", "helen@example.com")


def test_row_variant_returns_the_row_button(seeded, client, auth):
    auth.login("adam@example.com")
    bob = _user_id(seeded, "bob@example.com")
    response = client.post(
        f"/admin/users/{bob}/invite?variant=row",
        headers={**HX, "X-CSRFToken": csrf_token(client, "/")},
    )
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith(f'<span id="invite-row-{bob}"')
    assert "Resend" in page
    with seeded.app_context():
        assert db.session.scalar(sa.select(Invitation.sent_by)) == InvitationSender.ADMIN


def test_resend_limit_gives_a_clear_message_and_no_new_link(app_factory):
    from portal import demo

    app = app_factory(INVITATION_RESEND_LIMIT=1)
    with app.app_context():
        demo.seed("testing")
    client = app.test_client()

    Auth(client).login("helen@example.com")
    alice = _user_id(app, "alice@example.com")
    headers = {**HX, "X-CSRFToken": csrf_token(client, "/")}
    assert client.post(f"/admin/users/{alice}/invite", headers=headers).status_code == 200
    response = client.post(f"/admin/users/{alice}/invite", headers=headers)
    assert response.status_code == 429
    assert "The next one is possible at" in response.get_data(as_text=True)
    assert _count(app, Invitation) == 1


def test_employees_cannot_invite_others(seeded, client, auth):
    auth.login("alice@example.com")
    bob = _user_id(seeded, "bob@example.com")
    response = client.post(
        f"/admin/users/{bob}/invite", headers={"X-CSRFToken": csrf_token(client, "/")}
    )
    assert response.status_code == 403
    assert _count(seeded, Invitation) == 0


def test_invite_needs_the_csrf_token_and_an_existing_user(seeded, client, auth):
    auth.login("adam@example.com")
    alice = _user_id(seeded, "alice@example.com")
    assert client.post(f"/admin/users/{alice}/invite").status_code == 400
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    assert client.post("/admin/users/999999/invite", headers=headers).status_code == 404
    assert _count(seeded, Invitation) == 0


def test_deactivated_user_gets_a_409_fragment(seeded, client, auth):
    with seeded.app_context():
        user("bob@example.com").active = False
        db.session.commit()
    auth.login("adam@example.com")
    bob = _user_id(seeded, "bob@example.com")
    response = client.post(
        f"/admin/users/{bob}/invite", headers={**HX, "X-CSRFToken": csrf_token(client, "/")}
    )
    assert response.status_code == 409
    assert "cannot be invited" in response.get_data(as_text=True)


def test_without_htmx_the_invite_redirects_back_with_a_message(seeded, client, auth):
    auth.login("adam@example.com")
    bob = _user_id(seeded, "bob@example.com")
    response = client.post(
        f"/admin/users/{bob}/invite",
        data={"csrf_token": csrf_token(client, "/"), "next": "/admin/audit"},
    )
    assert response.headers["Location"] == "/admin/audit"
    assert "Invitation sent to bob@example.com." in client.get("/").get_data(as_text=True)


def test_admin_invites_a_group(seeded, client, auth):
    auth.login("adam@example.com")
    with seeded.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.name == "User Enrollment"))
    headers = {**HX, "X-CSRFToken": csrf_token(client, "/")}
    response = client.post(f"/admin/groups/{group_id}/invite", headers=headers)
    assert response.status_code == 200
    assert "Invited: 1." in response.get_data(as_text=True)
    response = client.post(f"/admin/groups/{group_id}/invite", headers=headers)
    text = " ".join(response.get_data(as_text=True).split())
    assert "Invited: 0. Already holding a valid link: 1." in text
    assert client.post("/admin/groups/999999/invite", headers=headers).status_code == 404


def test_helpdesk_cannot_invite_a_whole_group(seeded, client, auth):
    auth.login("helen@example.com")
    with seeded.app_context():
        group_id = db.session.scalar(sa.select(Group.id))
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    assert client.post(f"/admin/groups/{group_id}/invite", headers=headers).status_code == 403


# -- the employee's enrollment page ---------------------------------------------------------


def test_enroll_page_shows_the_state_and_the_qr_code(seeded, client, auth):
    _invite(seeded)
    auth.login("alice@example.com")
    page = client.get("/enroll").get_data(as_text=True)
    assert "Welcome, Alice Martin</h1>" in page  # the answer and the first step come first
    # Opened on a computer: the QR code to continue on the phone.
    assert "Scan this with the iPhone or iPad you want to enroll" in page
    assert "A link was sent to alice@example.com" in page
    assert 'src="/enroll/qr.svg"' in page
    assert "Send me my link" in page


def test_send_me_my_link_creates_a_system_invitation(seeded, client, auth):
    auth.login("bob@example.com")
    response = client.post(
        "/enroll/link", headers={**HX, "X-CSRFToken": csrf_token(client, "/enroll")}
    )
    assert response.status_code == 200
    assert "We sent a new link to bob@example.com." in response.get_data(as_text=True)
    with seeded.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.sent_by == InvitationSender.SYSTEM
        assert _count(seeded, OutboxMessage) == 1


def test_send_me_my_link_is_rate_limited(app_factory):
    from portal import demo

    app = app_factory(INVITATION_RESEND_LIMIT=2)
    with app.app_context():
        demo.seed("testing")
    client = app.test_client()
    Auth(client).login("bob@example.com")
    headers = {**HX, "X-CSRFToken": csrf_token(client, "/enroll")}
    statuses = [client.post("/enroll/link", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    page = client.post("/enroll/link", headers=headers).get_data(as_text=True)
    assert "You asked for 2 links in the last hour. You can ask again at" in page


@pytest.mark.parametrize(
    ("path", "mimetype"), [("/enroll/qr.svg", "image/svg+xml"), ("/enroll/qr.png", "image/png")]
)
def test_qr_codes_are_cached_images(seeded, client, auth, path, mimetype):
    auth.login("alice@example.com")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == mimetype
    assert "max-age" in response.headers["Cache-Control"]
    again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_qr_png_decodes_back_to_the_modules(seeded):
    import zlib

    from portal.enrollment import qr

    data = "https://portal.example.com/enroll"
    png = qr.png(data)
    modules = qr.matrix(data)
    raw = zlib.decompress(png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8])
    width = len(modules) + 1  # one filter byte, one byte (8 pixels) per module
    rows = [raw[i * width : (i + 1) * width] for i in range(0, len(raw) // width, qr.BOX)]
    decoded = [[byte == 0 for byte in row[1:]] for row in rows]
    assert decoded == modules


# -- the outbox admin page ------------------------------------------------------------------


def test_outbox_page_lists_dead_messages_and_retries_them(seeded, client, auth):
    invitation_id, _ = _invite(seeded)
    with seeded.app_context():
        message = db.session.get(
            OutboxMessage, db.session.get(Invitation, invitation_id).outbox_message_id
        )
        message.status = "dead"
        message.attempts = 8
        message.last_error = "SMTP error 550: mailbox unavailable"
        message_id = message.id
        db.session.commit()
    auth.login("adam@example.com")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Given up" in page and "mailbox unavailable" in page
    response = client.post(
        f"/admin/outbox/{message_id}/retry",
        headers={**HX, "X-CSRFToken": csrf_token(client, "/admin/outbox")},
    )
    assert response.status_code == 200
    assert "Queued again" in response.get_data(as_text=True)
    with seeded.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.attempts) == ("pending", 0)
        assert db.session.get(Invitation, invitation_id).delivery_status == "queued"
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "outbox.retried" in actions


def test_outbox_retry_of_a_sent_message_is_refused(seeded, client, auth):
    invitation_id, _ = _invite(seeded)
    with seeded.app_context():
        message = db.session.get(
            OutboxMessage, db.session.get(Invitation, invitation_id).outbox_message_id
        )
        message.status = "sent"
        message_id = message.id
        db.session.commit()
    auth.login("adam@example.com")
    headers = {"X-CSRFToken": csrf_token(client, "/admin/outbox")}
    assert client.post(f"/admin/outbox/{message_id}/retry", headers=headers).status_code == 409
    assert client.post("/admin/outbox/999999/retry", headers=headers).status_code == 404


def test_outbox_retry_of_a_withdrawn_invitation_is_refused_with_the_reason(seeded, client, auth):
    invitation_id, _ = _invite(seeded)
    with seeded.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        message = db.session.get(OutboxMessage, invitation.outbox_message_id)
        message.status = "dead"
        message.attempts = 8
        message_id, user_id = message.id, invitation.user_id
        service.revoke(invitation, actor=None)
        db.session.commit()
    auth.login("adam@example.com")
    page = client.get("/admin/outbox").get_data(as_text=True)
    # The page says so up front, with no "Retry now" on that row...
    assert "Will not be sent." in page and "The invitation in this e-mail was withdrawn." in page
    assert f"/admin/outbox/{message_id}/retry" not in page
    # ...and a page loaded before the revoke is refused when it asks.
    token = csrf_token(client, "/admin/outbox")
    response = client.post(
        f"/admin/outbox/{message_id}/retry", headers={**HX, "X-CSRFToken": token}
    )
    assert response.status_code == 409
    row = response.get_data(as_text=True)
    assert f'id="outbox-row-{message_id}"' in row
    assert "The invitation in this e-mail was withdrawn." in row
    assert 'role="alert"' in row and "Will not be sent." in row
    assert f'href="/admin/users/{user_id}"' in row and "Send a new invitation instead." in row
    # Without htmx: the page, with the same explanation on the row.
    response = client.post(f"/admin/outbox/{message_id}/retry", headers={"X-CSRFToken": token})
    assert response.status_code == 409
    assert "The invitation in this e-mail was withdrawn." in response.get_data(as_text=True)
    with seeded.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.attempts) == ("dead", 8)
        assert "outbox.retried" not in db.session.scalars(sa.select(AuditEvent.action)).all()


def test_outbox_page_is_for_admins(seeded, client, auth):
    auth.login("helen@example.com")
    assert client.get("/admin/outbox").status_code == 403


def test_tokens_are_kept_out_of_access_logs(seeded, caplog):
    import logging

    _, token = _invite(seeded)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info(
            '127.0.0.1 - - "%s" %s -', f"GET /go/{token} HTTP/1.1", 302
        )
    assert token not in caplog.text
    assert '"GET /go/… HTTP/1.1" 302' in caplog.text
