"""gunicorn settings for the portal's `web` process: `gunicorn -c gunicorn.conf.py wsgi:app`.

Refuses to start several workers with in-memory rate limits in production, and keeps
Prometheus metrics in multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (each process,
the background worker's included, writes its own files there; a scrape of /metrics adds them
up). Empty that directory when the machine boots, before any process starts.

The app is imported once in the master (`preload_app`): workers fork with its modules already
loaded, start faster and share that memory. Command-line options still win (`-w 4`, `--bind`).
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Behind a TLS proxy on the same machine (README): trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
preload_app = True


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


def post_fork(server, worker):
    """Each worker opens its own database connections (none may cross a fork)."""
    if not server.cfg.preload_app:
        return
    app = server.app.wsgi()
    if getattr(app, "import_name", None) != "portal":
        return  # another app (e.g. the benchmarks' limits): leave its modules unimported
    from portal.extensions import db

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        engine.dispose(close=False)
