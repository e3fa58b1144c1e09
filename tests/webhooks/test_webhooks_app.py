"""WebhookApp served by wsgiref on 127.0.0.1, driven over real HTTP with urllib3."""

from __future__ import annotations

import base64
import json
import logging
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import urllib3
from webhooks_support import FORM, JSON, NOW, SECRET, form_body, json_body, signed

from mailspec import UnsupportedOperation, ValidationError
from mailspec.webhooks import Event, ReplayGuard, WebhookApp

TIMEOUT = urllib3.Timeout(connect=5, read=5)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Served:
    """One WebhookApp behind a wsgiref server on a free port, and what it received."""

    def __init__(self, provider: str, **options: Any) -> None:
        self.received: list[Event] = []
        self.fail: Callable[[Event], None] | None = None
        options.setdefault("clock", lambda: float(NOW))
        options.setdefault("replay", ReplayGuard())
        self.app = WebhookApp(provider, self._on_event, **options)
        self.server: WSGIServer = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.http = urllib3.PoolManager(timeout=TIMEOUT, retries=False)

    def _on_event(self, event: Event) -> None:
        if self.fail:
            self.fail(event)
        self.received.append(event)

    def post(self, body: bytes, headers: dict[str, str], *, path: str = "") -> Any:
        return self.http.request("POST", self.url + path, body=body, headers=headers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def sendcloud() -> Iterator[Served]:
    served = Served("sendcloud", secret=SECRET, max_body=4096)
    yield served
    served.close()


@pytest.fixture
def cloudmails() -> Iterator[Served]:
    served = Served("cloudmails", secret=SECRET)
    yield served
    served.close()


def raw_request(served: Served, head: str, body: bytes = b"") -> bytes:
    """Send bytes as they are (urllib3 would fix a wrong Content-Length) and read the answer."""
    port = served.server.server_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_200_and_every_event_handed_over(sendcloud: Served) -> None:
    batch = [signed("deliver"), signed("open")]
    answer = sendcloud.post(json_body(batch), JSON)
    assert answer.status == 200
    assert json.loads(answer.data) == {"received": 2}
    assert answer.headers["Content-Type"] == "application/json"
    assert [e.event for e in sendcloud.received] == ["deliver", "open"]


def test_a_form_event_too(sendcloud: Served) -> None:
    answer = sendcloud.post(form_body(signed("click", url="https://e.com/x")), FORM)
    assert answer.status == 200
    assert sendcloud.received[0].url == "https://e.com/x"


def test_401_says_nothing_but_logs_why(sendcloud: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mailspec.webhooks"):
        answer = sendcloud.post(json_body(signed("deliver", key="wrong-key")), JSON)
    assert answer.status == 401
    assert json.loads(answer.data) == {"error": "unauthorized"}
    assert sendcloud.received == []
    (record,) = [r for r in caplog.records if r.name == "mailspec.webhooks"]
    assert record.levelno == logging.WARNING
    assert "signature does not match" in record.getMessage()
    assert "127.0.0.1" in record.getMessage()
    assert SECRET not in record.getMessage()


def test_401_for_a_replay_over_http(sendcloud: Served) -> None:
    body = json_body(signed("deliver"))
    assert sendcloud.post(body, JSON).status == 200
    assert sendcloud.post(body, JSON).status == 401
    assert len(sendcloud.received) == 1


def test_400_for_a_body_that_is_not_events(sendcloud: Served) -> None:
    answer = sendcloud.post(b"{not json", JSON)
    assert answer.status == 400
    assert json.loads(answer.data) == {"error": "sendcloud webhook: the body is not JSON"}


def test_405_for_anything_but_post(sendcloud: Served) -> None:
    for method in ("GET", "PUT", "DELETE"):
        answer = sendcloud.http.request(method, sendcloud.url)
        assert answer.status == 405
        assert answer.headers["Allow"] == "POST"


def test_413_for_a_body_over_max_body(sendcloud: Served) -> None:
    answer = sendcloud.post(b"x" * 4097, FORM)
    assert answer.status == 413
    assert sendcloud.post(json_body(signed("deliver")), JSON).status == 200  # still serving


def test_413_from_content_length_alone_without_reading_the_body(sendcloud: Served) -> None:
    # announces a gigabyte and sends none of it: the answer must not wait for it
    head = (
        "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000000\r\nConnection: close\r\n"
    )
    answer = raw_request(sendcloud, head)
    assert answer.startswith(b"HTTP/1.0 413 ") or answer.startswith(b"HTTP/1.1 413 ")


def test_411_without_content_length(sendcloud: Served) -> None:
    answer = raw_request(sendcloud, "POST /hooks HTTP/1.0\r\nHost: x\r\n")
    assert b" 411 " in answer.split(b"\r\n", 1)[0]


def test_400_for_a_content_length_that_is_not_a_number(sendcloud: Served) -> None:
    answer = raw_request(sendcloud, "POST /hooks HTTP/1.0\r\nContent-Length: ten\r\n")
    assert b" 400 " in answer.split(b"\r\n", 1)[0]


def test_500_when_the_callback_raises_and_the_retry_is_accepted(
    sendcloud: Served, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(event: Event) -> None:
        raise RuntimeError("database down")

    sendcloud.fail = explode
    body = json_body(signed("deliver"))
    with caplog.at_level(logging.ERROR, logger="mailspec.webhooks"):
        answer = sendcloud.post(body, JSON)
    assert answer.status == 500
    assert json.loads(answer.data) == {"error": "internal error"}
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "handler failed" in record.getMessage()
    assert record.exc_info is not None and "database down" in str(record.exc_info[1])
    # the provider retries: its tokens were released, so this is not a replay
    sendcloud.fail = None
    assert sendcloud.post(body, JSON).status == 200
    assert [e.event for e in sendcloud.received] == ["deliver"]


def test_cloudmails_secret_in_the_url_query(cloudmails: Served) -> None:
    body = json_body({"event": "opened", "message_id": "m1"})
    assert cloudmails.post(body, JSON, path=f"?secret={SECRET}").status == 200
    assert cloudmails.post(body, JSON, path="?secret=guess").status == 401
    assert cloudmails.post(body, JSON).status == 401
    assert [e.message_id for e in cloudmails.received] == ["m1"]


def test_cloudmails_secret_as_basic_auth(cloudmails: Served) -> None:
    body = json_body([{"event": "bounced", "message_id": "m2"}])
    auth = base64.b64encode(f"hooks:{SECRET}".encode()).decode()
    answer = cloudmails.post(body, {**JSON, "Authorization": f"Basic {auth}"})
    assert answer.status == 200
    wrong = base64.b64encode(b"hooks:nope").decode()
    assert cloudmails.post(body, {**JSON, "Authorization": f"Basic {wrong}"}).status == 401
    assert [e.type for e in cloudmails.received] == ["bounced"]


def test_a_signing_provider_without_a_secret_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="sendcloud signs its webhooks"):
        WebhookApp("sendcloud", print)
    assert WebhookApp("sendcloud", print, verify=False).verify is False  # explicitly allowed


def test_an_unverified_cloudmails_app_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mailspec.webhooks"):
        WebhookApp("cloudmails", print)
    assert any("unverified" in r.getMessage() for r in caplog.records)


def test_bad_configuration_fails_at_construction() -> None:
    with pytest.raises(ValidationError, match="unknown provider"):
        WebhookApp("nosuch", print, secret="x")
    with pytest.raises(UnsupportedOperation):
        WebhookApp("aotsend", print, secret="x")
    with pytest.raises(ValueError):
        WebhookApp("cloudmails", print, secret="x", max_body=0)


def test_the_repr_holds_no_secret() -> None:
    app = WebhookApp("sendcloud", print, secret=SECRET)
    assert repr(app) == "<WebhookApp sendcloud>"
    assert SECRET not in repr(app) and SECRET not in str(app)


def test_the_module_example_serves_while_a_client_stalls(monkeypatch) -> None:
    """The stdlib-server example of the module's docstring runs as written (on a free
    port here), and a client that connects and stalls mid-request does not hold up the
    next request: it is answered at once."""
    import mailspec.webhooks.app as module

    assert module.__doc__ is not None
    example = module.__doc__.split("\n\n    ", 1)[1].split("\n\n(", 1)[0]
    code = textwrap.dedent("    " + example)
    assert code.rstrip().endswith("server.serve_forever()")
    code = code.replace('"0.0.0.0", 8080', '"127.0.0.1", 0').replace("server.serve_forever()", "")
    monkeypatch.setenv("SENDCLOUD_WEBHOOK_KEY", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(code, "mailspec/webhooks/app.py example", "exec"), namespace)
    server = namespace["server"]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    stalled = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
    try:
        stalled.sendall(b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        answer = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=2), retries=False)
        got = answer.request("GET", f"http://127.0.0.1:{server.server_port}/hooks")
        assert got.status == 405 and time.monotonic() - started < 2
    finally:
        stalled.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
