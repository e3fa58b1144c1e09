"""Resend on the wire (spec/resend.yaml): JSON bodies with a bearer key, every Message
field the API has a place for, the Idempotency-Key header, errors told apart by the
body's `name`, the batch and status operations, the provider URL, the sandbox, and
Svix-signed webhooks.

Sources: "Resend API Reference: Send Email" (body parameters and headers), "Resend API
Reference: Errors", "Resend API Reference: Rate Limit", "Resend API Reference: Send Batch
Emails", "Resend API Reference: Retrieve Email", "Resend: Verify Webhooks Requests";
tags and metadata as django-anymail's Resend backend sends them (X-Tags, X-Metadata)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from providers_support import only_request
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import (
    Attachment,
    AuthenticationError,
    ConflictError,
    DeliveryState,
    Message,
    PermissionDeniedError,
    ProviderServerError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    UnsupportedOperation,
    ValidationError,
    WebhookVerificationError,
)
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import EventType
from mailspec.webhooks import ReplayGuard, parse

KEY = "re_test_123456789"
SEND = "/emails"
ANSWER = {"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}
# a Svix signing secret as Resend shows it: whsec_ and 24 random bytes in base64
WHSEC = "whsec_" + base64.b64encode(b"resend-sandbox-signing!!").decode()


@pytest.fixture
def resend(httpserver: HTTPServer) -> Any:
    return mailspec.provider("resend", api_key=KEY, base_url=httpserver.url_for("/"), timeout=5)


def body(request: Any) -> Any:
    return json.loads(request.get_data())


def simple(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "from_email": "onboarding@resend.dev",
        "to": ["delivered@resend.dev"],
        "subject": "hello world",
        "html": "<p>it works!</p>",
    }
    fields.update(overrides)
    return Message(**fields)


# --- the send request -------------------------------------------------------------


def test_the_documented_send_request(httpserver, resend):
    """Resend API Reference: Send Email, its example: from "Acme <onboarding@resend.dev>",
    to an array, subject and html; the answer's id is the message id."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(ANSWER)
    result = resend.send(simple(from_name="Acme"))
    request = only_request(httpserver)
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert "Idempotency-Key" not in request.headers
    assert body(request) == {
        "from": "Acme <onboarding@resend.dev>",
        "to": ["delivered@resend.dev"],
        "subject": "hello world",
        "html": "<p>it works!</p>",
    }
    assert result.provider == "resend" and result.message_ids == [ANSWER["id"]]


