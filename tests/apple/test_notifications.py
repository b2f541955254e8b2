"""Admin notifications: the bell's count and the page, each item linking to its fix."""

from __future__ import annotations

import sqlalchemy as sa

from portal.apple import push_cert, vpp_token
from portal.directory.service import organization
from portal.extensions import db
from portal.invitations import service as invitations
from portal.models import Invitation, InvitationSender, OutboxMessage, OutboxStatus, User

from . import helpers


def _all_set(app):
    """A push certificate and a location token: the Apple setup needs nothing."""
    with app.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        vpp_token.upload(adam, organization(), helpers.vpptoken("Example Corp"), secret_key="k")
        data = helpers.pkcs12_file(helpers.new_topic(), b"pw")
        push_cert.upload(adam, data, "pw", secret_key=app.config["SECRET_KEY"])
        db.session.commit()


def _problems(app):
    with app.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        data = helpers.vpptoken("Example Corp", days=5)
        vpp_token.upload(adam, organization(), data, secret_key="k")
        db.session.add(
            OutboxMessage(
                message_id="<dead@example.com>",
                recipient="bob@example.com",
                subject="Enroll your device",
                body_text="…",
                raw=b"",
                status=OutboxStatus.DEAD,
            )
        )
        db.session.commit()


def test_the_bell_counts_and_the_page_links_to_the_fix(seeded, client, auth):
    _problems(seeded)
    auth.login("adam@example.com")
    home = client.get("/").get_data(as_text=True)
    assert 'id="notification-bell"' in home
    bell = client.get("/admin/notifications/bell", headers={"HX-Request": "true"})
    assert '<span class="badge warn" aria-hidden="true">3</span>' in bell.get_data(as_text=True)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "No MDM push certificate is uploaded" in page
    assert "The Apps and Books location token expires in 5 days." in page
    assert "An e-mail to bob@example.com was not sent: “Enroll your device”." in page
    assert 'href="/admin/apple"' in page and 'href="/admin/outbox"' in page


def test_nothing_to_report(seeded, client, auth):
    _all_set(seeded)
    auth.login("adam@example.com")
    assert "Nothing needs your attention." in client.get("/admin/notifications").get_data(
        as_text=True
    )
    bell = client.get("/admin/notifications/bell").get_data(as_text=True)
    assert "badge" not in bell


def test_only_admins_get_notifications(seeded, client, auth):
    auth.login("helen@example.com")
    assert 'id="notification-bell"' not in client.get("/").get_data(as_text=True)
    assert client.get("/admin/notifications").status_code == 403
    assert client.get("/admin/notifications/bell").status_code == 403


def test_a_given_up_invitation_whose_link_was_withdrawn_needs_no_admin(seeded, client, auth):
    _all_set(seeded)
    with seeded.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
        invitation, _token = invitations.invite(bob, actor=adam, sent_by=InvitationSender.ADMIN)
        db.session.flush()
        message = db.session.get(OutboxMessage, invitation.outbox_message_id)
        message.status = OutboxStatus.DEAD
        db.session.commit()
        invitation_id = invitation.id
    auth.login("adam@example.com")
    assert 'data-code="outbox_dead"' in client.get("/admin/notifications").get_data(as_text=True)
    with seeded.app_context():
        invitations.revoke(db.session.get(Invitation, invitation_id), actor=None)
        db.session.commit()
    assert "Nothing needs your attention." in client.get("/admin/notifications").get_data(
        as_text=True
    )
    assert "badge" not in client.get("/admin/notifications/bell").get_data(as_text=True)
