"""Each signature scheme end to end over real HTTP on 127.0.0.1: the sandbox's webhook
poster lays out and signs a provider-shaped spec's events as the spec says, and
:class:`~mailspec.webhooks.WebhookApp` (served by wsgiref) verifies and reads them.
A poster with the wrong secret is answered 401 and nothing is handed over."""

from __future__ import annotations

import base64
import datetime
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_webhooks_schemes import MAILGUN, POSTMARK, RESEND, SENDGRID, SES_SNS, token_spec
from webhooks_support import spec_with_webhooks

from mailspec.sandbox.emulator import Accepted, Outcome
from mailspec.sandbox.poster import WebhookPoster
from mailspec.spec_model import Spec
from mailspec.vocabulary import DeliveryState, EventType
from mailspec.webhooks import Event, ReplayGuard, WebhookApp


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A WebhookApp for ``spec`` behind wsgiref on a free port, on the real clock."""

    def __init__(self, spec: Spec, secret: str | None) -> None:
        self.received: list[Event] = []
        app = WebhookApp(spec, self.received.append, secret=secret, replay=ReplayGuard())
        self.server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _ecdsa_keys() -> tuple[str, str]:
    """A fresh P-256 key pair: the private key in PEM (the sandbox signs with it) and
    the public key as SendGrid shows its verification key (base64 DER)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(der).decode()


PRIVATE_PEM, PUBLIC_B64 = _ecdsa_keys()
_, OTHER_PUBLIC_B64 = _ecdsa_keys()
SVIX_KEY = "whsec_" + base64.b64encode(b"sandbox svix key, 24 bytes").decode()


@dataclass(frozen=True)
class Shape:
    id: str
    spec_yaml: str
    poster_secret: str  # what the sandbox signs with
    receiver_secret: str  # what the receiver verifies with
    wrong_secret: str  # a poster secret the receiver must refuse
    url_suffix: str = ""


SHAPES = [
    Shape("mailgun-hmac-in-payload", MAILGUN, "mg-key", "mg-key", "not-the-key"),
    Shape("resend-svix-headers", RESEND, SVIX_KEY, SVIX_KEY, "whsec_" + "QUFBQQ=="),
    Shape("sendgrid-ecdsa", SENDGRID, PRIVATE_PEM, PUBLIC_B64, _ecdsa_keys()[0]),
    Shape("postmark-basic-auth", POSTMARK, "hooks:pm-pass", "hooks:pm-pass", "hooks:guess"),
    Shape("token-header", token_spec("header:X-Webhook-Token"), "tk-1", "tk-1", "tk-2"),
    Shape("token-query", token_spec("query:key"), "tk-1", "tk-1", "tk-2"),
]


@pytest.fixture(params=SHAPES, ids=lambda s: s.id)
def shape(request: pytest.FixtureRequest) -> Shape:
    return request.param  # type: ignore[no-any-return]


def _row(state: DeliveryState) -> Accepted:
    return Accepted(
        message_id="msg-0001",
        operation="send",
        recipient="ann@example.org",
        params={},
        accepted_at=datetime.datetime.now(datetime.UTC),
        outcome=Outcome(state=state),
    )


def _post(spec: Spec, url: str, secret: str, state: DeliveryState) -> list[int | None]:
    poster = WebhookPoster(spec, url, secret=secret)
    try:
        poster.accepted(_row(state))
        assert poster.flush(10)
        return [p.status for p in poster.posted]
    finally:
        poster.close()


@pytest.fixture
def served(shape: Shape) -> Iterator[tuple[Spec, Receiver]]:
    spec = spec_with_webhooks(shape.spec_yaml)
    receiver = Receiver(spec, shape.receiver_secret)
    yield spec, receiver
    receiver.close()


def test_the_sandbox_signs_as_the_spec_says_and_the_receiver_verifies(
    shape: Shape, served: tuple[Spec, Receiver]
) -> None:
    spec, receiver = served
    statuses = _post(spec, receiver.url, shape.poster_secret, DeliveryState.CLICKED)
    assert statuses and set(statuses) == {200}, statuses
    types = [e.type for e in receiver.received]
    expected = [
        t
        for t in (EventType.DELIVERED, EventType.OPENED, EventType.CLICKED)
        if any(row.type == t for row in spec.webhooks.events.values())  # type: ignore[union-attr]
    ]
    assert types == expected
    for event in receiver.received:
        assert event.recipient == "ann@example.org", event.raw
        if spec.webhooks.fields.message_id:  # type: ignore[union-attr]
            assert event.message_id == "msg-0001"


def test_the_wrong_secret_is_answered_401_and_nothing_is_handed_over(
    shape: Shape, served: tuple[Spec, Receiver]
) -> None:
    spec, receiver = served
    statuses = _post(spec, receiver.url, shape.wrong_secret, DeliveryState.DELIVERED)
    assert statuses == [401]
    assert receiver.received == []


def test_the_sandbox_lays_a_click_out_by_the_event_types_own_paths() -> None:
    spec = spec_with_webhooks(POSTMARK)
    receiver = Receiver(spec, "pm-pass")
    try:
        _post(spec, receiver.url, "pm-pass", DeliveryState.CLICKED)
    finally:
        receiver.close()
    delivery, click = receiver.received[0].raw, receiver.received[-1].raw
    assert set(delivery) == {"RecordType", "MessageID", "Recipient", "DeliveredAt"}
    assert set(click) == {"RecordType", "MessageID", "Recipient", "ReceivedAt", "OriginalLink"}
    assert receiver.received[-1].url == "https://example.com/welcome"


def test_the_sandbox_posts_lists_for_a_batch_provider_and_envelopes_where_declared() -> None:
    sendgrid = spec_with_webhooks(SENDGRID)
    poster = WebhookPoster(sendgrid, "http://127.0.0.1:9/unused", secret=PRIVATE_PEM)
    try:
        body, headers, _ = poster._request(
            poster.payload("delivered", EventType.DELIVERED, _row(DeliveryState.DELIVERED))
        )
    finally:
        poster.close()
    assert body.startswith(b"[{") and "X-Twilio-Email-Event-Webhook-Signature" in headers
    ses = spec_with_webhooks(SES_SNS)
    poster = WebhookPoster(ses, "http://127.0.0.1:9/unused")
    try:
        body, _, _ = poster._request(
            poster.payload("Delivery", EventType.DELIVERED, _row(DeliveryState.DELIVERED))
        )
    finally:
        poster.close()
    assert body.startswith(b'{"Message":{"eventType":"Delivery"')


def test_the_sandbox_writes_the_refining_value_of_a_soft_bounce() -> None:
    spec = spec_with_webhooks(MAILGUN)
    receiver = Receiver(spec, "mg-key")
    try:
        assert _post(spec, receiver.url, "mg-key", DeliveryState.SOFT_BOUNCED) == [200]
    finally:
        receiver.close()
    (event,) = receiver.received
    assert (event.event, event.type) == ("failed", EventType.SOFT_BOUNCED)
    assert event.raw["event-data"]["severity"] == "temporary"
