"""Brevo on the wire (spec/brevo.yaml; Brevo API reference, Send a transactional email
and Get all your transactional email activity; Brevo API documentation, Key concepts,
Rate limit headers, Transactional webhooks, Secure webhook calls): JSON with the key in
`api-key`, address objects, errors by HTTP status and error name, the events report as
status, the sandbox, and basic-auth webhooks.

Real HTTP on 127.0.0.1 (pytest-httpserver, the sandbox, a local receiver); nothing of
mailspec is mocked.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3
from providers_support import message, only_request
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import (
    Attachment,
    AuthenticationError,
    DeliveryState,
    NotFoundError,
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
from mailspec.webhooks import parse

SEND = "/v3/smtp/email"
EVENTS = "/v3/smtp/statistics/events"
MESSAGE_ID = "<201798300811.5787683@relay.domain.com>"


@pytest.fixture
def brevo(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "brevo", api_key="xkeysib-secret", base_url=httpserver.url_for("/v3/"), timeout=5
    )


def body(request: Any) -> Any:
    return json.loads(request.get_data())


def accept(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"messageId": MESSAGE_ID}, status=201
    )


def test_the_documented_send_goes_out_exactly(httpserver: HTTPServer, brevo: Any) -> None:
    """Brevo API documentation, Send transactional email: the curl example's body."""
    accept(httpserver)
    html = "<html><head></head><body><p>Hello,</p>This is my first transactional email sent from Brevo.</p></body></html>"
    result = brevo.send(
        mailspec.Message(
            from_email="Sender Alex <senderalex@example.com>",
            to=["John Doe <testmail@example.com>"],
            subject="Hello world",
            html=html,
        )
    )
    request = only_request(httpserver)
    assert (request.method, request.path) == ("POST", SEND)
    assert request.headers["api-key"] == "xkeysib-secret"
    assert "Authorization" not in request.headers
    assert request.headers["Content-Type"] == "application/json"
    assert body(request) == {
        "sender": {"name": "Sender Alex", "email": "senderalex@example.com"},
        "to": [{"email": "testmail@example.com", "name": "John Doe"}],
        "subject": "Hello world",
        "htmlContent": html,
    }
    assert result.provider == "brevo" and result.message_ids == [MESSAGE_ID]


def test_every_message_field_brevo_takes(httpserver: HTTPServer, brevo: Any) -> None:
    accept(httpserver)
    brevo.send(
        message(
            from_name="Shop, Inc.",
            to=["Ann Smith <ann@example.org>", "bob@example.org"],
            cc=["Zoë <zoe@example.org>"],
            bcc=["audit@example.com"],
            reply_to=["Help Desk <help@example.com>"],
            text="Hi",
            headers={"X-Order": "7", "List-Unsubscribe": "<mailto:u@example.com>"},
            tags=["order", "eu"],
            metadata={"order_id": "7", "cohort": "a"},
            attachments=[Attachment("invoice.pdf", b"%PDF-1.4", "application/pdf")],
            send_at=datetime(2026, 12, 24, 9, 30, tzinfo=UTC),
        )
    )
    assert body(only_request(httpserver)) == {
        "sender": {"email": "noreply@example.com", "name": "Shop, Inc."},
        "to": [{"email": "ann@example.org", "name": "Ann Smith"}, {"email": "bob@example.org"}],
        "cc": [{"email": "zoe@example.org", "name": "Zoë"}],
        "bcc": [{"email": "audit@example.com"}],
        "replyTo": {"email": "help@example.com", "name": "Help Desk"},
        "subject": "Your order",
        "htmlContent": "<p>Hi</p>",
        "textContent": "Hi",
        # metadata: django-anymail's convention, JSON text in X-Mailin-custom (ASSUMED)
        "headers": {
            "X-Order": "7",
            "List-Unsubscribe": "<mailto:u@example.com>",
            "X-Mailin-custom": '{"order_id":"7","cohort":"a"}',
        },
        "tags": ["order", "eu"],
        # Brevo reads the type from the name: no content type is sent
        "attachment": [{"name": "invoice.pdf", "content": "JVBERi0xLjQ="}],
        "scheduledAt": "2026-12-24T09:30:00+00:00",
    }


