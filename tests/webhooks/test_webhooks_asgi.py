"""WebhookASGIApp served by uvicorn on 127.0.0.1, beside WebhookApp served by wsgiref:
the same requests over real HTTP get the same answers from both."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
import uvicorn
from test_webhooks_app import Served
from webhooks_support import JSON, NOW, SECRET, json_body, signed

from mailspec.webhooks import Event, ReplayGuard
from mailspec.webhooks.asgi import WebhookASGIApp

TIMEOUT = urllib3.Timeout(connect=5, read=5)


class ServedASGI:
    """One WebhookASGIApp behind a uvicorn server on a free port, and what it received."""

    def __init__(self, provider: str, *, asynchronous: bool = False, **options: Any) -> None:
        self.received: list[Event] = []
        self.fail = False
        options.setdefault("clock", lambda: float(NOW))
        options.setdefault("replay", ReplayGuard())
        on_event = self._on_event_async if asynchronous else self._on_event
        self.app = WebhookASGIApp(provider, on_event, **options)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        self.http = urllib3.PoolManager(timeout=TIMEOUT, retries=False)

    def _on_event(self, event: Event) -> None:
        assert threading.current_thread() is not self.thread  # off the event loop
        if self.fail:
            raise RuntimeError("handler down")
        self.received.append(event)

    async def _on_event_async(self, event: Event) -> None:
        await asyncio.sleep(0)  # awaited on the server's event loop
        assert threading.current_thread() is self.thread
        if self.fail:
            raise RuntimeError("handler down")
        self.received.append(event)

    def post(self, body: bytes, headers: dict[str, str], *, path: str = "") -> Any:
        return self.http.request("POST", self.url + path, body=body, headers=headers)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(params=["sync", "async"])
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[Served, ServedASGI]]:
    """A sendcloud endpoint twice: WSGI and ASGI (with a plain or a coroutine on_event)."""
    wsgi = Served("sendcloud", secret=SECRET, max_body=4096)
    asgi = ServedASGI(
        "sendcloud", secret=SECRET, max_body=4096, asynchronous=request.param == "async"
    )
    yield wsgi, asgi
    wsgi.close()
    asgi.close()


def both(pair: tuple[Served, ServedASGI], body: bytes, headers: dict[str, str]) -> Any:
    """The answer of each app to the same request: (status, JSON body), twice, and the
    ASGI answer's content type."""
    wsgi, asgi = pair
    a, b = wsgi.post(body, headers), asgi.post(body, headers)
    assert b.headers["Content-Type"] == "application/json"
    return (a.status, json.loads(a.data)), (b.status, json.loads(b.data))


def test_200_for_a_signed_batch_and_the_same_events(pair: tuple[Served, ServedASGI]) -> None:
    body = json_body([signed("deliver"), signed("open")])
    wsgi, asgi = both(pair, body, JSON)
    assert wsgi == asgi == (200, {"received": 2})
    assert [e.event for e in pair[1].received] == ["deliver", "open"]
    assert pair[1].received == pair[0].received


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (json_body(signed("deliver", key="wrong-key")), 401),
        (json_body(signed("deliver", timestamp=NOW - 3600)), 401),
        (b"{not json", 400),
        (json_body(signed("deliver", note="x" * 5000)), 413),
    ],
    ids=["wrong-key", "stale", "not-json", "too-large"],
)
def test_refusals_are_the_same(pair: tuple[Served, ServedASGI], body: bytes, status: int) -> None:
    wsgi, asgi = both(pair, body, JSON)
    assert wsgi == asgi and wsgi[0] == status
    assert pair[0].received == pair[1].received == []


def test_a_replay_is_refused_by_both(pair: tuple[Served, ServedASGI]) -> None:
    body = json_body(signed("deliver"))
    assert both(pair, body, JSON)[1][0] == 200
    wsgi, asgi = both(pair, body, JSON)
    assert wsgi == asgi == (401, {"error": "unauthorized"})


def test_405_for_anything_but_post(pair: tuple[Served, ServedASGI]) -> None:
    wsgi, asgi = pair
    a = wsgi.http.request("GET", wsgi.url)
    b = asgi.http.request("GET", asgi.url)
    assert (a.status, json.loads(a.data), a.headers["Allow"]) == (
        b.status,
        json.loads(b.data),
        b.headers["Allow"],
    )
    assert b.status == 405


def test_500_when_the_handler_raises_and_the_retry_is_accepted(
    pair: tuple[Served, ServedASGI],
) -> None:
    wsgi, asgi = pair

    def down(event: Event) -> None:
        raise RuntimeError("handler down")

    wsgi.fail, asgi.fail = down, True
    body = json_body(signed("deliver"))
    assert both(pair, body, JSON) == ((500, {"error": "internal error"}),) * 2
    wsgi.fail, asgi.fail = None, False
    assert both(pair, body, JSON) == ((200, {"received": 1}),) * 2
    assert len(asgi.received) == 1


def test_cloudmails_secret_in_the_query_or_as_basic_auth() -> None:
    asgi = ServedASGI("cloudmails", secret=SECRET)
    try:
        body = json_body({"event": "delivered", "message_id": "m1", "email": "a@x.org"})
        assert asgi.post(body, JSON, path=f"?secret={SECRET}").status == 200
        assert asgi.post(body, JSON, path="?secret=guess").status == 401
        auth = base64.b64encode(f"api:{SECRET}".encode()).decode()
        assert asgi.post(body, {**JSON, "Authorization": f"Basic {auth}"}).status == 200
        assert asgi.post(body, JSON).status == 401
        assert len(asgi.received) == 2
    finally:
        asgi.close()


def test_a_chunked_body_is_read_up_to_max_body() -> None:
    """Without a Content-Length the server delimits the body: read it, up to max_body
    (the WSGI app, which cannot know where such a body ends, answers 411)."""
    asgi = ServedASGI("sendcloud", secret=SECRET, max_body=4096)
    try:

        def chunked(body: bytes) -> Any:
            parts = [body[i : i + 1000] for i in range(0, len(body), 1000)]
            return asgi.http.request("POST", asgi.url, body=iter(parts), headers=JSON, chunked=True)

        assert chunked(json_body(signed("deliver"))).status == 200
        too_large = chunked(json_body(signed("deliver", note="x" * 5000)))
        assert (too_large.status, json.loads(too_large.data)) == (
            413,
            {"error": "content too large"},
        )
        assert len(asgi.received) == 1
    finally:
        asgi.close()
