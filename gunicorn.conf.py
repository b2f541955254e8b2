"""gunicorn's settings, read from the working directory: `gunicorn wsgi:app`.

Command-line options still win (`-w 4`, `--bind`…).
"""

# Import the app once in the master: workers fork with its ~1,400 modules already loaded,
# start faster and share that memory.
preload_app = True


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
