"""The outbox worker: claim due messages, send them, mark each right after its SMTP transaction.

Right before each message's data goes out, the worker knows it is still to be sent (not
cancelled since the claim): the previous message's mark reads it in the same statement.

Run it with `flask --app wsgi outbox run` (until SIGTERM or Ctrl-C; the message being sent
is finished and marked, the rest of the batch is given back) or `--once` (one batch).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from . import service
from .mime import envelope_address
from .service import OutboxSettings
from .smtp import DeliveryError, Envelope, SendCancelled

log = logging.getLogger("portal.outbox")


class Transport(Protocol):
    def send(self, envelope: Envelope, *, before_data: Callable[[], bool] | None = None) -> None:
        """Deliver `envelope`; `before_data()` False → `SendCancelled`, nothing delivered."""

    def close(self) -> None: ...


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    cancelled: int = 0
    connection_lost: bool = False
    errors: list[str] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retrying += other.retrying
        self.dead += other.dead
        self.cancelled += other.cancelled


class _Marks:
    """The "sent" marks of one batch, and what each says of the next message.

    On PostgreSQL a mark runs on a thread of its own while the next message's envelope
    (MAIL FROM, RCPT TO) goes out, and the worker waits for it before sending that message's
    data: a mark is still durable before the next message can be accepted, as `service`
    promises, and the database's round trip overlaps the SMTP server's.
    """

    def __init__(self, token: str, connection):
        self.token = token
        self.connection = connection
        overlap = connection is not None and connection.dialect.name == "postgresql"
        self.executor = ThreadPoolExecutor(1) if overlap else None
        self.in_flight: tuple[int | None, Future] | None = None
        self.checked: tuple[int | None, bool] | None = None

    def sent(self, message_id: int, kind: str, then: int | None) -> None:
        def mark() -> bool:
            return service.mark_sent(
                message_id, kind, then=then, token=self.token, connection=self.connection
            )

        if self.executor is None:
            self.checked = (then, mark())
        else:
            self.in_flight = (then, self.executor.submit(mark))

    def wait(self) -> None:
        if self.in_flight is not None:
            then, future = self.in_flight
            self.in_flight = None
            self.checked = (then, future.result())

    def still_to_send(self, message_id: int) -> bool:
        self.wait()
        checked, self.checked = self.checked, None
        if checked is not None and checked[0] == message_id:
            return checked[1]
        return service.still_to_send(message_id, self.token, self.connection)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self.executor is not None:
                self.executor.shutdown()


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        transport: Transport,
        settings: OutboxSettings,
        *,
        default_sender: str = "no-reply@localhost",
        name: str | None = None,
        send_time: float = 60.0,
    ):
        self.transport = transport
        self.settings = settings
        self.default_sender = default_sender
        self.name = name or default_name()
        # The longest one message may take (connect + send, with timeouts): no message is
        # started unless it can finish within the lease, so another worker never takes it.
        self.send_time = send_time
        self.stopping = threading.Event()

    def run_once(self) -> BatchResult:
        """Claim one batch and try each message once."""
        result = BatchResult()
        token = service.claim_token(self.name)
        lease = self.settings.lease.total_seconds()
        deadline = time.monotonic() + lease - min(self.send_time, lease / 2)
        messages = service.claim(
            self.name, limit=self.settings.batch_size, lease=self.settings.lease, token=token
        )
        result.claimed = len(messages)
        jobs = [(m.id, m.kind, self._envelope(m)) for m in messages]
        for message in messages:  # plain data from here: commits need not expire them
            db.session.expunge(message)
        db.session.rollback()  # end the read transaction; each mark is its own
        pending = [job[0] for job in jobs]
        try:
            with service.worker_connection() as connection:
                self._send(jobs, pending, token, connection, deadline, result)
        finally:
            if pending:
                try:
                    service.release(pending, token)
                except SQLAlchemyError:
                    db.session.rollback()  # the leases expire on their own
        return result

    def _send(self, jobs, pending, token, connection, deadline, result: BatchResult) -> None:
        marks = _Marks(token, connection)
        try:
            for position, (message_id, kind, envelope) in enumerate(jobs):
                if self.stopping.is_set() or result.connection_lost:
                    break
                if time.monotonic() >= deadline:
                    log.info("outbox lease running out: giving back the rest of the batch")
                    break
                pending.remove(message_id)
                started = []

                def go_ahead(message_id=message_id, started=started) -> bool:
                    # Right before the data: the previous mark is durable, and this message
                    # was not cancelled since the claim (e.g. its invitation was withdrawn).
                    if marks.still_to_send(message_id):
                        started.append(True)
                        return True
                    return False

                try:
                    if not envelope.raw:
                        raise DeliveryError("the message has no content", permanent=True)
                    self.transport.send(envelope, before_data=go_ahead)
                except SendCancelled:
                    result.cancelled += 1
                    log.info("outbox message %s was cancelled before sending", message_id)
                    continue
                except DeliveryError as exc:
                    result.errors.append(str(exc))
                    result.connection_lost = exc.connection
                    status = service.mark_failed(
                        message_id, str(exc), settings=self.settings, permanent=exc.permanent
                    )
                    if status == "dead":
                        result.dead += 1
                        log.warning("gave up on outbox message %s: %s", message_id, exc)
                    else:
                        result.retrying += 1
                        log.info("outbox message %s will be retried: %s", message_id, exc)
                    continue
                except BaseException:
                    if not started:  # its data never went out: give it back
                        pending.append(message_id)
                    raise
                then = jobs[position + 1][0] if position + 1 < len(jobs) else None
                marks.sent(message_id, kind, then)
                result.sent += 1
        finally:
            marks.close()

    def _envelope(self, message) -> Envelope:
        return Envelope(
            sender=envelope_address(message.sender or self.default_sender),
            recipients=[envelope_address(message.recipient)],
            raw=message.raw or b"",
            message_id=message.message_id,
        )

    def run(self, *, poll_seconds: float = 5.0) -> BatchResult:
        """Loop until `stop()`: batches back to back while there is work, else wait."""
        total = BatchResult()
        try:
            while not self.stopping.is_set():
                try:
                    result = self.run_once()
                except SQLAlchemyError as exc:
                    db.session.rollback()
                    log.error("outbox worker: database error, retrying soon: %s", exc)
                    self.stopping.wait(poll_seconds)
                    continue
                except Exception:  # a long-running worker outlives one bad batch
                    db.session.rollback()
                    self.transport.close()
                    log.exception("outbox worker: unexpected error, retrying soon")
                    self.stopping.wait(poll_seconds)
                    continue
                total.add(result)
                if result.claimed == 0 or result.connection_lost:
                    self.transport.close()  # don't hold an idle SMTP connection
                    self.stopping.wait(poll_seconds)
        finally:
            self.transport.close()
        return total

    def stop(self, *_args) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the current message, then stop."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