def test_every_field_the_api_takes(httpserver, resend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(ANSWER)
    pdf = Attachment(filename="invoice.pdf", content=b"%PDF-1.4 x", content_type="application/pdf")
    logo = Attachment(
        filename="logo.png", content=b"\x89PNG...", content_type="image/png", content_id="logo"
    )
    resend.send(
        Message(
            from_email="orders@shop.example",
            from_name="Shop, Inc.",
            to=["ann@example.org", "bob@example.org"],
            cc=["cc@example.org"],
            bcc=["bcc@example.org"],
            reply_to=["help@shop.example", "desk@shop.example"],
            display_names={"ann@example.org": "Ann Smith", "cc@example.org": "Carl"},
            subject="Your order",
            html='<p>Hi <img src="cid:logo"></p>',
            text="Hi",
            headers={"X-Order": "7"},
            attachments=[pdf, logo],
            tags=["order", "eu"],
            metadata={"order_id": "7", "tier": "gold"},
            send_at=datetime(2026, 12, 24, 9, 30, tzinfo=UTC),
            idempotency_key="order-7/confirmation",
        )
    )
    request = only_request(httpserver)
    assert request.headers["Idempotency-Key"] == "order-7/confirmation"
    sent = body(request)
    assert sent.pop("headers") == {
        "X-Order": "7",
        "X-Tags": '["order","eu"]',
        "X-Metadata": '{"order_id":"7","tier":"gold"}',
    }
    assert sent == {
        "from": '"Shop, Inc." <orders@shop.example>',
        "to": ["Ann Smith <ann@example.org>", "bob@example.org"],
        "cc": ["Carl <cc@example.org>"],
        "bcc": ["bcc@example.org"],
        "reply_to": ["help@shop.example", "desk@shop.example"],
        "subject": "Your order",
        "html": '<p>Hi <img src="cid:logo"></p>',
        "text": "Hi",
        "attachments": [
            {
                "filename": "invoice.pdf",
                "content": base64.b64encode(b"%PDF-1.4 x").decode(),
                "content_type": "application/pdf",
            },
            {
                "filename": "logo.png",
                "content": base64.b64encode(b"\x89PNG...").decode(),
                "content_type": "image/png",
                "content_id": "logo",
            },
        ],
        "scheduled_at": "2026-12-24T09:30:00+00:00",
    }


def test_a_stored_template_with_its_variables(httpserver, resend):
    """Resend API Reference: Send Email, Body Parameters: template {id, variables}; no
    html or text beside it."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(ANSWER)
    resend.send(
        Message(
            from_email="orders@shop.example",
            to=["ann@example.org"],
            subject="Shipped",
            template="order-shipped",
            variables={"order_id": "7", "name": "Ann"},
        )
    )
    assert body(only_request(httpserver)) == {
        "from": "orders@shop.example",
        "to": ["ann@example.org"],
        "subject": "Shipped",
        "template": {"id": "order-shipped", "variables": {"order_id": "7", "name": "Ann"}},
    }


def test_a_template_may_give_the_subject(httpserver, resend):
    """Resend API Reference: Send Email, template: the payload's subject takes precedence
    over the template's default, so a template message needs none of its own."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(ANSWER)
    resend.send(Message(from_email="orders@shop.example", to=["a@example.org"], template="t1"))
    assert body(only_request(httpserver)) == {
        "from": "orders@shop.example",
        "to": ["a@example.org"],
        "template": {"id": "t1"},
    }


def test_a_header_named_like_the_tags_header_is_refused_before_io(httpserver, resend):
    with pytest.raises(ValidationError, match="X-Tags"):
        resend.send(simple(headers={"x-tags": "mine"}, tags=["order"]))
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": [f"r{i}@example.org" for i in range(51)]}, "to"),
        ({"html": None}, None),
        ({"subject": None}, "subject"),
    ],
    ids=["51 recipients", "no body", "no subject"],
)
def test_what_the_api_refuses_is_refused_before_io(httpserver, resend, overrides, field):
    with pytest.raises(ValidationError) as info:
        resend.send(simple(**overrides))
    if field is not None:
        assert field in str(info.value.field)
    assert httpserver.log == []


def test_an_idempotency_key_longer_than_resend_takes_is_refused(httpserver, resend):
    """Resend: Idempotency Keys: up to 256 characters; Message keys stop at 128, so the
    client's own check is the stricter one and nothing is sent."""
    with pytest.raises(ValidationError, match="idempotency_key"):
        resend.send(simple(idempotency_key="k" * 300))
    assert httpserver.log == []


def test_track_flags_are_a_provider_rule(httpserver, resend):
    """Resend sets open and click tracking per domain, not per email: no place for them."""
    with pytest.raises(UnsupportedOperation):
        resend.send(simple(track_opens=True))
    assert httpserver.log == []


# --- answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name", "error", "retry"),
    [
        (400, "validation_error", ProviderValidationError, False),
        (400, "invalid_idempotency_key", ProviderValidationError, False),
        (401, "missing_api_key", AuthenticationError, False),
        (401, "validation_error", AuthenticationError, False),  # "API key is invalid"
        (401, "restricted_api_key", PermissionDeniedError, False),
        (403, "invalid_api_key", AuthenticationError, False),
        (403, "validation_error", PermissionDeniedError, False),  # domain not verified
        (409, "invalid_idempotent_request", ConflictError, False),
        (422, "invalid_from_address", ProviderValidationError, False),
        (451, "security_error", PermissionDeniedError, False),
        (500, "application_error", ProviderServerError, True),
    ],
)
def test_errors_map_by_status_and_name(httpserver, resend, status, name, error, retry):
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"statusCode": status, "name": name, "message": "documented text"}, status=status
    )
    with pytest.raises(error) as info:
        resend.send(simple())
    assert info.value.http_status == status
    assert info.value.retryable is retry
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_a_rate_limit_reads_retry_after(httpserver, resend):
    """Resend API Reference: Rate Limit: a 429 with retry-after (and the ratelimit-*
    headers)."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests."},
        status=429,
        headers={"retry-after": "2", "ratelimit-limit": "2", "ratelimit-remaining": "0"},
    )
    with pytest.raises(RateLimitError) as info:
        resend.send(simple())
    assert info.value.retry_after == 2.0 and info.value.retryable


def test_a_spent_daily_quota_is_a_quota_error_not_a_rate_limit(httpserver, resend):
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"statusCode": 429, "name": "daily_quota_exceeded", "message": "quota"}, status=429
    )
    with pytest.raises(QuotaExceededError) as info:
        resend.send(simple())
    assert not isinstance(info.value, RateLimitError)


def test_the_batch_operation_sends_a_top_level_array(httpserver, resend):
    """Resend API Reference: Send Batch Emails: a JSON array; the answer's data[].id."""
    httpserver.expect_request("/emails/batch", method="POST").respond_with_json(
        {"data": [{"id": "ae2014de"}, {"id": "faccb7a5"}]}
    )
    emails = [
        {"from": "a@shop.example", "to": ["x@example.org"], "subject": "1", "html": "<p>1</p>"},
        {"from": "a@shop.example", "to": ["y@example.org"], "subject": "2", "html": "<p>2</p>"},
    ]
    request_type = resend.client.request_types["send_batch"]
    answer = resend.client.send_batch(request_type(emails=emails, idempotency_key="batch-1"))
    request = only_request(httpserver)
    assert body(request) == emails
    assert request.headers["Idempotency-Key"] == "batch-1"
    assert [item.email_id for item in answer.data] == ["ae2014de", "faccb7a5"]


