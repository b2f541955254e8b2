"""The outbox worker against a real SMTP server: outages, retries, give-ups, crashes."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.invitations import service as invitations
from portal.models import (
    AuditEvent,
    DeliveryStatus,
    Invitation,
    InvitationSender,
    OutboxMessage,
    OutboxStatus,
    User,
    utcnow,
)
from portal.outbox import service
from portal.outbox.cli import make_worker
from portal.outbox.service import OutboxSettings
from portal.outbox.smtp import FileTransport, parse_smtp_url, transport_from_config
from tests.support.smtp_server import SmtpSink

from .conftest import deliver


def _queue(app, count: int = 3) -> list[str]:
    """Invite `count` new people; returns their outbox Message-IDs."""
    with app.app_context():
        from portal.models import Organization

        org = db.session.scalar(sa.select(Organization))
        ids = []
        for n in range(count):
            person = User(org_id=org.id, email=f"person{n}@example.com", display_name=f"P {n}")
            db.session.add(person)
            db.session.flush()
            invitation, _ = invitations.invite(person, actor=None, sent_by=InvitationSender.IMPORT)
            ids.append(db.session.get(OutboxMessage, invitation.outbox_message_id).message_id)
        db.session.commit()
        return ids


def _messages(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def _deliveries(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Invitation.delivery_status)))


def test_queued_invitations_are_delivered_and_marked(mail_app, smtp):
    ids = _queue(mail_app, 3)
    result = deliver(mail_app)
    assert (result.claimed, result.sent) == (3, 3)
    assert sorted(smtp.message_ids()) == sorted(ids)
    assert {m.status for m in _messages(mail_app)} == {OutboxStatus.SENT}
    assert all(m.attempts == 1 and m.sent_at for m in _messages(mail_app))
    assert _deliveries(mail_app) == {DeliveryStatus.SENT}
    assert deliver(mail_app).claimed == 0


def test_smtp_outage_keeps_everything_and_delivers_when_back(mail_app, smtp):
    ids = _queue(mail_app, 3)
    smtp.stop()
    result = deliver(mail_app)
    assert result.sent == 0 and result.connection_lost
    messages = _messages(mail_app)
    assert {m.status for m in messages} == {OutboxStatus.PENDING}
    assert messages[0].attempts == 1 and "cannot reach the SMTP server" in messages[0].last_error
    assert _deliveries(mail_app) == {DeliveryStatus.QUEUED}

    smtp.start()
    for _ in range(3):  # the first batch stopped at the lost connection
        deliver(mail_app)
    assert sorted(smtp.message_ids()) == sorted(ids)
    assert {m.status for m in _messages(mail_app)} == {OutboxStatus.SENT}
    assert _deliveries(mail_app) == {DeliveryStatus.SENT}


def test_retries_back_off_and_then_give_up(app_factory, smtp):
    from portal import demo

    app = app_factory(SMTP_URL=smtp.url, OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=60)
    with app.app_context():
        demo.seed("testing")
    _queue(app, 1)
    smtp.refuse_with = "451 4.3.0 try again later"
    deliver(app)
    message = _messages(app)[0]
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    wait = message.next_attempt_at - utcnow()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=60)
    assert "451" in message.last_error
    assert deliver(app).claimed == 0  # not due yet

    for _ in range(2):
        with app.app_context():
            db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
            db.session.commit()
        deliver(app)
    message = _messages(app)[0]
    assert message.status == OutboxStatus.DEAD and message.attempts == 3
    assert _deliveries(app) == {DeliveryStatus.FAILED}
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.action == "invitation.delivery_failed" and "451" in event.after["error"]


def test_a_permanent_refusal_gives_up_at_once(mail_app, smtp):
    _queue(mail_app, 1)
    smtp.refuse_with = "550 5.1.1 mailbox unavailable"
    result = deliver(mail_app)
    assert result.dead == 1
    message = _messages(mail_app)[0]
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, 1)
    assert "550" in message.last_error


def test_backoff_is_exponential_with_jitter_and_capped():
    settings = OutboxSettings(backoff_base=timedelta(seconds=10))
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 80)]:
        for _ in range(20):
            delay = service.backoff(attempts, settings).total_seconds()
            assert full / 2 <= delay <= full
    assert service.backoff(30, settings) <= settings.backoff_cap


def test_a_crash_between_send_and_mark_sends_that_one_once_more(app_factory, smtp, monkeypatch):
    """At most once more, with the same Message-ID so the receiver can de-duplicate."""
    from portal import demo

    # A lease long enough that a loaded machine gets through the second run before it ends.
    app = app_factory(SMTP_URL=smtp.url, OUTBOX_LEASE_SECONDS=4)
    with app.app_context():
        demo.seed("testing")
    ids = _queue(app, 3)
    real_mark_sent = service.mark_sent
    calls = []

    def crash_once(message_id, kind, **kwargs):
        calls.append(message_id)
        if len(calls) == 2:
            raise SystemExit("killed between send and mark")
        return real_mark_sent(message_id, kind, **kwargs)

    monkeypatch.setattr(service, "mark_sent", crash_once)
    with pytest.raises(SystemExit):
        deliver(app)
    monkeypatch.setattr(service, "mark_sent", real_mark_sent)
    with app.app_context():
        db.session.remove()
    # The one not attempted was given back; the one in flight is still leased to the crashed run.
    assert deliver(app).sent == 1
    assert smtp.message_ids().count(ids[1]) == 1
    time.sleep(4.1)
    deliver(app)  # the lease (4 s here) has run out: the unmarked message is due again
    received = smtp.message_ids()
    assert sorted(set(received)) == sorted(ids)
    assert received.count(ids[1]) == 2  # the one in flight, once more
    assert received.count(ids[0]) == received.count(ids[2]) == 1


def test_claims_never_overlap(mail_app):
    _queue(mail_app, 5)
    with mail_app.app_context():
        lease = timedelta(minutes=5)
        first = service.claim("a", limit=3, lease=lease)
        second = service.claim("b", limit=3, lease=lease)
        third = service.claim("c", limit=3, lease=lease)
        assert len(first) == 3 and len(second) == 2 and third == []
        assert not {m.id for m in first} & {m.id for m in second}
        service.release([m.id for m in second])
        assert len(service.claim("d", limit=3, lease=lease)) == 2


def test_cancelled_messages_are_not_sent(mail_app, smtp):
    with mail_app.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        invitations.invite(alice, actor=None, sent_by=InvitationSender.SYSTEM)
        invitations.invite(alice, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
    assert deliver(mail_app).sent == 1
    assert len(smtp.messages) == 1


def test_smtp_authentication(app_factory):
    from portal import demo

    sink = SmtpSink(username="mailer", password="s3cret")
    sink.start()
    try:
        app = app_factory(SMTP_URL=sink.url, OUTBOX_BACKOFF_SECONDS=0)
        with app.app_context():
            demo.seed("testing")
        _queue(app, 1)
        assert deliver(app).sent == 1
        bad = app_factory(SMTP_URL=sink.url.replace("s3cret", "wrong"), SMTP_TIMEOUT=5)
        with bad.app_context():  # another message, with a wrong password
            alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
            invitations.invite(alice, actor=None, sent_by=InvitationSender.SYSTEM)
            db.session.commit()
        result = deliver(bad)
        assert result.sent == 0
        assert "SMTP sign-in refused (535)" in _messages(bad)[-1].last_error
    finally:
        sink.stop()


def test_smtp_urls():
    s = parse_smtp_url("smtp://user:p%40ss@mail.example.com:587?starttls=true")
    assert (s.host, s.port, s.username, s.password, s.starttls, s.implicit_tls) == (
        "mail.example.com",
        587,
        "user",
        "p@ss",
        True,
        False,
    )
    assert "p@ss" not in s.describe()
    s = parse_smtp_url("smtps://mail.example.com")
    assert (s.port, s.implicit_tls, s.starttls) == (465, True, False)
    s = parse_smtp_url("smtp://localhost:25?timeout=3")
    assert (s.port, s.starttls, s.timeout) == (25, False, 3.0)
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example.com")


def test_without_smtp_mails_go_to_files_and_the_log(app_factory, caplog, tmp_path):
    from portal import demo

    app = app_factory(SMTP_URL="", PORTAL_ENV="development")
    with app.app_context():
        demo.seed("testing")
    _queue(app, 1)
    with caplog.at_level("INFO", logger="portal.outbox"):
        assert deliver(app).sent == 1
    files = list((tmp_path / "instance" / "outbox").glob("*.eml"))
    assert len(files) == 1
    assert b"Subject: Enroll your iPhone or iPad with Example Corp" in files[0].read_bytes()
    assert "/go/" in caplog.text  # development prints the mail, link included


def test_production_refuses_to_run_without_smtp():
    with pytest.raises(ValueError, match="SMTP_URL must be set"):
        transport_from_config({"PORTAL_ENV": "production", "SMTP_URL": ""})
    assert isinstance(
        transport_from_config({"PORTAL_ENV": "testing", "SMTP_URL": "", "INSTANCE_PATH": "/x"}),
        FileTransport,
    )


def test_cli_once_sends_one_batch(mail_app, smtp):
    _queue(mail_app, 2)
    result = mail_app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 2, retrying 0, given up 0" in result.output
    assert len(smtp.messages) == 2
    status = mail_app.test_cli_runner().invoke(args=["outbox", "status"])
    assert "sent       2" in status.output


def test_the_loop_stops_when_asked(mail_app, smtp):
    import threading

    _queue(mail_app, 2)
    with mail_app.app_context():
        worker = make_worker(mail_app.config)

        def stop_once_delivered():  # not after a fixed time: a loaded machine is slow
            smtp.wait_for(2)
            worker.stop()

        stopper = threading.Thread(target=stop_once_delivered)
        stopper.start()
        total = worker.run(poll_seconds=0.05)
        stopper.join(5)
    assert total.sent == 2


def test_non_ascii_subjects_and_names_arrive_intact(mail_app, smtp):
    with mail_app.app_context():
        service.enqueue(
            recipient="zoe@example.com",
            subject="Enrôlez votre iPhone — Société Générale",
            body_text="Bonjour Zoé, voici votre lien : ✓",
            body_html="<p>Bonjour Zoé ✓</p>",
            sender="Société Générale <it@example.com>",
        )
        db.session.commit()
    assert deliver(mail_app).sent == 1
    assert smtp.wait_for(1)
    message = smtp.messages[0]
    assert str(message["Subject"]) == "Enrôlez votre iPhone — Société Générale"
    assert str(message["From"]) == "Société Générale <it@example.com>"
    assert message.get_body(("plain",)).get_content().strip() == (
        "Bonjour Zoé, voici votre lien : ✓"
    )
    assert smtp.envelopes[0] == ("it@example.com", ["zoe@example.com"])


def test_no_message_is_started_when_the_lease_would_run_out(mail_app, smtp):
    """A slow batch gives back what it cannot finish in time, so no other worker repeats it."""
    from portal.outbox.worker import Worker

    _queue(mail_app, 3)
    smtp.delay = 1.2  # each message takes longer than what is left of the lease after it
    with mail_app.app_context():
        worker = make_worker(mail_app.config)
        slow = Worker(
            worker.transport,
            OutboxSettings(lease=timedelta(seconds=2)),
            send_time=1.0,  # the lease is 2 s: nothing is started after 1 s
        )
        try:
            result = slow.run_once()
        finally:
            worker.transport.close()
        assert (result.claimed, result.sent) == (3, 1)
        messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.claimed_until for m in messages if m.status == OutboxStatus.PENDING] == [
            None,
            None,
        ]


def test_release_leaves_rows_another_claim_holds(mail_app):
    _queue(mail_app, 1)
    with mail_app.app_context():
        lease = timedelta(minutes=5)
        mine = service.claim("a", limit=1, lease=lease, token="a:1")
        service.release([mine[0].id], token="someone-else")
        assert service.claim("b", limit=1, lease=lease) == []
        service.release([mine[0].id], token="a:1")
        assert len(service.claim("b", limit=1, lease=lease)) == 1


def test_worker_commits_do_not_wait_for_the_disk_on_postgresql(mail_app):
    with mail_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a PostgreSQL setting (SQLite runs in WAL mode instead)")
        assert db.session.scalar(sa.text("SHOW synchronous_commit")) == "on"
        db.session.rollback()
        make_worker(mail_app.config)
        assert db.session.scalar(sa.text("SHOW synchronous_commit")) == "off"
        db.session.rollback()


def test_an_invitation_that_expired_while_queued_is_cancelled_not_sent(mail_app, smtp):
    with mail_app.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        invitation, _ = invitations.invite(
            alice, actor=None, sent_by=InvitationSender.SYSTEM, now=utcnow() - timedelta(days=8)
        )
        db.session.commit()
    result = deliver(mail_app)
    assert (result.claimed, result.sent) == (0, 0)
    assert smtp.messages == []
    message = _messages(mail_app)[0]
    assert message.status == OutboxStatus.CANCELLED
    assert message.last_error == "The invitation in this e-mail has expired."
    assert deliver(mail_app).claimed == 0


class _RevokeAfterFirst:
    """A transport that, once the first message is out, has an admin revoke another one's
    invitation (from another app context, as a web request would)."""

    def __init__(self, app, inner, email: str):
        self.app, self.inner, self.email, self.done = app, inner, email, False

    def send(self, envelope, **options) -> None:
        self.inner.send(envelope, **options)
        if not self.done:
            self.done = True
            thread = threading.Thread(target=self._revoke)
            thread.start()
            thread.join()

    def _revoke(self) -> None:
        with self.app.app_context():
            person = db.session.scalar(sa.select(User).where(User.email == self.email))
            for invitation in invitations.live_invitations(person):
                invitations.revoke(invitation, actor=None)
            db.session.commit()

    def close(self) -> None:
        self.inner.close()


def test_an_invitation_revoked_after_the_claim_is_not_sent(mail_app, smtp):
    from portal.outbox.worker import Worker

    ids = _queue(mail_app, 3)
    with mail_app.app_context():
        worker = make_worker(mail_app.config)
        revoking = Worker(
            _RevokeAfterFirst(mail_app, worker.transport, "person1@example.com"),
            worker.settings,
        )
        try:
            result = revoking.run_once()
        finally:
            revoking.transport.close()
    assert (result.claimed, result.sent, result.cancelled) == (3, 2, 1)
    assert sorted(smtp.message_ids()) == sorted([ids[0], ids[2]])
    cancelled = _messages(mail_app)[1]
    assert cancelled.status == OutboxStatus.CANCELLED
    assert cancelled.last_error == "The invitation in this e-mail was withdrawn."
    assert deliver(mail_app).claimed == 0


def test_each_mark_is_written_before_the_next_message_can_be_accepted(mail_app, smtp, monkeypatch):
    """The worker may start the next envelope while a mark is being written, never its data:
    a crash leaves at most the one message in flight unmarked."""
    _queue(mail_app, 3)
    real_mark_sent = service.mark_sent
    received_while_marking = []

    def slow_mark(message_id, kind, **kwargs):
        time.sleep(0.3)  # the next message's data, were it not held back, would arrive now
        received_while_marking.append(len(smtp.messages))
        return real_mark_sent(message_id, kind, **kwargs)

    monkeypatch.setattr(service, "mark_sent", slow_mark)
    assert deliver(mail_app).sent == 3
    assert received_while_marking == [1, 2, 3]
