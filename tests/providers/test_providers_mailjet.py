"""Mailjet on the wire (spec/mailjet.yaml): Send API v3.1's {"Messages": [...]} with HTTP
basic auth, mailboxes as {"Email", "Name"} objects, one id per recipient, the documented
error answers, status from the REST message resource, the sandbox, and Event API
webhooks behind basic auth. Sources: "Mailjet Send API v3.1 guide"
(https://dev.mailjet.com/email/guides/send-api-v31/), "Mailjet Email API: Status codes",
"Mailjet Event API guide" (https://dev.mailjet.com/email/guides/webhooks/)."""

from __future__ import annotations

import base64
import json
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
    Message,
    PermissionDeniedError,
    ProviderServerError,
    ProviderValidationError,
    RateLimitError,
    UnsupportedOperation,
    ValidationError,
)
from mailspec.errors import WebhookVerificationError
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import BounceReason, EventType
from mailspec.webhooks import parse

SEND = "/v3.1/send"
BASIC = "Basic " + base64.b64encode(b"public-key:private-key").decode()

# Mailjet Send API v3.1 guide, Send a basic email, API response (one To recipient)
OK = {
    "Messages": [
        {
            "Status": "success",
            "CustomID": "",
            "To": [
                {
                    "Email": "ann@example.org",
                    "MessageUUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
                    "MessageID": 288230376332075713,
                    "MessageHref": "https://api.mailjet.com/v3/REST/message/288230376332075713",
                }
            ],
            "Cc": [],
            "Bcc": [],
        }
    ]
}


@pytest.fixture
def mailjet(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "mailjet",
        api_key="public-key",
        secret_key="private-key",
        base_url=httpserver.url_for("/"),
        timeout=5,
    )


def sent(httpserver: HTTPServer) -> dict[str, Any]:
    """The one message object of the one request made."""
    request = only_request(httpserver)
    assert request.method == "POST" and request.path == SEND
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.get_data())
    assert list(body) == ["Messages"] and len(body["Messages"]) == 1
    return body["Messages"][0]  # type: ignore[no-any-return]


def test_the_documented_basic_send_is_exactly_its_json(httpserver, mailjet):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    result = mailjet.send(
        Message(
            from_email="Mailjet Pilot <pilot@mailjet.com>",
            to=["passenger 1 <passenger1@mailjet.com>"],
            subject="Your email flight plan!",
            text="Dear passenger 1, welcome to Mailjet!",
            html="<h3>Dear passenger 1, welcome to Mailjet!</h3>",
        )
    )
    assert sent(httpserver) == {
        "From": {"Email": "pilot@mailjet.com", "Name": "Mailjet Pilot"},
        "To": [{"Email": "passenger1@mailjet.com", "Name": "passenger 1"}],
        "Subject": "Your email flight plan!",
        "TextPart": "Dear passenger 1, welcome to Mailjet!",
        "HTMLPart": "<h3>Dear passenger 1, welcome to Mailjet!</h3>",
    }
    # the MessageID is a number on the wire, read as its digits
    assert result.provider == "mailjet" and result.message_ids == ["288230376332075713"]


