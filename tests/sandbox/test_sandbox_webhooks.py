"""The sandbox posts the provider's own webhook events, signed, to a local receiver;
mailspec.webhooks reads them back: the whole loop on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mailspec import Message
from mailspec.errors import ValidationError, WebhookVerificationError
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import BounceReason, DeliveryState, EventType
from mailspec.webhooks import parse

SECRET = "sandbox-webhook-key"


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _sandbox(name: str) -> SandboxServer:
    return SandboxServer(name).start()


def _message(*to: str) -> Message:
    return Message(
        from_email="shop@example.com", to=list(to), subject="Your order", html="<p>Hi</p>"
    )


def _events(name: str, receiver: _Receiver, secret: str | None = SECRET) -> list:
    events = []
    for headers, body in receiver.received:
        events += parse(name, body, headers, secret=secret)
    return events


def test_sendcloud_events_arrive_signed_and_parse_back(receiver):
    sandbox = _sandbox("sendcloud")
    try:
        sandbox.send_webhooks(receiver.url, secret=SECRET)
        result = sandbox.provider().send(_message("ann@example.org", "bob@example.org"))
        assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    finally:
        sandbox.stop()
    assert len(receiver.received) == 4  # request + deliver, per recipient
    assert all(
        h["Content-Type"] == "application/x-www-form-urlencoded" for h, _ in receiver.received
    )
    events = _events("sendcloud", receiver)
    # every accepted id went queued -> delivered
    assert {(e.message_id, e.type) for e in events} == {
        (i, t) for i in result.message_ids for t in (EventType.QUEUED, EventType.DELIVERED)
    }
    assert {e.recipient for e in events} == {"ann@example.org", "bob@example.org"}
    assert {e.event for e in events} == {"request", "deliver"}


def test_a_wrong_key_is_refused(receiver):
    sandbox = _sandbox("sendcloud")
    try:
        sandbox.send_webhooks(receiver.url, secret=SECRET)
        sandbox.provider().send(_message("ann@example.org"))
        assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    finally:
        sandbox.stop()
    headers, body = receiver.received[0]
    with pytest.raises(WebhookVerificationError, match="signature does not match"):
        parse("sendcloud", body, headers, secret="not-the-key")
    # the sandbox did sign it: the same body verifies with the right key
    assert [e.event for e in parse("sendcloud", body, headers, secret=SECRET)] == ["request"]


def test_a_hard_bounce_carries_its_reason_and_json_works(receiver):
    sandbox = _sandbox("aurorasendcloud")
    try:
        sandbox.send_webhooks(receiver.url, secret=SECRET, encoding="json")
        sandbox.set_outcome("bounced", sub_status=406)
        sandbox.provider().send(_message("gone@example.org"))
        assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    finally:
        sandbox.stop()
    assert {h["Content-Type"] for h, _ in receiver.received} == {"application/json"}
    bounce = [e for e in _events("aurorasendcloud", receiver) if e.type == EventType.BOUNCED]
    assert len(bounce) == 1
    assert bounce[0].event == "invalid"
    assert bounce[0].reason == BounceReason.NO_SUCH_USER


def test_advance_posts_only_the_new_steps(receiver):
    sandbox = _sandbox("sendcloud")
    try:
        poster = sandbox.send_webhooks(receiver.url, secret=SECRET)
        result = sandbox.provider().send(_message("ann@example.org"))
        assert poster.flush()
        receiver.received.clear()
        sandbox.advance(result.message_ids[0], "clicked")
        assert poster.flush()
        statuses = sandbox.provider().status(result.message_ids)
    finally:
        sandbox.stop()
    events = _events("sendcloud", receiver)
    assert [e.type for e in events] == [EventType.OPENED, EventType.CLICKED]
    assert events[1].url and events[1].url.startswith("https://")
    # SendCloud's status records know no engagement: a clicked message reads delivered
    assert [(s.message_id, s.state) for s in statuses] == [
        (result.message_ids[0], DeliveryState.DELIVERED)
    ]
    assert all(p.status == 200 for p in poster.posted)


def test_cloudmails_carries_the_shared_secret_as_basic_auth(receiver):
    sandbox = _sandbox("cloudmails")
    try:
        sandbox.send_webhooks(receiver.url, secret=SECRET)
        sandbox.provider().send(_message("ann@example.org"))
        assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    finally:
        sandbox.stop()
    assert len(receiver.received) == 1  # CloudMails reports no queued event: delivered only
    headers, body = receiver.received[0]
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(token).decode().endswith(":" + SECRET)
    (event,) = parse("cloudmails", body, headers, secret=SECRET)
    assert event.type == EventType.DELIVERED and event.recipient == "ann@example.org"
    with pytest.raises(WebhookVerificationError, match="secret"):
        parse("cloudmails", body, headers, secret="another-secret")


def test_advance_shows_in_counters_where_the_status_has_them():
    sandbox = _sandbox("cloudmails")
    try:
        provider = sandbox.provider()
        result = provider.send(_message("ann@example.org"))
        sandbox.advance(result.message_ids[0], "clicked")
        (status,) = provider.status(result.message_ids)
        with pytest.raises(ValidationError):
            sandbox.advance("no-such-id", "delivered")
    finally:
        sandbox.stop()
    assert status.state == DeliveryState.CLICKED


def test_a_receiver_that_is_down_loses_events_without_failing_sends():
    sandbox = _sandbox("sendcloud")
    try:
        # port 9 (discard): nothing listens there on a test machine, so connecting is refused
        poster = sandbox.send_webhooks("http://127.0.0.1:9/hooks", secret=SECRET)
        result = sandbox.provider().send(_message("ann@example.org"))
        assert poster.flush(timeout=20)
    finally:
        sandbox.stop()
    assert result.message_ids
    assert [p.status for p in poster.posted] == [None, None]


def test_the_secret_stays_out_of_reprs(receiver):
    sandbox = _sandbox("sendcloud")
    try:
        poster = sandbox.send_webhooks(receiver.url, secret=SECRET)
        assert SECRET not in repr(poster) and SECRET not in repr(sandbox)
    finally:
        sandbox.stop()


URL_SECRET = "url-secret-4711"


@pytest.mark.parametrize("up", [True, False], ids=["receiver-up", "receiver-down"])
def test_a_secret_in_the_receiver_url_stays_out_of_the_logs(receiver, caplog, up):
    """A receiver URL may carry its own secret (``?secret=``, ``user:password@``): the
    poster's records (and urllib3's, at DEBUG) name the URL without it."""
    caplog.set_level(logging.DEBUG)  # the root logger: mailspec's records and urllib3's
    port = receiver.server_address[1] if up else 9  # 9: nothing listens, refused
    url = f"http://hooks:{URL_SECRET}-pw@127.0.0.1:{port}/hooks?secret={URL_SECRET}&v=1"
    sandbox = _sandbox("sendcloud")
    try:
        poster = sandbox.send_webhooks(url, secret=SECRET)
        sandbox.provider().send(_message("ann@example.org"))
        assert poster.flush(timeout=20)
        assert URL_SECRET not in repr(poster)
    finally:
        sandbox.stop()
    messages = [record.getMessage() for record in caplog.records]
    assert messages  # there were records to leak into
    assert not [m for m in messages if URL_SECRET in m]
    if up:
        assert [p.status for p in poster.posted] == [200, 200]
    else:
        assert f"webhook to http://127.0.0.1:{port}/hooks failed: " in "\n".join(messages)