def test_status_reads_the_last_event(httpserver, resend):
    """Resend API Reference: Retrieve Email: GET /emails/{id}, `last_event`."""
    httpserver.expect_request("/emails/4ef9a417", method="GET").respond_with_json(
        {
            "object": "email",
            "id": "4ef9a417",
            "to": ["delivered@resend.dev"],
            "from": "Acme <onboarding@resend.dev>",
            "created_at": "2023-04-03T22:13:42.674981+00:00",
            "subject": "Hello World",
            "html": "Congrats",
            "text": None,
            "bcc": [None],
            "cc": [None],
            "reply_to": [None],
            "last_event": "bounced",
        }
    )
    (status,) = resend.status(["4ef9a417"])
    assert status.message_id == "4ef9a417"
    assert status.state == DeliveryState.BOUNCED


# --- provider URL ----------------------------------------------------------------


def test_the_provider_url():
    provider = mailspec.provider_from_url(f"resend://{KEY}@")
    assert provider.name == "resend"
    assert provider.client.base_url == "https://api.resend.com/"
    assert KEY not in repr(provider)


# --- the sandbox -----------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer("resend").start()
    yield server
    server.stop()


def test_the_sandbox_takes_mailspecs_sends(sandbox):
    sent = simple(
        cc=["Carl <cc@example.org>"],
        headers={"X-Order": "7"},
        attachments=[Attachment(filename="a.pdf", content=b"%PDF", content_type="application/pdf")],
        tags=["order"],
        metadata={"order_id": "7"},
        send_at=datetime(2026, 12, 24, 9, 30, tzinfo=UTC),
        idempotency_key="k-1",
    )
    result = sandbox.provider().send(sent)
    assert len(result.message_ids) == 1
    # a repeat of one Idempotency-Key (a header) within 24 hours is answered as the
    # first and sends nothing more
    assert sandbox.provider().send(sent).message_ids == result.message_ids
    assert len(sandbox.emulator.accepted) == 1
    other = sandbox.provider().send(simple(idempotency_key="k-2"))
    assert other.message_ids != result.message_ids


