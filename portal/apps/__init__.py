"""Apps & Books: the app catalogue, licences handed out first come first served, the client
for Apple's Apps and Books service, and installing catalogue apps on devices.

The blueprint lives in `routes` (imported by the app factory), so that the enrollment
lifecycle can import `licences` without pulling in the web views.
"""
