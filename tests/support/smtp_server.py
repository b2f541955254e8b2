"""A real SMTP server for tests: aiosmtpd in this process, on a free local port.

`SmtpSink.messages` holds every message the server accepted (parsed), in order. A test can
make the server refuse (`refuse_with`), hold messages before accepting them (`hold_after`),
slow down (`delay`), or stop and start it again on the same port (an outage).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        if sink.hold_after is not None and len(sink.messages) >= sink.hold_after:
            # Hold the message: the client waits for our answer until the test releases it.
            sink.holding.set()
            released = await asyncio.get_running_loop().run_in_executor(None, sink.release.wait, 30)
            if not released or sink.refuse_held:
                return "451 4.3.0 not accepted"
        if sink.delay:
            await asyncio.sleep(sink.delay)
        if sink.refuse_with:
            return sink.refuse_with
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with sink.changed:
            sink.messages.append(message)
            sink.raw.append(envelope.content)
            sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            sink.changed.notify_all()
        return "250 2.0.0 OK"


class SmtpSink:
    def __init__(self, *, username: str | None = None, password: str | None = None):
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.changed = threading.Condition()
        self.refuse_with: str | None = None
        # Accept `hold_after` messages, then hold the next ones until `release` is set
        # (`refuse_held`: answer them 451 then); `holding` is set once one is held.
        self.hold_after: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.refuse_held = False
        self.delay = 0.0
        self.username = username
        self.password = password
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        credentials = f"{self.username}:{self.password}@" if self.username else ""
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == self.username and auth_data.password.decode() == (
            self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        kwargs = {}
        if self.username:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> list[str]:
        with self.changed:
            return [str(m["Message-ID"]) for m in self.messages]

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True
