"""The app class keeps Flask's "is it async?" answer per function, and forgets
functions made for one request."""

from __future__ import annotations

import gc

from portal.performance import Portal


def test_a_hook_is_inspected_once_and_a_request_s_own_function_is_forgotten(monkeypatch):
    app = Portal("portal-test")
    asked = []
    real = Portal.__mro__[1].ensure_sync

    def counting(self, func):
        asked.append(getattr(func, "__name__", ""))  # no reference kept
        return real(self, func)

    monkeypatch.setattr(Portal.__mro__[1], "ensure_sync", counting)

    def hook(response):
        return response

    assert all(app.ensure_sync(hook) is hook for _ in range(5))
    assert asked == ["hook"]
    for _ in range(50):
        app.ensure_sync(lambda response: response)  # like after_this_request's
    gc.collect()
    assert list(app._sync_functions) == [hook]


def test_every_request_goes_through_the_portal_class(app):
    assert isinstance(app, Portal)
    with app.test_request_context("/healthz"):
        pass
    assert app.test_client().get("/healthz").status_code in (200, 503)
