"""Two providers for real, each a sandbox on 127.0.0.1 that posts its webhooks to a
receiver of ours (a WSGI server in a thread, :class:`mailspec.webhooks.WebhookApp`
given ``mailer=``): A is CloudMails (its status lookup reports a message it dropped as
``failed``), B is AuroraSendCloud (signed webhooks). Only the clock is faked."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: shared helpers

from redis_support import redis_server as redis_server
from time_support import FakeClock

from mailspec import Mailer, Message
from mailspec.sandbox import SandboxServer
from mailspec.webhooks import Event, WebhookApp

SECRET = "delivery-webhook-key"
A, B = "cloudmails", "aurorasendcloud"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A webhook endpoint on 127.0.0.1 for one provider, recording into ``mailer`` (and
    keeping every event it parsed in ``events``)."""

    def __init__(self, provider: str, mailer: Any = None) -> None:
        self.events: list[Event] = []
        self.app = WebhookApp(provider, self.events.append, mailer=mailer, secret=SECRET)
        self.server = make_server(
            "127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Pair:
    """Sandboxes ``a`` and ``b``, their receivers, and the Mailers made on them."""

    a: SandboxServer
    b: SandboxServer
    clock: FakeClock = field(default_factory=lambda: FakeClock(1_700_000_000.0))
    receivers: list[Receiver] = field(default_factory=list)

    def mailer(self, **options: Any) -> Mailer:
        """A Mailer over A then B, whose receivers record into it."""
        mailer = Mailer(
            [self.a.provider(), self.b.provider()],
            clock=self.clock,
            sleep=self.clock.sleep,
            **options,
        )
        self.listen(mailer)
        return mailer

    def listen(self, mailer: Any) -> None:
        """Post both sandboxes' webhooks to fresh receivers recording into ``mailer``."""
        for sandbox in (self.a, self.b):
            receiver = Receiver(sandbox.name, mailer)
            self.receivers.append(receiver)
            sandbox.send_webhooks(receiver.url, secret=SECRET)

    def flush(self) -> None:
        for sandbox in (self.a, self.b):
            assert sandbox.webhooks is None or sandbox.webhooks.flush(10)

    def requests(self) -> tuple[int, int]:
        return self.a.requests, self.b.requests

    def close(self) -> None:
        for sandbox in (self.a, self.b):
            sandbox.stop()
        for receiver in self.receivers:
            receiver.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    made = Pair(SandboxServer(A).start(), SandboxServer(B).start())
    yield made
    made.close()


def message(*to: str, key: str | None = None) -> Message:
    return Message(
        from_email="shop@example.com",
        to=list(to),
        subject="Your order",
        html="<p>Your order is on its way.</p>",
        idempotency_key=key,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` (bounded)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
