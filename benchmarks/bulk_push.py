"""A bulk action on 1,000 devices: the request queues the commands and their pushes and
returns; the background worker then sends the pushes over one HTTP/2 connection to a local
APNs stand-in (tests/support/apns.py, checking the push certificate as Apple does).

Goal: queueing 1,000 DeviceLock commands (and their pushes) takes under a second.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

DEVICES = 1000
TARGET_SECONDS = 1.0


def run(count: int = DEVICES) -> int:
    return measure(count)[0]


def measure(count: int = DEVICES) -> tuple[int, float]:
    """(status, seconds the bulk action took to return)."""
    import logging

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal import create_app, demo
    from portal.apple import push_cert
    from portal.extensions import db
    from portal.mdm import commands, push
    from portal.models import Device, User
    from tests.apple import helpers
    from tests.support.apns import APNsStandIn
    from tests.worker.test_pushes import add_devices

    workdir = Path(tempfile.mkdtemp(prefix="portal-push-bench-"))
    with APNsStandIn(helpers.ca_certificate()) as apns:
        app = create_app(
            {
                "PORTAL_ENV": "testing",
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
                "INSTANCE_PATH": str(workdir / "instance"),
                "SERVER_NAME": None,
                "MDM_PUSH": "apns",
                "APNS_URL": apns.url,
                "APNS_CA_FILE": apns.ca_file,
            }
        )
        logging.getLogger("portal").setLevel(logging.WARNING)
        with app.app_context():
            upgrade()
            demo.seed("testing")
            adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
            topic = helpers.new_topic()
            data = helpers.pkcs12_file(topic, b"pw")
            push_cert.upload(adam, data, "pw", secret_key=app.config["SECRET_KEY"])
            db.session.commit()
            add_devices(count)
            db.session.execute(sa.update(Device).values(topic=topic))
            db.session.commit()
            devices = db.session.scalars(sa.select(Device).order_by(Device.id)).all()
            started, cpu = time.perf_counter(), time.process_time()
            commands.queue_many(devices, "DeviceLock", actor=adam, channel="web")
            db.session.commit()
            queued, cpu = time.perf_counter() - started, time.process_time() - cpu
            started = time.perf_counter()
            sent = 0
            while True:
                batch = push.deliver("bench")
                if not batch.claimed:
                    break
                sent += batch.outcomes["sent"]
            pushed = time.perf_counter() - started
            push.notifier(app).close()
    print(f"\nBulk lock: {count} devices, SQLite, APNs stand-in over HTTP/2\n")
    print(f"{'queue commands and pushes (request)':<40} {queued:>8.3f} s  ({cpu:.3f} s CPU)")
    print(f"{'worker: send every push':<40} {pushed:>8.3f} s  ({sent / pushed:,.0f} pushes/s)")
    print(f"pushes accepted by the stand-in: {len(apns.requests)} of {count}")
    verdict = "OK" if queued < TARGET_SECONDS else "ABOVE TARGET"
    print(f"target: the bulk action returns in < {TARGET_SECONDS:.0f} s: {verdict}")
    return (0 if queued < TARGET_SECONDS and sent == count else 1), queued


if __name__ == "__main__":
    raise SystemExit(run())
