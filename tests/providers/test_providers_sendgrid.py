"""Twilio SendGrid on the wire (spec/sendgrid.yaml): the v3 Mail Send JSON ("SendGrid v3
API: Mail Send") over real HTTP on 127.0.0.1, its answers and refusals, the Email
Activity status, the provider URL, the sandbox, and the signed Event Webhook."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from providers_support import message, only_request
from pytest_httpserver import HTTPServer
from werkzeug import Response

import mailspec
from mailspec import (
    Attachment,
    AuthenticationError,
    DeliveryState,
    PermissionDeniedError,
    ProviderServerError,
    ProviderValidationError,
    RateLimitError,
    UnsupportedOperation,
    ValidationError,
    WebhookVerificationError,
)
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import EventType
from mailspec.webhooks import ReplayGuard, parse

SEND = "/v3/mail/send"
KEY = "SG.test-key.secret"


@pytest.fixture
def sendgrid(httpserver: HTTPServer) -> Any:
    return mailspec.provider("sendgrid", api_key=KEY, base_url=httpserver.url_for("/"), timeout=5)


def accepted(httpserver: HTTPServer, message_id: str = "Zk9pqN5wQbexBDtPLD2C1A") -> None:
    """SendGrid v3 API: Mail Send, Responses: 202, an empty body, the id in X-Message-Id."""
    httpserver.expect_request(SEND, method="POST").respond_with_response(
        Response(b"", status=202, headers={"X-Message-Id": message_id})
    )


def body(httpserver: HTTPServer) -> Any:
    return json.loads(only_request(httpserver).get_data())


# --- send ---------------------------------------------------------------------------


def test_every_message_field_reaches_its_documented_place(httpserver, sendgrid):
    accepted(httpserver)
    result = sendgrid.send(
        message(
            from_email="Shop <orders@shop.example>",
            to=['"Lee, Ann" <ann@example.org>', "bob@example.org"],
            cc=["Carl Ng <carl@example.org>"],
            bcc=["dee@example.org"],
            reply_to=["Help Desk <help@shop.example>", "ops@shop.example"],
            text="It ships today.",
            html="<p>It ships today.</p>",
            headers={"X-Order": "1042"},
            attachments=[
                Attachment("invoice.pdf", b"%PDF-1.4", "application/pdf"),
                Attachment("logo.png", b"\x89PNG", "image/png", "logo@shop.example"),
            ],
            tags=["order", "eu"],
            metadata={"user_id": "42"},
            send_at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
            track_opens=True,
            track_clicks=False,
        )
    )
    request = only_request(httpserver)
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "personalizations": [
            {
                "to": [
                    {"email": "ann@example.org", "name": "Lee, Ann"},
                    {"email": "bob@example.org"},
                ],
                "cc": [{"email": "carl@example.org", "name": "Carl Ng"}],
                "bcc": [{"email": "dee@example.org"}],
            }
        ],
        "from": {"email": "orders@shop.example", "name": "Shop"},
        "reply_to_list": [
            {"email": "help@shop.example", "name": "Help Desk"},
            {"email": "ops@shop.example"},
        ],
        "subject": "Your order",
        # "in the order text/plain, text/html" (SendGrid v3 API: Mail Send, content)
        "content": [
            {"type": "text/plain", "value": "It ships today."},
            {"type": "text/html", "value": "<p>It ships today.</p>"},
        ],
        "headers": {"X-Order": "1042"},
        "attachments": [
            {
                "content": base64.b64encode(b"%PDF-1.4").decode(),
                "type": "application/pdf",
                "filename": "invoice.pdf",
            },
            {
                "content": base64.b64encode(b"\x89PNG").decode(),
                "type": "image/png",
                "filename": "logo.png",
                "content_id": "logo@shop.example",
                "disposition": "inline",
            },
        ],
        "categories": ["order", "eu"],
        "custom_args": {"user_id": "42"},
        "send_at": int(datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp()),
        "tracking_settings": {
            "open_tracking": {"enable": True},
            "click_tracking": {"enable": False},
        },
    }
    assert result.provider == "sendgrid"
    assert result.message_ids == ["Zk9pqN5wQbexBDtPLD2C1A"]


@pytest.mark.parametrize("name", ["Café Zoë", "=?utf-8?q?x?=", 'Say "hi"'])
def test_a_display_name_is_sent_as_given_in_its_object(httpserver, sendgrid, name):
    """No header encoding in JSON: the name travels as written."""
    accepted(httpserver)
    sendgrid.send(message(from_name=name))
    assert body(httpserver)["from"] == {"email": "noreply@example.com", "name": name}


@pytest.mark.parametrize(
    ("fields", "content"),
    [
        ({"html": "<p>Hi</p>"}, [{"type": "text/html", "value": "<p>Hi</p>"}]),
        ({"html": None, "text": "Hi"}, [{"type": "text/plain", "value": "Hi"}]),
    ],
)
def test_one_body_alone_is_the_only_content(httpserver, sendgrid, fields, content):
    accepted(httpserver)
    sendgrid.send(message(**fields))
    assert body(httpserver)["content"] == content


def test_a_template_with_variables_needs_no_content(httpserver, sendgrid):
    accepted(httpserver)
    sendgrid.send(
        mailspec.Message(
            from_email="noreply@example.com",
            to=["ann@example.org"],
            template="d-13b8f94fbcae4ec6b75270d6cb59f932",
            variables={"name": "Ann", "order": "1042"},
        )
    )
    assert body(httpserver) == {
        "personalizations": [
            {
                "to": [{"email": "ann@example.org"}],
                "dynamic_template_data": {"name": "Ann", "order": "1042"},
            }
        ],
        "from": {"email": "noreply@example.com"},
        "template_id": "d-13b8f94fbcae4ec6b75270d6cb59f932",
    }


def test_what_the_spec_refuses_is_refused_before_io(httpserver, sendgrid):
    with pytest.raises(ValidationError, match="at most 10"):  # categories: maxItems 10
        sendgrid.send(message(tags=[f"t{i}" for i in range(11)]))
    with pytest.raises(UnsupportedOperation):  # one personalization: no per-recipient values
        sendgrid.send(message(recipient_variables={"ann@example.org": {"name": "Ann"}}))
    with pytest.raises(ValidationError):  # no content and no template
        sendgrid.send(message(html=None))
    assert httpserver.log == []


# --- answers --------------------------------------------------------------------------


def _error(status: int, text: str, **headers: str) -> Response:
    document = {"errors": [{"field": None, "message": text, "help": None}]}
    return Response(
        json.dumps(document), status=status, headers=headers, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (400, ProviderValidationError, False),
        (401, AuthenticationError, False),
        (403, PermissionDeniedError, False),
        (413, ProviderValidationError, False),
        (429, RateLimitError, True),
        (500, ProviderServerError, True),
        (503, ProviderServerError, True),
    ],
)
def test_error_answers_raise_their_category(httpserver, sendgrid, status, error, retryable):
    httpserver.expect_request(SEND).respond_with_response(_error(status, "nope"))
    with pytest.raises(error) as caught:
        sendgrid.send(message())
    assert caught.value.http_status == status
    assert caught.value.retryable is retryable
    assert "nope" in str(caught.value)  # errors[0].message
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_rate_limit_reads_retry_after_where_given(httpserver, sendgrid):
    """SendGrid v3 API: Rate Limits documents X-RateLimit-Limit/Remaining/Reset on a 429;
    mailspec reads Retry-After (seconds) only: without it, no wait is claimed."""
    httpserver.expect_oneshot_request(SEND).respond_with_response(
        _error(
            429,
            "too many requests",
            **{
                "X-RateLimit-Limit": "150",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "1392815263",
            },
        )
    )
    httpserver.expect_oneshot_request(SEND).respond_with_response(
        _error(429, "too many requests", **{"Retry-After": "7"})
    )
    with pytest.raises(RateLimitError) as first:
        sendgrid.send(message())
    assert first.value.retry_after is None
    with pytest.raises(RateLimitError) as second:
        sendgrid.send(message())
    assert second.value.retry_after == 7.0


def test_a_202_without_x_message_id_yields_no_id(httpserver, sendgrid):
    httpserver.expect_request(SEND).respond_with_response(Response(b"", status=202))
    assert sendgrid.send(message()).message_ids == []


# --- status ---------------------------------------------------------------------------


def test_status_reads_the_email_activity_summary(httpserver, sendgrid):
    """SendGrid v3 API: Email Activity, GET /v3/messages/{msg_id}."""
    msg_id = "Zk9pqN5wQbexBDtPLD2C1A.filter0001p1iad2-1-1-1"
    httpserver.expect_request(f"/v3/messages/{msg_id}", method="GET").respond_with_json(
        {
            "from_email": "from@test.com",
            "msg_id": msg_id,
            "subject": "something profound",
            "to_email": "to@test.com",
            "status": "delivered",
            "opens_count": 1,
            "clicks_count": 0,
            "last_event_time": "2017-10-13T18:56:21Z",
        }
    )
    (status,) = sendgrid.status([msg_id])
    assert only_request(httpserver).headers["Authorization"] == f"Bearer {KEY}"
    assert (status.message_id, status.recipient, status.state) == (
        msg_id,
        "to@test.com",
        DeliveryState.OPENED,
    )


# --- provider URL ---------------------------------------------------------------------


def test_the_provider_url_carries_the_api_key(httpserver):
    accepted(httpserver)
    provider = mailspec.provider_from_url(f"sendgrid://{KEY}@?base_url={httpserver.url_for('/')}")
    provider.send(message())
    assert only_request(httpserver).headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(provider)
    default = mailspec.provider_from_url(f"sendgrid://{KEY}@")
    assert default.client.base_url == "https://api.sendgrid.com/"


# --- sandbox --------------------------------------------------------------------------


def test_the_sandbox_takes_mailspecs_sends_and_reads_them_back():
    with SandboxServer("sendgrid") as sandbox:
        result = sandbox.provider().send(
            message(
                to=["Ann <ann@example.org>", "bob@example.org"],
                cc=["carl@example.org"],
                text="Hi",
                attachments=[Attachment("l.png", b"PNG", "image/png", "logo@x")],
                tags=["a"],
                metadata={"k": "v"},
                track_clicks=False,
            )
        )
        assert len(result.message_ids) == 1
        rows = sandbox.accepted
        assert [r.recipient for r in rows] == ["ann@example.org", "bob@example.org"]
        params = rows[0].params
        assert params["to"] == ["Ann <ann@example.org>", "bob@example.org"]
        assert params["text"] == "Hi" and params["html"] == "<p>Hi</p>"
        assert params["attachments"][0].content_id == "logo@x"
        assert sandbox.provider().status(result.message_ids)[0].state in (
            DeliveryState.DELIVERED,
            DeliveryState.SENDING,
            DeliveryState.QUEUED,
        )


def _post(sandbox: SandboxServer, document: Any, key: str | None = None) -> Any:
    key = key or sandbox.credentials["api_key"]
    return urllib3.request(
        "POST",
        sandbox.base_url.rstrip("/") + SEND,
        body=json.dumps(document).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


GOOD = {
    "personalizations": [{"to": [{"email": "ann@example.org", "name": "Ann"}]}],
    "from": {"email": "shop@example.com"},
    "subject": "Hi",
    "content": [{"type": "text/plain", "value": "Hi"}],
}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, 202),
        ({"from": "shop@example.com"}, 400),  # a string where an {email, name} object goes
        ({"personalizations": [{"to": ["ann@example.org"]}]}, 400),
        ({"personalizations": [{"to": [{"email": "a@x.org"}], "subject": "x"}]}, 400),
        ({"content": [{"type": "text/calendar", "value": "x"}]}, 400),
        ({"content": [{"type": "text/plain", "value": "x", "extra": 1}]}, 400),
        ({"attachments": [{"content": "UE5H", "filename": "l.png", "content_id": "c"}]}, 400),
        ({"personalizations": [{"to": [{"email": "not an address"}]}]}, 400),
        ({"categories": [f"c{i}" for i in range(11)]}, 400),
        ({"reply_to": {"email": "x@y.org"}}, 400),  # undeclared: reply_to_list is the place
        ({"mail_settings": {"sandbox_mode": {"enable": True}}}, 202),  # documented, declared
    ],
)
def test_the_sandbox_refuses_other_forms(change, status):
    with SandboxServer("sendgrid") as sandbox:
        answer = _post(sandbox, {**GOOD, **change})
        assert answer.status == status, answer.data
        if status == 202:  # SendGrid v3 API: Mail Send, Responses: 202, no body
            assert answer.data == b""
            assert answer.headers.get("X-Message-Id")
        else:  # SendGrid's error shape: {"errors": [{"message": ...}]}
            assert json.loads(answer.data)["errors"][0]["message"]


def test_the_sandbox_refuses_a_wrong_key():
    with SandboxServer("sendgrid") as sandbox:
        assert _post(sandbox, GOOD, key="SG.wrong").status == 401


# --- webhooks -------------------------------------------------------------------------


def _keys() -> tuple[str, str]:
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


def test_sandbox_events_are_signed_lists_that_verify_and_refuse_forgery(receiver):
    private, public = _keys()
    _, other_public = _keys()
    with SandboxServer("sendgrid") as sandbox:
        sandbox.send_webhooks(receiver.url, secret=private)
        result = sandbox.provider().send(message())
        assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    assert receiver.received
    guard = ReplayGuard()
    events = []
    for headers, data in receiver.received:
        assert isinstance(json.loads(data), list)  # batch: true, a JSON array
        assert "X-Twilio-Email-Event-Webhook-Signature" in headers
        events += parse("sendgrid", data, headers, secret=public, replay=guard)
    assert {e.type for e in events} >= {EventType.QUEUED, EventType.DELIVERED}
    assert {e.recipient for e in events} == {"ann@example.org"}
    assert {e.event for e in events} >= {"processed", "delivered"}
    assert result.message_ids
    headers, data = receiver.received[0]
    # replayed: the same signed request again
    with pytest.raises(WebhookVerificationError):
        parse("sendgrid", data, headers, secret=public, replay=guard)
    # forged: another key, a changed body, a changed timestamp
    with pytest.raises(WebhookVerificationError):
        parse("sendgrid", data, headers, secret=other_public, replay=ReplayGuard())
    with pytest.raises(WebhookVerificationError):
        parse(
            "sendgrid", data.replace(b"ann@", b"eve@"), headers, secret=public, replay=ReplayGuard()
        )
    moved = dict(headers)
    stamp = "X-Twilio-Email-Event-Webhook-Timestamp"
    moved[stamp] = str(int(moved[stamp]) + 1)
    with pytest.raises(WebhookVerificationError):
        parse("sendgrid", data, moved, secret=public, replay=ReplayGuard())
    # stale: read an hour later
    with pytest.raises(WebhookVerificationError):
        parse(
            "sendgrid",
            data,
            headers,
            secret=public,
            replay=ReplayGuard(),
            now=int(time.time()) + 3600,
        )


def test_a_documented_bounce_event_reads_its_fields():
    """SendGrid Event Webhook Reference, bounce: a "blocked" bounce is soft."""
    events = [
        {
            "email": "ann@example.org",
            "timestamp": 1513299569,
            "event": "bounce",
            "type": "blocked",
            "reason": "500 unknown recipient",
            "status": "5.0.0",
            "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        },
        {
            "email": "ann@example.org",
            "timestamp": 1513299569,
            "event": "bounce",
            "type": "bounce",
            "reason": "500 unknown recipient",
        },
        {
            "email": "ann@example.org",
            "timestamp": 1513299569,
            "event": "click",
            "url": "https://example.com/a",
            "useragent": "Mozilla/5.0",
        },
    ]
    parsed = parse(
        "sendgrid", json.dumps(events).encode(), {"Content-Type": "application/json"}, verify=False
    )
    assert [e.type for e in parsed] == [
        EventType.SOFT_BOUNCED,
        EventType.BOUNCED,
        EventType.CLICKED,
    ]
    assert parsed[0].message_id == "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"
    assert parsed[0].description == "500 unknown recipient"
    assert (parsed[2].url, parsed[2].user_agent) == ("https://example.com/a", "Mozilla/5.0")


def test_provider_options_merge_into_nested_settings(httpserver, sendgrid):
    """Options join the request object by object (anymail's esp_extra): the message's
    own tracking stays beside an option's."""
    accepted(httpserver)
    options = {
        "tracking_settings": {"subscription_tracking": {"enable": False}},
        "mail_settings": {"sandbox_mode": {"enable": True}},
    }
    sendgrid.send(message(track_opens=True, provider_options={"sendgrid": options}))
    sent = body(httpserver)
    assert sent["tracking_settings"] == {
        "open_tracking": {"enable": True},
        "subscription_tracking": {"enable": False},
    }
    assert sent["mail_settings"] == {"sandbox_mode": {"enable": True}}


def test_failover_past_a_sendgrid_that_is_down_and_into_one_that_is_rate_limited():
    """Over real HTTP to two sandboxes: SendGrid answering 500 moves the message on to
    CloudMails; CloudMails rate-limited moves it on to SendGrid."""
    from mailspec import Mailer
    from mailspec.sandbox import Fault, Sandbox

    fast = {"max_attempts": 3, "backoff": 0, "backoff_max": 0}
    with Sandbox(["sendgrid", "cloudmails"]) as sandbox:
        sendgrid, cloudmails = sandbox["sendgrid"], sandbox["cloudmails"]
        sendgrid.faults.queue(Fault.SERVER_ERROR, times=5)
        first = Mailer([sendgrid.provider(), cloudmails.provider()], **fast).send(message())
        assert first.provider == "cloudmails"
        assert first.attempts[0].provider == "sendgrid"
        sendgrid.faults.clear()
        cloudmails.faults.queue(Fault.RATE_LIMIT, times=5)
        second = Mailer([cloudmails.provider(), sendgrid.provider()], **fast).send(message())
        assert second.provider == "sendgrid" and second.message_ids
        assert [r.recipient for r in sendgrid.accepted] == ["ann@example.org"]


def test_a_text_body_that_is_not_utf8_is_a_validation_error():
    """Found by the API fuzz once SendGrid's spec joined: a str body with a lone
    surrogate is the caller's mistake, named, not a UnicodeEncodeError."""
    with pytest.raises(ValidationError, match="UTF-8") as caught:
        parse(
            "sendgrid", '[{"event": "\ud800"}]', {"Content-Type": "application/json"}, verify=False
        )
    assert caught.value.field == "body"
