"""An SMTP server in its own process that counts what it accepts (no parsing: cheap)."""

from __future__ import annotations

import multiprocessing
import re
import socket
import time

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(port: int, commands, replies) -> None:
    from aiosmtpd.controller import Controller

    ids: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            match = MESSAGE_ID.search(envelope.content)
            ids.append(match.group(1) if match else b"")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    replies.put("ready")
    while True:
        command = commands.get()
        if command == "ids":
            replies.put(list(ids))
        elif command == "reset":
            ids.clear()
            replies.put("ok")
        elif command == "stop":
            controller.stop()
            replies.put("stopped")
            return


class SinkProcess:
    """Start with `start()`; `ids()` is every Message-ID received since the last `reset()`."""

    def __init__(self):
        self.port = free_port()
        context = multiprocessing.get_context("spawn")
        self._commands = context.Queue()
        self._replies = context.Queue()
        self._process = context.Process(
            target=_serve, args=(self.port, self._commands, self._replies), daemon=True
        )

    def _ask(self, command: str, timeout: float = 60):
        self._commands.put(command)
        return self._replies.get(timeout=timeout)

    def start(self) -> None:
        self._process.start()
        if self._replies.get(timeout=30) != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def ids(self) -> list[str]:
        return [i.decode() for i in self._ask("ids")]

    def wait_for(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        ids = self.ids()
        while len(ids) < count and time.monotonic() < deadline:
            time.sleep(0.05)
            ids = self.ids()
        return ids

    def reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        try:
            self._ask("stop", timeout=10)
        finally:
            self._process.join(10)
