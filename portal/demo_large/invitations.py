"""The large set's invitations with their e-mails in the outbox."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from ..models import (
    DeliveryStatus,
    Invitation,
    InvitationSender,
    OutboxMessage,
    OutboxStatus,
)
from .data import SPAN, random_hex
from .people import People
from .writer import Writer


class Invitations:
    """Invitations with their e-mails: most delivered, some used, expired, revoked, stuck."""

    def __init__(self, rng, writer: Writer, people: People, count: int, now: datetime) -> None:
        self.rng, self.people, self.count, self.now = rng, people, count, now
        self.first_id = writer.next_id(Invitation.__table__)
        self.first_message = writer.next_id(OutboxMessage.__table__)
        self.plan: list[dict] = []
        staff = people.staff or [None]
        active = [u for u in people.ids if u not in people.inactive]
        for offset in range(count):
            user_id = rng.choice(active)
            created = now - SPAN * rng.random()
            sender = rng.choices(
                (
                    InvitationSender.IMPORT,
                    InvitationSender.SYSTEM,
                    InvitationSender.ADMIN,
                    InvitationSender.HELPDESK,
                    InvitationSender.SLACK,
                ),
                (40, 20, 15, 15, 10),
            )[0]
            roll = rng.random()
            fate = (
                "used"
                if roll < 0.5
                else "open"
                if roll < 0.62
                else "expired"
                if roll < 0.85
                else "revoked"
                if roll < 0.9
                else "failed"
                if roll < 0.96
                else "stuck"
            )
            if fate == "open":
                created = now - timedelta(days=6) * rng.random()
            self.plan.append(
                {
                    "offset": offset,
                    "user_id": user_id,
                    "created": created,
                    "sender": sender,
                    "by": rng.choice(staff)
                    if sender in (InvitationSender.ADMIN, InvitationSender.HELPDESK)
                    else None,
                    "fate": fate,
                }
            )

    def messages(self) -> Iterator[dict]:
        for item in self.plan:
            user_id, created, fate = item["user_id"], item["created"], item["fate"]
            email = self.people.emails[user_id]
            french = self.people.locales[user_id] == "fr"
            subject = (
                "Inscrivez votre appareil auprès d’Example Corp"
                if french
                else "Enroll your device with Example Corp"
            )
            message_id = f"<large-{item['offset']:06d}@example.com>"
            body = (
                f"Hello {self.people.names[user_id]},\r\n\r\nOpen the link below on the "
                "device you want to enroll.\r\n"
            )
            raw = (
                f"From: Example Corp <no-reply@example.com>\r\nTo: {email}\r\n"
                f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
            ).encode()
            if fate == "failed":
                status, attempts, error = OutboxStatus.DEAD, 8, "550 5.1.1 mailbox unavailable"
            elif fate == "stuck":
                status, attempts, error = (
                    OutboxStatus.PENDING,
                    self.rng.randint(3, 6),
                    "[Errno 111] Connection refused",
                )
            else:
                status, attempts, error = OutboxStatus.SENT, 1, None
            sent = created + timedelta(seconds=self.rng.randint(1, 40))
            yield {
                "id": self.first_message + item["offset"],
                "kind": "email",
                "message_id": message_id,
                "sender": "Example Corp <no-reply@example.com>",
                "recipient": email,
                "subject": subject,
                "body_text": body,
                "body_html": None,
                "raw": raw,
                "locale": "fr" if french else "en",
                "status": status.value,
                "attempts": attempts,
                "next_attempt_at": (
                    self.now + timedelta(minutes=self.rng.randint(5, 240))
                    if status is OutboxStatus.PENDING
                    else sent
                ),
                "last_error": error,
                "sent_at": sent if status is OutboxStatus.SENT else None,
                "claimed_until": None,
                "claimed_by": None,
                "created_at": created,
            }

    def rows(self) -> Iterator[dict]:
        for item in self.plan:
            created, fate = item["created"], item["fate"]
            expires = created + timedelta(days=7)
            delivery = {
                "failed": DeliveryStatus.FAILED,
                "stuck": DeliveryStatus.QUEUED,
            }.get(fate, DeliveryStatus.SENT)
            used = revoked = None
            if fate == "used":
                used = created + (expires - created) * self.rng.random() ** 3
                used = min(used, self.now)
            elif fate == "revoked":
                revoked = created + timedelta(hours=self.rng.randint(1, 100))
                revoked = min(revoked, self.now)
            token = hashlib.sha256(
                f"large-{item['offset']}-{random_hex(self.rng)}".encode()
            ).hexdigest()
            yield {
                "id": self.first_id + item["offset"],
                "user_id": item["user_id"],
                "token_hash": token,
                "expires_at": expires,
                "sent_by": item["sender"].value,
                "sent_by_user_id": item["by"],
                "delivery_status": delivery.value,
                "outbox_message_id": self.first_message + item["offset"],
                "used_at": used,
                "revoked_at": revoked,
                "created_at": created,
            }