def test_a_stored_template_is_its_number_with_params(httpserver: HTTPServer, brevo: Any) -> None:
    accept(httpserver)
    brevo.send(
        mailspec.Message(
            from_email="noreply@example.com",
            to=["ann@example.org"],
            template="12",
            variables={"FNAME": "Joe", "LNAME": "Doe"},
        )
    )
    assert body(only_request(httpserver)) == {
        "sender": {"email": "noreply@example.com"},
        "to": [{"email": "ann@example.org"}],
        "templateId": 12,
        "params": {"FNAME": "Joe", "LNAME": "Doe"},
    }


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        # replyTo is one object (Brevo API reference, Send a transactional email)
        ({"reply_to": ["a@example.com", "b@example.com"]}, ValidationError, "reply_to"),
        # templateId is an integer: a template named by text has no place
        ({"template": "welcome", "html": None}, ValidationError, "template"),
        # metadata travels in X-Mailin-custom: a header of that name would be overwritten
        (
            {"headers": {"x-mailin-custom": "mine"}, "metadata": {"a": "1"}},
            ValidationError,
            "headers[X-Mailin-custom]",
        ),
    ],
)
def test_what_brevo_has_no_place_for_is_refused_before_io(
    httpserver: HTTPServer, brevo: Any, fields: dict[str, Any], error: type, field: str
) -> None:
    with pytest.raises(error) as caught:
        brevo.send(message(**fields))
    assert caught.value.field == field
    assert httpserver.log == []


def test_an_inline_image_is_refused_brevo_has_no_content_id(
    httpserver: HTTPServer, brevo: Any
) -> None:
    logo = Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo")
    with pytest.raises(UnsupportedOperation, match="inline"):
        brevo.send(message(attachments=[logo]))
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        # Brevo API documentation, Key concepts, Error response
        (
            400,
            {"code": "invalid_parameter", "message": "Invalid email address"},
            ProviderValidationError,
        ),
        (
            400,
            {"code": "missing_parameter", "message": "sender is missing"},
            ProviderValidationError,
        ),
        (401, {"code": "unauthorized", "message": "Key not found"}, AuthenticationError),
        (402, {"code": "not_enough_credits", "message": "Not enough credits"}, QuotaExceededError),
        (
            403,
            {"code": "permission_denied", "message": "Unable to send email"},
            PermissionDeniedError,
        ),
        (404, {"code": "document_not_found", "message": "Template not found"}, NotFoundError),
        (500, {"code": "internal_error", "message": "oops"}, ProviderServerError),
        # the error's name decides over its status
        (400, {"code": "not_enough_credits", "message": "Not enough credits"}, QuotaExceededError),
    ],
)
def test_error_answers_map_to_their_classes(
    httpserver: HTTPServer, brevo: Any, status: int, answer: dict[str, str], error: type
) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_json(answer, status=status)
    with pytest.raises(error) as caught:
        brevo.send(message())
    assert caught.value.provider == "brevo"
    assert answer["message"] in str(caught.value)
    assert "xkeysib-secret" not in str(caught.value) and "xkeysib-secret" not in repr(caught.value)


