"""The background worker: one loop doing all the portal's background work.

Each pass: a heartbeat (every few seconds), a batch of queued MDM pushes, a batch of
outgoing e-mail (when due), and any periodic job that is due and free. All of it is shared
through the database with leases, so any number of workers on any number of machines never
send the same push or e-mail, nor run the same job at once.

Run it with `flask --app wsgi worker run` (the Procfile's `worker`); SIGTERM or Ctrl-C
finishes the current item and stops.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..extensions import db
from ..mdm import push
from ..models import utcnow
from ..outbox.worker import BatchResult, Worker, default_name
from . import jobs, schedule

log = logging.getLogger("portal.worker")

# Few writes when idle: on SQLite (development) each commit of the worker's can make a web
# request that read before it fail to write.
HEARTBEAT_SECONDS = 30.0
JOB_CHECK_SECONDS = 10.0


class BackgroundWorker:
    def __init__(
        self,
        app: Flask,
        outbox: Worker | None,
        *,
        name: str | None = None,
        poll_seconds: float = 1.0,
        outbox_poll_seconds: float = 5.0,
        push_batch: int = 500,
        push_lease: timedelta = timedelta(minutes=10),
    ) -> None:
        self.app = app
        self.outbox = outbox
        self.name = name or default_name()
        self.poll_seconds = poll_seconds
        self.outbox_poll_seconds = outbox_poll_seconds
        self.push_batch = push_batch
        self.push_lease = push_lease
        self.started_at: datetime = utcnow()
        self.stopping = threading.Event()
        self._last_beat = 0.0
        self._last_outbox = 0.0
        self._last_jobs = 0.0

    # -- one pass -------------------------------------------------------------------------

    def heartbeat(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            schedule.beat(self.name, started_at=self.started_at)
            self._last_beat = time.monotonic()

    def pushes(self) -> push.PushBatch:
        batch = push.deliver(
            self.name,
            limit=self.push_batch,
            lease=self.push_lease,
            send_time=self._chunk_time(),
        )
        if batch.claimed:
            counts = ", ".join(f"{kind} {n}" for kind, n in sorted(batch.outcomes.items()))
            if batch.refusal is not None:
                detail = (
                    f"APNs refused pushes: {batch.refusal.status} {batch.refusal.reason or ''}"
                ).strip()
                schedule.record("pushes", ok=False, detail=f"{detail} ({counts})")
            else:
                schedule.record("pushes", ok=True, detail=counts)
        return batch

    def _chunk_time(self) -> float:
        """The longest one chunk of pushes may take, each push up to two attempts bounded by
        APNS_TIMEOUT (APNs that does not answer at all: the first attempt of the chunk
        times out; later ones fail fast on the dead connection, but count them all)."""
        return push.CHUNK * (2 * float(self.app.config.get("APNS_TIMEOUT", 10)) + 1)

    def mail(self, force: bool = False) -> BatchResult | None:
        if self.outbox is None:
            return None
        if not force and time.monotonic() - self._last_outbox < self.outbox_poll_seconds:
            return None
        self._last_outbox = time.monotonic()
        result = self.outbox.run_once()
        metrics.outbox_batch(result)
        if result.claimed:
            detail = (
                f"sent {result.sent}, retrying {result.retrying}, given up {result.dead}, "
                f"cancelled {result.cancelled}"
            )
            if result.errors:
                detail += f"; last error: {result.errors[-1]}"
            schedule.record("outbox", ok=not result.errors, detail=detail)
        if result.connection_lost or not result.claimed:
            self.outbox.transport.close()  # don't hold an idle SMTP connection
        else:
            self._last_outbox = 0.0  # more may wait: come back at once
        return result

    def periodic(self, force: bool = False) -> list[str]:
        """Run the periodic jobs that are due and free; returns the names of those run."""
        if not force and time.monotonic() - self._last_jobs < JOB_CHECK_SECONDS:
            return []
        self._last_jobs = time.monotonic()
        ran = []
        for job in jobs.registered():
            if self.stopping.is_set():
                break
            token = schedule.claim(job.name, self.name, lease=job.lease)
            if token is None:
                continue
            ran.append(job.name)
            self.run_job(job, token)
        return ran

    def run_job(self, job: jobs.Job, token: str) -> bool:
        started = time.monotonic()
        try:
            detail = job.run(self.app.config)
            ok = True
        except jobs.JobFailed as exc:
            db.session.rollback()
            log.warning("background job %s failed: %s", job.name, exc)
            detail, ok = str(exc), False
        except Exception as exc:
            db.session.rollback()
            log.exception("background job %s failed", job.name)
            detail, ok = f"{type(exc).__name__}: {exc}", False
        else:
            log.info("background job %s: %s (%.1f s)", job.name, detail, time.monotonic() - started)
        metrics.job_run(job.name, "ok" if ok else "failed")
        if not schedule.finish(
            job.name, token, ok=ok, detail=str(detail), next_run_at=utcnow() + job.interval
        ):
            log.warning("background job %s ran past its lease", job.name)
        return ok

    def tick(self, *, force: bool = False) -> bool:
        """One pass; True when there was work (come back at once)."""
        steps = (
            lambda: self.heartbeat(force) and False,
            lambda: self.pushes().claimed > 0,
            lambda: self._mail(force),
            lambda: bool(self.periodic(force)),
        )
        busy = False
        for step in steps:
            if self.stopping.is_set():
                break
            try:
                busy = step() or busy
            except SQLAlchemyError as exc:
                db.session.rollback()
                log.error("worker: database error, retrying soon: %s", exc)
            except Exception:  # a long-running worker outlives one bad step
                db.session.rollback()
                log.exception("worker: unexpected error, retrying soon")
        return busy

    def _mail(self, force: bool = False) -> bool:
        result = self.mail(force)
        return bool(result and result.claimed and not result.connection_lost)

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> None:
        """Loop until `stop()`."""
        log.info("worker %s started", self.name)
        try:
            while not self.stopping.is_set():
                if not self.tick():
                    self.stopping.wait(self.poll_seconds)
        finally:
            if self.outbox is not None:
                self.outbox.transport.close()
            try:
                schedule.gone(self.name)
            except SQLAlchemyError:
                db.session.rollback()
            log.info("worker %s stopped", self.name)

    def stop(self, *_args) -> None:
        self.stopping.set()
        if self.outbox is not None:
            self.outbox.stop()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the current item, then stop."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
