"""Small real HTTP servers that answer like AuroraSendCloud, for the Mailer tests.

Each :class:`FakeAurora` listens on 127.0.0.1 and answers ``POST /api/mail/send`` with
the documented envelope, or with whatever was queued: an error envelope, a garbage
200, a dropped connection, a slow answer. ``GET /api/data/emailStatus`` reports one
record per asked id. Our client and the wire are real; only time and randomness are
faked (the ``clock`` fixture).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from time_support import FakeClock
from time_support import TopRandom as TopRandom  # for the tests that import it from here

import mailspec
from mailspec import Message

CLIENT_TIMEOUT = 0.4  # seconds: short, so a "slow" answer times out quickly


@dataclass(frozen=True)
class Answer:
    """One scripted answer to a send request."""

    kind: str  # ok | envelope | garbage | drop | slow
    code: int = 200
    http: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


OK = Answer("ok")
RATE_LIMITED = Answer("envelope", code=50000)
SERVER_ERROR = Answer("envelope", code=501)
AUTH_FAILED = Answer("envelope", code=40005)
PROVIDER_INVALID = Answer("envelope", code=40806)
GARBAGE = Answer("garbage")
DROP = Answer("drop")
SLOW = Answer("slow", delay=CLIENT_TIMEOUT * 2)


def rate_limited(retry_after: str, http: int = 200) -> Answer:
    return Answer("envelope", code=50000, http=http, headers={"Retry-After": retry_after})


class PerSecond:
    """A ``FakeAurora.default`` that accepts ``limit`` sends per one-second window
    (from the first request of each) and answers every further one with HTTP 429,
    code 50000 and ``Retry-After`` — a provider enforcing its rate, as under load."""

    def __init__(self, limit: int, retry_after: str = "1") -> None:
        self.limit, self.retry_after = limit, retry_after
        self._start, self._count = float("-inf"), 0
        self.refused = 0

    def __call__(self, number: int) -> Answer:  # FakeAurora calls it under its lock
        now = time.monotonic()
        if now - self._start >= 1.0:
            self._start, self._count = now, 0
        self._count += 1
        if self._count <= self.limit:
            return OK
        self.refused += 1
        return rate_limited(self.retry_after, http=429)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops connects from 8 threads at once


class FakeAurora:
    """One fake AuroraSendCloud account. ``received`` holds the form fields of every
    send request that arrived, ``accepted`` those it answered (or would have answered)
    with success — what a real provider would go on to deliver. As its spec assumes, a
    request repeating the ``sendRequestId`` of an accepted one is answered as a success
    and accepts nothing more (the script is not consumed for it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.script: deque[Answer] = deque()
        self.default: Answer | Callable[[int], Answer] = OK
        self.received: list[dict[str, str]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each send request, in order
        self.accepted: list[dict[str, str]] = []
        self.status_requests: list[dict[str, str]] = []
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def queue(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def provider(self, **options: Any) -> Any:
        options.setdefault("timeout", CLIENT_TIMEOUT)
        return mailspec.provider(
            "aurorasendcloud", api_user="u", api_key="sekrit-key-9f2", base_url=self.url, **options
        )

    def subjects(self) -> list[str]:
        with self.lock:
            return [r["subject"] for r in self.accepted]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, fields: dict[str, str]) -> tuple[Answer, int]:
        with self.lock:
            self.received.append(fields)
            self.arrivals.append(time.monotonic())
            number = len(self.received)
            key = fields.get("sendRequestId")
            if key is not None and any(a.get("sendRequestId") == key for a in self.accepted):
                return OK, number  # processed once already
            if self.script:
                answer = self.script.popleft()
            elif callable(self.default):
                answer = self.default(number)
            else:
                answer = self.default
            if answer.kind in ("ok", "slow"):
                self.accepted.append(fields)
            return answer, number


def _handler(fake: FakeAurora) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing stale to reuse

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(
            self, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            fields = {k: v[-1] for k, v in parse_qs(raw).items()}
            fields.pop("api_key", None)
            answer, number = fake._next(fields)
            if answer.kind == "drop":
                self.close_connection = True
                return  # the request was read; no answer ever comes
            if answer.kind == "garbage":
                data = b"<html>upstream hiccup</html>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if answer.kind == "slow":
                time.sleep(answer.delay)
            if answer.kind in ("ok", "slow"):
                info = {"emailIdList": [f"{fake.name}-{number}"]}
                body = {"result": True, "statusCode": 200, "message": "ok", "info": info}
            else:
                body = {
                    "result": False,
                    "statusCode": answer.code,
                    "message": f"code {answer.code}",
                    "info": {},
                }
            with contextlib.suppress(OSError):  # the client may have given up waiting
                self._json(body, answer.http, answer.headers)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            query.pop("api_key", None)
            with fake.lock:
                fake.status_requests.append({"path": parts.path, **query})
            ids = [i for i in query.get("emailIds", "").split(";") if i]
            records = [{"emailId": i, "recipient": "a@b.co", "status": 1} for i in ids]
            info = {"total": len(records), "voList": records}
            self._json({"result": True, "statusCode": 200, "message": "ok", "info": info})

    return Handler


@pytest.fixture
def servers() -> Iterator[Callable[[int], list[FakeAurora]]]:
    made: list[FakeAurora] = []

    def make(count: int) -> list[FakeAurora]:
        new = [FakeAurora(f"srv{len(made) + i}") for i in range(count)]
        made.extend(new)
        return new

    yield make
    for server in made:
        server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dead_url() -> str:
    """A loopback address where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def fast(clock: FakeClock) -> dict[str, Any]:
    """Mailer options that put time and randomness under the test's control."""
    return {"clock": clock, "sleep": clock.sleep, "random": random.Random(7)}


def make_message(subject: str = "hello", **fields: Any) -> Message:
    fields.setdefault("html", "<p>Hi</p>")
    fields.setdefault("to", ["ann@example.org"])
    return Message(from_email="shop@example.com", subject=subject, **fields)


@pytest.fixture
def message() -> Callable[..., Message]:
    return make_message
