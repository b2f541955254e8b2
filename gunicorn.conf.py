"""gunicorn settings for the portal's `web` process: `gunicorn -c gunicorn.conf.py wsgi:app`.

Refuses to start several workers with in-memory rate limits in production, and keeps
Prometheus metrics in multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (each process,
the background worker's included, writes its own files there; a scrape of /metrics adds them
up). Empty that directory when the machine boots, before any process starts.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Behind a TLS proxy on the same machine (README): trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"


def on_starting(server):
    from portal import config

    settings = config.load()
    problems = config.production_problems(settings, workers=server.cfg.workers)
    if problems:
        raise SystemExit("Refusing to start in production:\n- " + "\n- ".join(problems))
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and not os.path.isdir(directory):
        raise SystemExit(
            f"PROMETHEUS_MULTIPROC_DIR={directory} does not exist: create it (empty) at boot, "
            "e.g. systemd's RuntimeDirectory="
        )


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