def test_every_message_field_has_its_documented_place(httpserver, mailjet):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    mailjet.send(
        message(
            from_name="Shop, Inc.",
            to=['"Smith, Ann" <ann@example.org>', "bob@example.org"],
            cc=["Zoë Ünïcode <cc@example.org>"],
            bcc=["audit@example.org"],
            reply_to="Support <help@example.com>",
            text="Hi",
            headers={"X-Order": "7"},
            tags=["welcome"],
            metadata={"order_id": "7", "cohort": "a"},
            track_opens=True,
            track_clicks=False,
            attachments=[
                Attachment("invoice.pdf", b"%PDF-1.4", "application/pdf"),
                Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo"),
            ],
        )
    )
    body = sent(httpserver)
    assert body["From"] == {"Email": "noreply@example.com", "Name": "Shop, Inc."}
    assert body["To"] == [
        {"Email": "ann@example.org", "Name": "Smith, Ann"},
        {"Email": "bob@example.org"},
    ]
    # a display name travels as written: no quoting, no RFC 2047 encoding
    assert body["Cc"] == [{"Email": "cc@example.org", "Name": "Zoë Ünïcode"}]
    assert body["Bcc"] == [{"Email": "audit@example.org"}]
    assert body["ReplyTo"] == {"Email": "help@example.com", "Name": "Support"}
    assert (body["Subject"], body["TextPart"], body["HTMLPart"]) == (
        "Your order",
        "Hi",
        "<p>Hi</p>",
    )
    assert body["Headers"] == {"X-Order": "7"}
    assert body["Attachments"] == [
        {
            "Filename": "invoice.pdf",
            "Base64Content": "JVBERi0xLjQ=",
            "ContentType": "application/pdf",
        }
    ]
    assert body["InlinedAttachments"] == [
        {
            "Filename": "logo.png",
            "Base64Content": "iVBORw==",
            "ContentType": "image/png",
            "ContentID": "logo",
        }
    ]
    assert body["CustomCampaign"] == "welcome"  # ASSUMED (django-anymail): the one tag
    assert json.loads(body["EventPayload"]) == {"order_id": "7", "cohort": "a"}  # a JSON string
    assert (body["TrackOpens"], body["TrackClicks"]) == ("enabled", "disabled")


def test_a_template_goes_with_its_numeric_id_and_the_template_language(httpserver, mailjet):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    mailjet.send(
        Message(
            from_email="shop@example.com",
            to=["ann@example.org"],
            template="4242",
            variables={"name": "Ann", "order": "7"},
        )
    )
    assert sent(httpserver) == {
        "From": {"Email": "shop@example.com"},
        "To": [{"Email": "ann@example.org"}],
        "TemplateID": 4242,
        "TemplateLanguage": True,
        "Variables": {"name": "Ann", "order": "7"},
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"template": "order-shipped", "html": None}, "template"),  # TemplateID is a number
        ({"tags": ["a", "b"]}, "custom_campaign"),  # one CustomCampaign
        ({"reply_to": ["a@example.org", "b@example.org"]}, "reply_to"),  # one ReplyTo object
        ({"to": [f"r{i}@example.org" for i in range(51)]}, "to"),  # MAX RECIPIENTS: 50
        ({"subject": "x" * 256}, "subject"),  # Maximum length is 255 chars
        ({"html": None, "text": None}, None),  # send-0003: a body or a template
    ],
)
def test_what_mailjet_would_refuse_is_refused_before_any_request(
    httpserver, mailjet, overrides, field
):
    with pytest.raises((ValidationError, UnsupportedOperation)) as caught:
        mailjet.send(message(**overrides))
    if field is not None and isinstance(caught.value, ValidationError):
        assert caught.value.field is not None and field in caught.value.field
    assert httpserver.log == []