def test_a_rate_limit_reads_brevos_reset_header(httpserver: HTTPServer, brevo: Any) -> None:
    """Brevo API documentation, Rate limit headers: a 429 carries x-sib-ratelimit-*
    headers and no Retry-After; the reset is the seconds to wait."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"code": "too_many_requests", "message": "Too many requests"},
        status=429,
        headers={
            "x-sib-ratelimit-limit": "1000",
            "x-sib-ratelimit-remaining": "0",
            "x-sib-ratelimit-reset": "12",
        },
    )
    with pytest.raises(RateLimitError) as caught:
        brevo.send(message())
    assert caught.value.retry_after == 12.0 and caught.value.retryable


def test_a_retry_after_header_wins_where_there_is_one(httpserver: HTTPServer, brevo: Any) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"message": "slow"}, status=429, headers={"Retry-After": "3", "x-sib-ratelimit-reset": "12"}
    )
    with pytest.raises(RateLimitError) as caught:
        brevo.send(message())
    assert caught.value.retry_after == 3.0


def test_status_reads_the_events_report(httpserver: HTTPServer, brevo: Any) -> None:
    httpserver.expect_request(EVENTS, method="GET").respond_with_json(
        {
            "events": [
                {
                    "email": "ann@example.org",
                    "date": "2026-12-06T10:00:00.000Z",
                    "messageId": MESSAGE_ID,
                    "event": "requests",
                },
                {
                    "email": "ann@example.org",
                    "date": "2026-12-06T10:00:05.000Z",
                    "messageId": MESSAGE_ID,
                    "event": "hardBounces",
                    "reason": "550 5.1.1 user unknown",
                },
            ]
        }
    )
    statuses = brevo.status([MESSAGE_ID])
    request = only_request(httpserver)
    assert request.args["messageId"] == MESSAGE_ID
    assert request.headers["api-key"] == "xkeysib-secret"
    assert int(request.args["offset"]) == 0 and int(request.args["limit"]) == 2500
    states = {s.state for s in statuses}
    assert DeliveryState.BOUNCED in states and DeliveryState.QUEUED in states
    bounced = next(s for s in statuses if s.state == DeliveryState.BOUNCED)
    assert bounced.recipient == "ann@example.org" and bounced.message_id == MESSAGE_ID


def test_the_provider_url() -> None:
    provider = mailspec.provider_from_url("brevo://xkeysib-secret@")
    assert provider.name == "brevo"
    assert provider.client.base_url == "https://api.brevo.com/v3/"
    assert "xkeysib-secret" not in repr(provider)
    request = provider.requests(message())[0]
    assert request.url == "https://api.brevo.com/v3/smtp/email"
    assert request.headers["api-key"] == "xkeysib-secret"


# --- the sandbox ------------------------------------------------------------------


def test_the_sandbox_takes_mailspecs_sends_and_reports_their_status() -> None:
    with SandboxServer("brevo") as server:
        provider = server.provider()
        result = provider.send(
            message(to=["Ann <ann@example.org>", "bob@example.org"], cc=["cy@example.org"])
        )
        assert len(result.message_ids) == 1  # one messageId for the whole message
        assert sorted(a.recipient for a in server.accepted) == [
            "ann@example.org",
            "bob@example.org",
        ]
        server.set_outcome("bounced")
        bounced = provider.send(message(to=["dee@example.org"]))
        assert [s.state for s in provider.status(bounced.message_ids)] == [DeliveryState.BOUNCED]


@pytest.mark.parametrize(
    ("headers", "payload", "status"),
    [
        # addresses as strings where Brevo wants {email, name} objects
        ({}, {"to": ["ann@example.org"], "htmlContent": "x"}, 400),
        (
            {},
            {
                "to": [{"email": "ann@example.org"}],
                "sender": "shop@example.com",
                "htmlContent": "x",
            },
            400,
        ),
        # a key Brevo's send does not have
        ({}, {"to": [{"email": "ann@example.org"}], "html": "x"}, 400),
        # no content at all
        ({}, {"to": [{"email": "ann@example.org"}]}, 400),
        # the key as a bearer token instead of api-key
        ({"auth": "bearer"}, {"to": [{"email": "ann@example.org"}], "htmlContent": "x"}, 401),
    ],
)
def test_the_sandbox_refuses_wrong_forms(
    headers: dict[str, str], payload: dict[str, Any], status: int
) -> None:
    with SandboxServer("brevo") as server:
        key = server.credentials["api_key"]
        sent_headers = {"Content-Type": "application/json"}
        if headers.get("auth") == "bearer":
            sent_headers["Authorization"] = f"Bearer {key}"
        else:
            sent_headers["api-key"] = key
        answer = urllib3.request(
            "POST", server.base_url + "smtp/email", body=json.dumps(payload), headers=sent_headers
        )
        assert answer.status == status
        assert set(json.loads(answer.data)) <= {"code", "message"}
        assert server.accepted == []


# --- webhooks: JSON events behind basic auth ----------------------------------------

SECRET = "hooks:brevo-webhook-password"


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


def test_sandbox_events_verify_with_basic_auth_and_carry_the_metadata(receiver: _Receiver) -> None:
    with SandboxServer("brevo") as server:
        server.send_webhooks(receiver.url, secret=SECRET)
        server.provider().send(message(metadata={"order_id": "7"}))
        assert server.webhooks is not None and server.webhooks.flush()
    assert receiver.received
    events = []
    for headers, data in receiver.received:
        scheme, _, token = headers["Authorization"].partition(" ")
        assert scheme == "Basic" and base64.b64decode(token).decode() == SECRET
        raw = json.loads(data)
        assert {"event", "email", "message-id", "ts_epoch"} <= set(raw)
        events += parse("brevo", data, headers, secret=SECRET)
    assert [e.type for e in events] == [EventType.QUEUED, EventType.DELIVERED]
    assert {e.recipient for e in events} == {"ann@example.org"}
    assert all(e.metadata == {"order_id": "7"} for e in events)


# Brevo API documentation, Transactional webhooks, Hard Bounced: the documented fields
HARD_BOUNCE = {
    "event": "hard_bounce",
    "email": "example@domain.com",
    "id": 26224,
    "date": "2024-05-21 13:25:13",
    "ts": 1716290713,
    "message-id": "<202405211325.12345678901@smtp-relay.mailin.fr>",
    "ts_event": 1716290713,
    "subject": "My first Transactional",
    "X-Mailin-custom": '{"order_id":"7"}',
    "sending_ip": "185.41.28.109",
    "ts_epoch": 1716290713000,
    "template_id": 22,
    "tag": "",
    "tags": ["order"],
    "reason": "550 5.1.1 user unknown",
}


def basic(credentials: str) -> dict[str, str]:
    token = base64.b64encode(credentials.encode()).decode()
    return {"Content-Type": "application/json", "Authorization": "Basic " + token}


def test_a_documented_bounce_parses() -> None:
    (event,) = parse("brevo", json.dumps(HARD_BOUNCE), basic(SECRET), secret=SECRET)
    assert event.type == EventType.BOUNCED
    assert event.message_id == HARD_BOUNCE["message-id"]
    assert event.recipient == "example@domain.com"
    assert event.timestamp == datetime.fromtimestamp(1716290713, UTC)
    assert event.metadata == {"order_id": "7"}
    assert event.description == "550 5.1.1 user unknown"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Content-Type": "application/json"}, "no basic auth"),  # forged: no credentials
        (basic("hooks:guessed-password"), "do not match"),  # forged: wrong password
        (basic("other:brevo-webhook-password"), "do not match"),  # forged: wrong user
        (
            {"Content-Type": "application/json", "Authorization": "Bearer brevo-webhook-password"},
            "no basic auth",
        ),
    ],
)
def test_forged_posts_are_refused(headers: dict[str, str], why: str) -> None:
    with pytest.raises(WebhookVerificationError, match=why) as caught:
        parse("brevo", json.dumps(HARD_BOUNCE), headers, secret=SECRET)
    assert "brevo-webhook-password" not in str(caught.value)


def test_a_replayed_or_stale_post_is_kept_once_in_the_timeline() -> None:
    """Brevo signs nothing and its basic auth carries no time or one-time id (Secure
    webhook calls), so the scheme cannot tell a replay or a stale post from a fresh one;
    the same event posted again is the same event (provider, type, message id,
    recipient, time) and a Mailer keeps it once."""
    (event,) = parse("brevo", json.dumps(HARD_BOUNCE), basic(SECRET), secret=SECRET)
    (again,) = parse("brevo", json.dumps(HARD_BOUNCE), basic(SECRET), secret=SECRET)
    assert event == again
    mailer = mailspec.Mailer([mailspec.provider("brevo", api_key="k")])
    assert mailer.record([event]) == 1
    assert mailer.record([again]) == 0  # the replay adds nothing
    assert mailer.suppressions.get("example@domain.com") is not None  # the bounce counted once


def test_a_rate_limited_brevo_fails_over_to_the_next_provider() -> None:
    """Brevo down for now (429 with its reset header) in a failover pool: the message
    goes out through the next provider, over real HTTP to both sandboxes."""
    from mailspec.sandbox import Sandbox

    with Sandbox(["brevo", "cloudmails"]) as sandbox:
        sandbox["brevo"].faults.queue("rate_limit", times=5)
        mailer = mailspec.Mailer(
            [sandbox["brevo"].provider(), sandbox["cloudmails"].provider()],
            max_attempts=1,
            backoff=0,
            backoff_max=0,
        )
        result = mailer.send(message(text="Hi"))
        assert result.provider == "cloudmails"
        assert [a.provider for a in result.attempts] == ["brevo", "cloudmails"]
        assert sandbox["brevo"].accepted == []
        assert [a.recipient for a in sandbox["cloudmails"].accepted] == ["ann@example.org"]
