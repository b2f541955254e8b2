"""The portal as gunicorn serves it in the server tests, with one route that always fails
(to see where a server error's traceback goes)."""

from portal import create_app
from portal.access import public

app = create_app()


@app.get("/test-only/fail")
@public
def fail():
    raise RuntimeError("deliberate failure for the log test")