def test_a_text_attachment_goes_with_its_type_alone_and_must_be_utf8(httpserver, mailjet):
    """ASSUMED (django-anymail): Mailjet adds charset=utf-8 to a text/* ContentType
    itself, so the type goes alone, and text in another charset is refused."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    mailjet.send(message(attachments=[Attachment("notes.txt", "Grüße".encode(), "text/plain")]))
    (attachment,) = sent(httpserver)["Attachments"]
    assert attachment["ContentType"] == "text/plain"
    assert base64.b64decode(attachment["Base64Content"]).decode() == "Grüße"
    for wrong in (
        Attachment("latin.txt", "Grüße".encode("latin-1"), "text/plain"),
        Attachment("latin.txt", b"plain", "text/plain; charset=iso-8859-1"),
    ):
        with pytest.raises(ValidationError, match="UTF-8") as caught:
            mailjet.send(message(attachments=[wrong]))
        assert caught.value.field == "attachments"
    assert len(httpserver.log) == 1


def test_every_recipient_s_id_is_read(httpserver, mailjet):
    answer = {
        "Messages": [
            {
                "Status": "success",
                "To": [
                    {"Email": "ann@example.org", "MessageUUID": "1", "MessageID": 456},
                    {"Email": "bob@example.org", "MessageUUID": "2", "MessageID": 457},
                ],
                "Cc": [{"Email": "cc@example.org", "MessageUUID": "3", "MessageID": 458}],
            }
        ]
    }
    httpserver.expect_request(SEND, method="POST").respond_with_json(answer)
    result = mailjet.send(message(to=["ann@example.org", "bob@example.org"], cc=["cc@example.org"]))
    assert result.message_ids == ["456", "457"]  # the To recipients' ids, as anymail reads them


def test_provider_options_reach_the_payload_root(httpserver, mailjet):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    mailjet.send(message(provider_options={"mailjet": {"SandboxMode": True}}))
    body = json.loads(only_request(httpserver).get_data())
    # Sandbox Mode: "SandboxMode is a Send API JSON payload root property like Messages"
    assert body["SandboxMode"] is True
    assert len(body["Messages"]) == 1 and "SandboxMode" not in body["Messages"][0]


# --- errors: Mailjet Email API: Status codes; Send API v3.1 guide, Send API errors -----

GLOBAL_ERROR = {
    "ErrorIdentifier": "06df1144-c6f3-4ca7-8885-7ec5d4344113",
    "ErrorCode": "mj-0002",
    "ErrorMessage": "Malformed JSON, please review the syntax and properties types.",
    "StatusCode": 400,
}


def message_error(code: str, status: int, text: str) -> dict[str, Any]:
    return {
        "Messages": [
            {
                "Status": "error",
                "Errors": [
                    {
                        "ErrorIdentifier": "f987008f-251a-4dff-8ffc-40f1583ad7bc",
                        "ErrorCode": code,
                        "StatusCode": status,
                        "ErrorMessage": text,
                        "ErrorRelatedTo": ["From"],
                    }
                ],
            }
        ]
    }


@pytest.mark.parametrize(
    ("status", "answer", "error", "text"),
    [
        (400, GLOBAL_ERROR, ProviderValidationError, "Malformed JSON"),
        (
            400,
            message_error("send-0003", 400, "At least HTMLPart"),
            ProviderValidationError,
            "At least HTMLPart",  # the message's own error text
        ),
        (
            403,
            message_error("send-0008", 403, "not authorized"),
            PermissionDeniedError,
            "not authorized",
        ),
        (
            401,
            {
                "ErrorIdentifier": "x",
                "ErrorCode": "mj-0015",
                "StatusCode": 401,
                "ErrorMessage": "API key authentication/authorization failure.",
            },
            AuthenticationError,
            "authentication/authorization failure",
        ),
        # mj-0001 (an API key suspended) names its kind: authentication, whatever the status
        (
            400,
            {"ErrorCode": "mj-0001", "StatusCode": 401, "ErrorMessage": "suspended"},
            AuthenticationError,
            "suspended",
        ),
        (500, {"ErrorIdentifier": "D4DF574C", "ErrorMessage": "Ouch"}, ProviderServerError, None),
    ],
)
def test_error_answers_raise_their_category(httpserver, mailjet, status, answer, error, text):
    httpserver.expect_request(SEND, method="POST").respond_with_json(answer, status=status)
    with pytest.raises(error) as caught:
        mailjet.send(message())
    assert caught.value.http_status == status
    if text is not None:
        assert text in str(caught.value)
    assert "private-key" not in str(caught.value)


def test_a_rate_limited_send_reads_retry_after(httpserver, mailjet):
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"ErrorMessage": "Too Many Requests", "StatusCode": 429},
        status=429,
        headers={"Retry-After": "12"},
    )
    with pytest.raises(RateLimitError) as caught:
        mailjet.send(message())
    assert caught.value.retry_after == 12.0 and caught.value.retryable


# --- status: Mailjet API reference: Messages, GET /message/{message_ID} ------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("queued", DeliveryState.QUEUED),
        ("sent", DeliveryState.DELIVERED),
        ("opened", DeliveryState.OPENED),
        ("clicked", DeliveryState.CLICKED),
        ("hardbounced", DeliveryState.BOUNCED),
        ("softbounced", DeliveryState.SOFT_BOUNCED),
        ("spam", DeliveryState.COMPLAINED),
        ("unsub", DeliveryState.UNSUBSCRIBED),
        ("blocked", DeliveryState.REJECTED),
    ],
)
def test_status_reads_the_message_resource(httpserver, mailjet, status, state):
    record = {
        "ArrivedAt": "2026-12-06T10:00:00Z",
        "ContactAlt": "ann@example.org",
        "ID": 288230376332075713,
        "Status": status,
        "UUID": "1ab23cd4",
    }
    httpserver.expect_request(
        "/v3/REST/message/288230376332075713", method="GET"
    ).respond_with_json({"Count": 1, "Data": [record], "Total": 1})
    (found,) = mailjet.status(["288230376332075713"])
    request = only_request(httpserver)
    assert request.headers["Authorization"] == BASIC
    assert (found.message_id, found.state, found.recipient) == (
        "288230376332075713",
        state,
        "ann@example.org",
    )


# --- the provider URL ---------------------------------------------------------------


def test_the_provider_url_takes_the_key_and_the_secret(httpserver):
    httpserver.expect_request(SEND, method="POST").respond_with_json(OK)
    base = httpserver.url_for("/")
    provider = mailspec.provider_from_url(f"mailjet://public-key:private-key@?base_url={base}")
    provider.send(message())
    assert sent(httpserver)["To"] == [{"Email": "ann@example.org"}]
    default = mailspec.provider_from_url("mailjet://k:s@")
    assert default.client.base_url == "https://api.mailjet.com/"
    assert "private-key" not in repr(provider)


# --- the sandbox --------------------------------------------------------------------


def test_the_sandbox_takes_mailspec_s_sends_and_answers_per_recipient():
    sandbox = SandboxServer("mailjet").start()
    try:
        provider = sandbox.provider()
        result = provider.send(
            message(
                to=["Ann <ann@example.org>", "bob@example.org"],
                cc=["cc@example.org"],
                reply_to="help@example.com",
                text="Hi",
                headers={"X-Order": "7"},
                tags=["welcome"],
                metadata={"order_id": "7"},
                track_opens=True,
                attachments=[
                    Attachment("a.pdf", b"%PDF", "application/pdf"),
                    Attachment("i.png", b"\x89PNG", "image/png", content_id="i"),
                ],
            )
        )
        template = provider.send(
            Message(
                from_email="s@example.com", to=["t@example.org"], template="7", variables={"a": "1"}
            )
        )
        statuses = provider.status(result.message_ids)
    finally:
        sandbox.stop()
    assert len(result.message_ids) == 2 and len(template.message_ids) == 1
    assert [s.recipient for s in statuses] == ["ann@example.org", "bob@example.org"]
    assert {s.state for s in statuses} == {DeliveryState.DELIVERED}


SANDBOX_AUTH = "sandbox-api-key:sandbox-secret-key"  # SandboxServer's own credentials


def _post(url: str, body: Any, auth: str) -> tuple[int, Any]:
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(auth.encode()).decode(),
    }
    response = urllib3.request("POST", url, body=json.dumps(body).encode(), headers=headers)
    return response.status, json.loads(response.data or b"null")


@pytest.mark.parametrize(
    ("body", "auth", "status"),
    [
        # the documented form is taken
        (
            {
                "Messages": [
                    {
                        "From": {"Email": "s@example.com"},
                        "To": [{"Email": "a@example.org"}],
                        "TextPart": "x",
                    }
                ]
            },
            SANDBOX_AUTH,
            200,
        ),
        # the wrong secret key
        (
            {
                "Messages": [
                    {
                        "From": {"Email": "s@example.com"},
                        "To": [{"Email": "a@example.org"}],
                        "TextPart": "x",
                    }
                ]
            },
            "sandbox-api-key:wrong",
            401,
        ),
        # a flat message, without Messages
        (
            {
                "From": {"Email": "s@example.com"},
                "To": [{"Email": "a@example.org"}],
                "TextPart": "x",
            },
            SANDBOX_AUTH,
            400,
        ),
        # To as a string, not {"Email", "Name"} objects
        (
            {
                "Messages": [
                    {"From": {"Email": "s@example.com"}, "To": "a@example.org", "TextPart": "x"}
                ]
            },
            SANDBOX_AUTH,
            400,
        ),
        # a mailbox object with another key
        (
            {
                "Messages": [
                    {
                        "From": {"Address": "s@example.com"},
                        "To": [{"Email": "a@example.org"}],
                        "TextPart": "x",
                    }
                ]
            },
            SANDBOX_AUTH,
            400,
        ),
        # a tracking word Mailjet does not take
        (
            {
                "Messages": [
                    {
                        "From": {"Email": "s@example.com"},
                        "To": [{"Email": "a@example.org"}],
                        "TextPart": "x",
                        "TrackOpens": True,
                    }
                ]
            },
            SANDBOX_AUTH,
            400,
        ),
    ],
)
def test_the_sandbox_refuses_what_mailjet_would(body, auth, status):
    sandbox = SandboxServer("mailjet").start()
    try:
        assert sandbox.credentials == {
            "api_key": "sandbox-api-key",
            "secret_key": "sandbox-secret-key",
        }
        got, answer = _post(sandbox.base_url.rstrip("/") + SEND, body, auth)
    finally:
        sandbox.stop()
    assert got == status, answer
    if status == 200:
        assert answer["Messages"][0]["To"][0]["MessageID"]


# --- webhooks: Mailjet Event API guide ----------------------------------------------

SENT = {
    "event": "sent",
    "time": 1433333949,
    "MessageID": 19421777835146490,
    "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
    "email": "api@mailjet.com",
    "mj_campaign_id": 7257,
    "mj_contact_id": 4,
    "customcampaign": "",
    "mj_message_id": "19421777835146490",
    "smtp_reply": "sent (250 2.0.0 OK 1433333948 fa5si855896wjc.199 - gsmtp)",
    "CustomID": "helloworld",
    "Payload": "",
}
BOUNCE = {
    "event": "bounce",
    "time": 1430812195,
    "MessageID": 13792286917004336,
    "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
    "email": "bounce@mailjet.com",
    "mj_campaign_id": 0,
    "mj_contact_id": 0,
    "customcampaign": "",
    "CustomID": "helloworld",
    "Payload": '{"order_id": "7"}',
    "blocked": False,
    "hard_bounce": True,
    "error_related_to": "recipient",
    "error": "user unknown",
    "comment": "Host or domain name not found.",
}
HOOK_SECRET = "hooks:webhook-password"


def basic(credentials: str) -> dict[str, str]:
    token = base64.b64encode(credentials.encode()).decode()
    return {"Content-Type": "application/json", "Authorization": f"Basic {token}"}


def test_the_documented_grouped_events_are_read():
    body = json.dumps([SENT, {**SENT, "MessageID": 19421777835146491}])
    events = parse("mailjet", body, basic(HOOK_SECRET), secret=HOOK_SECRET)
    assert [(e.type, e.message_id, e.recipient) for e in events] == [
        (EventType.DELIVERED, "19421777835146490", "api@mailjet.com"),
        (EventType.DELIVERED, "19421777835146491", "api@mailjet.com"),
    ]
    assert events[0].timestamp is not None and events[0].timestamp.year == 2015


def test_bounce_blocked_spam_unsub_open_click_read_as_their_types():
    soft = {**BOUNCE, "hard_bounce": False, "error": "quota exceeded"}
    blocked = {**BOUNCE, "event": "blocked", "error": "preblocked"}
    spam = {**SENT, "event": "spam", "source": "JMRPP"}
    unsub = {**SENT, "event": "unsub", "mj_list_id": 1}
    opened = {**SENT, "event": "open", "agent": "Mozilla/5.0"}
    click = {**SENT, "event": "click", "url": "https://mailjet.com", "agent": "Mozilla/5.0"}
    events = parse(
        "mailjet",
        json.dumps([BOUNCE, soft, blocked, spam, unsub, opened, click]),
        basic(HOOK_SECRET),
        secret="webhook-password",  # the password alone, whatever the user name
    )
    assert [e.type for e in events] == [
        EventType.BOUNCED,
        EventType.SOFT_BOUNCED,
        EventType.REJECTED,
        EventType.COMPLAINED,
        EventType.UNSUBSCRIBED,
        EventType.OPENED,
        EventType.CLICKED,
    ]
    assert events[0].reason == BounceReason.NO_SUCH_USER
    assert events[0].metadata == {"order_id": "7"}  # EventPayload given back as Payload
    assert events[2].reason == BounceReason.BLACKLISTED  # preblocked: suppresses
    assert (events[6].url, events[6].user_agent) == ("https://mailjet.com", "Mozilla/5.0")


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},  # no credentials at all
        basic("hooks:forged"),  # a forged password
        {"Content-Type": "application/json", "Authorization": "Bearer webhook-password"},
    ],
)
def test_an_event_without_the_url_s_credentials_is_refused(headers):
    with pytest.raises(WebhookVerificationError):
        parse("mailjet", json.dumps([SENT]), headers, secret=HOOK_SECRET)


def test_the_sandbox_posts_events_that_verify_with_basic_auth():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((dict(self.headers.items()), data))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    sandbox = SandboxServer("mailjet").start()
    try:
        poster = sandbox.send_webhooks(
            f"http://127.0.0.1:{server.server_address[1]}/", secret=HOOK_SECRET
        )
        result = sandbox.provider().send(message(metadata={"order_id": "7"}))
        sandbox.advance(result.message_ids[0], "clicked")
        assert poster.flush()
    finally:
        sandbox.stop()
        server.shutdown()
        server.server_close()
    events = [
        e for headers, data in received for e in parse("mailjet", data, headers, secret=HOOK_SECRET)
    ]
    assert [e.type for e in events] == [EventType.DELIVERED, EventType.OPENED, EventType.CLICKED]
    assert {e.message_id for e in events} == set(result.message_ids)
    headers, data = received[0]
    first = json.loads(data)[0]  # a JSON array of events, as grouped
    assert first["event"] == "sent"
    assert json.loads(first["Payload"]) == {"order_id": "7"}  # the EventPayload text, as sent
    assert events[0].metadata == {"order_id": "7"}
    with pytest.raises(WebhookVerificationError):
        parse("mailjet", data, headers, secret="hooks:another-password")


# --- faults and failover against the sandbox, over real HTTP ------------------------


def test_mailjet_down_fails_over_and_two_tags_skip_it():
    from mailspec import Mailer
    from mailspec.sandbox.faults import Fault

    mailjet = SandboxServer("mailjet").start()
    cloudmails = SandboxServer("cloudmails").start()
    try:
        mailer = Mailer([mailjet.provider(), cloudmails.provider()], max_attempts=1, backoff=0)
        mailjet.faults.queue(Fault.SERVER_ERROR)
        result = mailer.send(message())
        assert result.provider == "cloudmails"
        assert [a.provider for a in result.attempts] == ["mailjet", "cloudmails"]
        assert mailjet.accepted == [] and len(cloudmails.accepted) == 1
        # one CustomCampaign: two tags are Mailjet's rule, so it is skipped, unasked
        skipped = mailer.send(message(tags=["welcome", "eu"]))
        assert skipped.provider == "cloudmails" and mailjet.accepted == []
        # and back to normal: Mailjet takes the next one itself
        assert mailer.send(message(tags=["welcome"])).provider == "mailjet"
        (row,) = mailjet.accepted
        assert row.params["custom_campaign"] == ["welcome"]
    finally:
        mailjet.stop()
        cloudmails.stop()