def test_the_sandbox_refuses_wrong_forms(sandbox):
    import urllib.request

    def post(payload: Any, headers: dict[str, str]) -> int:
        request = urllib.request.Request(
            sandbox.base_url.rstrip("/") + "/emails",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    creds = sandbox.emulator.credentials
    good = {"Authorization": f"Bearer {creds['api_key']}"}
    fine = {"from": "a@shop.example", "to": ["x@example.org"], "subject": "s", "html": "h"}
    assert post(fine, good) == 200
    # the key in a header of its own, not as a bearer token
    assert post(fine, {"api-key": creds["api_key"]}) == 401
    # no subject; a key the API does not have; the idempotency key in the body
    assert post({k: v for k, v in fine.items() if k != "subject"}, good) in (400, 422)
    assert post({**fine, "Subject": "s"}, good) in (400, 422)
    assert post({**fine, "Idempotency-Key": "k"}, good) in (400, 422)


@pytest.mark.parametrize(
    ("address", "state"),
    [
        ("delivered@resend.dev", DeliveryState.DELIVERED),
        ("bounced@resend.dev", DeliveryState.BOUNCED),
        ("bounced+signup@resend.dev", DeliveryState.BOUNCED),
        ("complained@resend.dev", DeliveryState.COMPLAINED),
    ],
)
def test_the_documented_test_addresses(sandbox, address, state):
    """Resend: Send Test Emails: each address simulates its event, with any +label."""
    provider = sandbox.provider()
    sent = provider.send(simple(to=[address]))
    (status,) = provider.status(sent.message_ids)
    assert status.state == state


# --- webhooks --------------------------------------------------------------------


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((dict(self.headers.items()), data))
        self.send_response(200)
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


def _posted(sandbox: SandboxServer, receiver: _Receiver, *to: str) -> list[tuple[dict, bytes]]:
    sandbox.send_webhooks(receiver.url, secret=WHSEC)
    sandbox.provider().send(simple(to=list(to)))
    assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    return receiver.received


def test_sandbox_events_are_svix_signed_and_verify(sandbox, receiver):
    # bounced@resend.dev bounces as Resend documents it (the spec's sandbox section)
    posted = _posted(sandbox, receiver, "delivered@resend.dev", "bounced@resend.dev")
    assert posted
    events = []
    for headers, data in posted:
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower["svix-signature"].startswith("v1,")
        # the signature is Svix's, recomputed here by hand from the published recipe
        key = base64.b64decode(WHSEC.removeprefix("whsec_"))
        signed = f"{lower['svix-id']}.{lower['svix-timestamp']}.".encode() + data
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        assert f"v1,{expected}" in lower["svix-signature"].split(" ")
        assert json.loads(data)["type"].startswith("email.")
        events += parse("resend", data, headers, secret=WHSEC)
    types = {(e.recipient, e.type) for e in events}
    assert ("delivered@resend.dev", EventType.DELIVERED) in types
    assert ("bounced@resend.dev", EventType.BOUNCED) in types


def test_forged_replayed_and_stale_events_are_refused(sandbox, receiver):
    headers, data = _posted(sandbox, receiver, "delivered@resend.dev")[0]
    with pytest.raises(WebhookVerificationError):
        parse("resend", data, headers, secret="whsec_" + base64.b64encode(b"x" * 24).decode())
    with pytest.raises(WebhookVerificationError):
        parse("resend", data.replace(b"email.", b"email-"), headers, secret=WHSEC)
    guard = ReplayGuard()
    assert parse("resend", data, headers, secret=WHSEC, replay=guard)
    with pytest.raises(WebhookVerificationError):
        parse("resend", data, headers, secret=WHSEC, replay=guard)
    stamp = int({k.lower(): v for k, v in headers.items()}["svix-timestamp"])
    with pytest.raises(WebhookVerificationError):
        parse("resend", data, headers, secret=WHSEC, now=stamp + 3600)
    assert abs(stamp - time.time()) < 300


# --- failover --------------------------------------------------------------------


def test_a_throttled_resend_fails_over_and_the_key_goes_along():
    """Resend answers 429 rate_limit_exceeded (the sandbox's fault): the Mailer moves
    the message on to CloudMails; with Resend back, its next send carries the Mailer's
    idempotency key as the Idempotency-Key header."""
    from time_support import FakeClock

    from mailspec import Mailer
    from mailspec.sandbox import Sandbox

    clock = FakeClock()
    with Sandbox(["resend", "cloudmails"]) as running:
        running["resend"].faults.queue("rate_limit", times=1)
        providers = [running[name].provider(timeout=2.0) for name in ("resend", "cloudmails")]
        mailer = Mailer(providers, max_attempts=1, clock=clock, sleep=clock.sleep)
        first = mailer.send(simple(to=["ann@example.org"], subject="one"))
        assert first.provider == "cloudmails"
        assert [a.provider for a in first.attempts][:1] == ["resend"]
        assert running["resend"].accepted == []
        clock.advance(3600)  # past any pause the rate-limit answer asked for
        second = mailer.send(simple(to=["bob@example.org"], subject="two", idempotency_key="k-9"))
        assert second.provider == "resend"
        (row,) = running["resend"].accepted
        assert row.params["idempotency_key"] == "k-9"
