"""Postmark on the wire (spec/postmark.yaml; "Postmark API: Email", "Postmark API:
Templates", "Postmark API: Overview", "Postmark API: Messages", "Postmark Webhooks"):
JSON with the server token in X-Postmark-Server-Token, every Message field Postmark has a
place for, its error answers by ErrorCode, batches, message details, the sandbox, and
webhooks behind HTTP basic auth. Real HTTP on 127.0.0.1 (pytest-httpserver, the
sandbox); nothing of mailspec is mocked."""

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
from providers_support import message, only_request, requests
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import (
    Attachment,
    AuthenticationError,
    DeliveryState,
    Mailer,
    PartialDeliveryError,
    PermissionDeniedError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    TemplateError,
    UnsupportedOperation,
    ValidationError,
)
from mailspec.errors import WebhookVerificationError
from mailspec.sandbox import Fault, SandboxServer
from mailspec.vocabulary import BounceReason, EventType
from mailspec.webhooks import parse

TOKEN = "server-token-0123"
OK = {
    "To": "ann@example.org",
    "SubmittedAt": "2014-02-17T07:25:01.4178645-05:00",
    "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d",
    "ErrorCode": 0,
    "Message": "OK",
}


@pytest.fixture
def postmark(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "postmark", server_token=TOKEN, base_url=httpserver.url_for("/"), timeout=5
    )


def body(request: Any) -> Any:
    return json.loads(request.get_data())


def test_a_plain_message_is_the_documented_json_with_the_token_header(httpserver, postmark):
    httpserver.expect_request("/email", method="POST").respond_with_json(OK)
    result = postmark.send(message(text="Hi", from_name="Shop"))
    request = only_request(httpserver)
    # Postmark API: Email, Send a single email: the token, Accept and Content-Type
    assert request.headers["X-Postmark-Server-Token"] == TOKEN
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert body(request) == {
        "From": "Shop <noreply@example.com>",
        "To": "ann@example.org",
        "Subject": "Your order",
        "HtmlBody": "<p>Hi</p>",
        "TextBody": "Hi",
    }
    assert result.provider == "postmark"
    assert result.message_ids == ["0a129aee-e1cd-480d-b08d-4f48548ff48d"]


def test_every_field_postmark_takes_reaches_the_wire(httpserver, postmark):
    httpserver.expect_request("/email", method="POST").respond_with_json(OK)
    postmark.send(
        message(
            to=['"Lee, Ann" <ann@example.org>', "bob@example.org"],
            cc=["Carl Ng <carl@example.org>"],
            bcc=["dee@example.org"],
            reply_to=["Help Desk <help@shop.example>", "x@shop.example"],
            text="Hi",
            tags=["welcome"],
            metadata={"user_id": "42", "plan": "pro"},
            headers={"X-Order": "1042", "List-Unsubscribe": "<mailto:u@shop.example>"},
            attachments=[
                Attachment("invoice.pdf", b"%PDF-1.4\x00\xff", "application/pdf"),
                Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@shop.example"),
            ],
            track_opens=True,
            track_clicks=True,
            provider_options={"postmark": {"MessageStream": "broadcast"}},
        )
    )
    sent = body(only_request(httpserver))
    assert sent == {
        "From": "noreply@example.com",
        "To": '"Lee, Ann" <ann@example.org>, bob@example.org',
        "Cc": "Carl Ng <carl@example.org>",
        "Bcc": "dee@example.org",
        "ReplyTo": "Help Desk <help@shop.example>, x@shop.example",
        "Subject": "Your order",
        "HtmlBody": "<p>Hi</p>",
        "TextBody": "Hi",
        "Tag": "welcome",
        "Metadata": {"user_id": "42", "plan": "pro"},
        "Headers": [
            {"Name": "X-Order", "Value": "1042"},
            {"Name": "List-Unsubscribe", "Value": "<mailto:u@shop.example>"},
        ],
        "Attachments": [
            {
                "Name": "invoice.pdf",
                "Content": base64.b64encode(b"%PDF-1.4\x00\xff").decode(),
                "ContentType": "application/pdf",
            },
            {
                "Name": "logo.png",
                "Content": base64.b64encode(b"\x89PNG").decode(),
                "ContentType": "image/png",
                # Postmark User Guide: Sending email with API, Attachments: "cid:" + the id
                "ContentID": "cid:logo@shop.example",
            },
        ],
        "TrackOpens": True,
        "TrackLinks": "HtmlAndText",
        "MessageStream": "broadcast",
    }


def test_no_click_tracking_is_postmarks_word_none(httpserver, postmark):
    httpserver.expect_request("/email", method="POST").respond_with_json(OK)
    postmark.send(message(track_clicks=False, track_opens=False))
    sent = body(only_request(httpserver))
    assert sent["TrackLinks"] == "None"
    assert "TrackOpens" not in sent  # False asks nothing: Postmark's default is off


def test_a_text_only_message_and_a_text_attachment_with_its_charset(httpserver, postmark):
    httpserver.expect_request("/email", method="POST").respond_with_json(OK)
    postmark.send(
        message(
            html=None, text="Hi", attachments=[Attachment("a.txt", "grüße".encode(), "text/plain")]
        )
    )
    sent = body(only_request(httpserver))
    assert "HtmlBody" not in sent and sent["TextBody"] == "Hi"
    assert sent["Attachments"][0]["ContentType"] == "text/plain; charset=utf-8"


def test_a_stored_template_goes_to_email_with_template(httpserver, postmark):
    httpserver.expect_request("/email/withTemplate", method="POST").respond_with_json(OK)
    result = postmark.send(
        mailspec.Message(
            from_email="noreply@example.com",
            from_name="Shop",
            to=["Ann <ann@example.org>"],
            template="welcome-1",
            variables={"name": "Ann", "order": "1042"},
            tags=["welcome"],
            metadata={"user_id": "42"},
        )
    )
    assert body(only_request(httpserver)) == {
        "TemplateAlias": "welcome-1",
        "TemplateModel": {"name": "Ann", "order": "1042"},
        "From": "Shop <noreply@example.com>",
        "To": "Ann <ann@example.org>",
        "Tag": "welcome",
        "Metadata": {"user_id": "42"},
    }
    assert result.message_ids == [OK["MessageID"]]


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        # one Tag per message: two skip Postmark (a provider rule), never keep one
        ({"tags": ["a", "b"]}, ValidationError, "tag"),
        # To, Cc, Bcc: "Max 50"
        ({"to": [f"r{i}@example.org" for i in range(51)]}, ValidationError, "to"),
        ({"html": None, "text": None}, ValidationError, None),
        ({"subject": "Hi\r\nBcc: victim@example.org"}, ValidationError, "subject"),
        ({"recipient_variables": {"ann@example.org": {"n": "1"}}}, UnsupportedOperation, None),
    ],
)
def test_what_postmark_cannot_take_is_refused_before_any_request(
    httpserver, postmark, overrides, error, field
):
    with pytest.raises(error) as caught:
        postmark.send(message(**overrides))
    if field is not None:
        assert caught.value.field == field
    assert httpserver.log == []


def test_a_template_of_digits_is_the_template_id_and_no_variables_an_empty_model(
    httpserver, postmark
):
    # Postmark API: Templates, Send email with template: TemplateId (an integer) or
    # TemplateAlias; "TemplateModel: required"
    httpserver.expect_request("/email/withTemplate", method="POST").respond_with_json(OK)
    postmark.send(
        mailspec.Message(from_email="a@example.com", to=["b@example.org"], template="1234")
    )
    assert body(only_request(httpserver)) == {
        "TemplateId": 1234,
        "TemplateModel": {},
        "From": "a@example.com",
        "To": "b@example.org",
    }


def test_a_template_message_with_a_subject_is_refused(httpserver, postmark):
    # Postmark API: Templates, Send email with template: the template has the subject
    with pytest.raises(UnsupportedOperation, match="subject"):
        postmark.send(message(template="welcome", variables={"a": "b"}, html=None))
    assert httpserver.log == []


# --- error answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "answer", "error", "code"),
    [
        # Postmark API: Overview, HTTP response codes and API error codes
        (401, {"ErrorCode": 10, "Message": "Bad or missing API token"}, AuthenticationError, 401),
        (422, {"ErrorCode": 300, "Message": "Invalid 'To' address"}, ProviderValidationError, 422),
        (422, {"ErrorCode": 405, "Message": "Not allowed to send"}, QuotaExceededError, 422),
        (422, {"ErrorCode": 412, "Message": "Account is pending"}, PermissionDeniedError, 422),
        (422, {"ErrorCode": 1101, "Message": "Template not found"}, TemplateError, 422),
        (413, {"ErrorCode": 300, "Message": "too large"}, ProviderValidationError, 413),
        (500, b"", mailspec.ProviderServerError, 500),
    ],
)
def test_error_answers_raise_the_class_their_error_code_names(
    httpserver, postmark, status, answer, error, code
):
    if isinstance(answer, bytes):
        httpserver.expect_request("/email").respond_with_data(answer, status=status)
    else:
        httpserver.expect_request("/email").respond_with_json(answer, status=status)
    with pytest.raises(error) as caught:
        postmark.send(message())
    assert caught.value.http_status == status and caught.value.code == code
    if isinstance(answer, dict):
        assert caught.value.message == answer["Message"]
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_an_inactive_recipient_is_refused_and_not_retried(httpserver, postmark):
    # Postmark API: Overview, API error codes, 406 Inactive recipient: a suppressed address
    httpserver.expect_request("/email").respond_with_json(
        {
            "ErrorCode": 406,
            "Message": "You tried to send to a recipient that has been marked as inactive.\n"
            "Found inactive addresses: ann@example.org.\n",
        },
        status=422,
    )
    with pytest.raises(ProviderValidationError) as caught:
        postmark.send(message())
    assert caught.value.retryable is False
    assert "inactive" in caught.value.message


def test_a_rate_limit_reads_retry_after(httpserver, postmark):
    httpserver.expect_request("/email").respond_with_json(
        {"ErrorCode": 429, "Message": "Rate limit exceeded"},
        status=429,
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RateLimitError) as caught:
        postmark.send(message())
    assert caught.value.retry_after == 7.0 and caught.value.retryable is True


def test_an_echoed_token_is_redacted(httpserver, postmark):
    httpserver.expect_request("/email").respond_with_json(
        {"ErrorCode": 10, "Message": f"Bad token {TOKEN}"}, status=401
    )
    with pytest.raises(AuthenticationError) as caught:
        postmark.send(message())
    assert TOKEN not in str(caught.value)


# --- batch ----------------------------------------------------------------------------


def test_send_many_is_one_batch_a_top_level_array_of_single_messages(httpserver, postmark):
    answer = [{**OK, "MessageID": "a"}, {**OK, "MessageID": "b"}]
    httpserver.expect_request("/email/batch", method="POST").respond_with_json(answer)
    results = postmark.send_many(
        [message(tags=["one"]), message(to=["bob@example.org", "cy@example.org"], text="t")]
    )
    request = only_request(httpserver)
    assert request.headers["X-Postmark-Server-Token"] == TOKEN
    first = {"From": "noreply@example.com", "To": "ann@example.org", "Subject": "Your order",
             "HtmlBody": "<p>Hi</p>"}  # fmt: skip
    assert body(request) == [
        {**first, "Tag": "one"},
        {**first, "To": "bob@example.org, cy@example.org", "TextBody": "t"},
    ]
    assert [r.message_ids for r in results] == [["a"], ["b"]]


def test_one_message_to_several_addresses_is_one_single_send(httpserver, postmark):
    httpserver.expect_request("/email", method="POST").respond_with_json(OK)
    postmark.send(message(to=["ann@example.org", "bob@example.org"]))
    assert body(only_request(httpserver))["To"] == "ann@example.org, bob@example.org"


def test_a_batch_item_refused_as_inactive_names_who_was_reached(httpserver, postmark):
    # Postmark API: Email, Send batch emails: each item has its ErrorCode; 406 an inactive
    # recipient (Postmark API: Overview, API error codes)
    answer = [
        {**OK, "To": "ann@example.org", "MessageID": "id-ann"},
        {
            "ErrorCode": 406,
            "Message": "You tried to send to a recipient that has been marked as inactive.",
        },
    ]
    httpserver.expect_request("/email/batch", method="POST").respond_with_json(answer)
    with pytest.raises(PartialDeliveryError) as caught:
        postmark.send_many([message(), message(to=["gone@example.org"])])
    assert isinstance(caught.value.cause, ProviderValidationError)
    assert caught.value.cause.code == 406 and "inactive" in caught.value.cause.message
    assert caught.value.sent_to == ["ann@example.org"]
    assert caught.value.message_ids == ["id-ann"]


# --- status ---------------------------------------------------------------------------


def details(message_id: str, status: str) -> dict[str, Any]:
    """Postmark API: Messages, Outbound message details, Response (the fields read)."""
    return {
        "MessageID": message_id,
        "Status": status,
        "ReceivedAt": "2014-02-14T11:12:54.8054242-05:00",
        "Recipients": ["john.doe@yahoo.com"],
        "Subject": "staging",
        "Tag": "Invitation",
        "MessageStream": "outbound",
        "MessageEvents": [
            {
                "Recipient": "john.doe@yahoo.com",
                "Type": "Delivered",
                "ReceivedAt": "2014-02-14T11:13:00.6054242-05:00",
                "Details": {"DeliveryMessage": "smtp;250 2.0.0 OK"},
            }
        ],
    }


def test_status_asks_the_details_of_each_id(httpserver, postmark):
    for message_id, status in (("m1", "Sent"), ("m2", "Queued"), ("m3", "Something new")):
        httpserver.expect_request(
            f"/messages/outbound/{message_id}/details", method="GET"
        ).respond_with_json(details(message_id, status))
    statuses = postmark.status(["m1", "m2", "m3"])
    seen = requests(httpserver)
    assert [r.path for r in seen] == [f"/messages/outbound/m{i}/details" for i in (1, 2, 3)]
    assert all(r.headers["X-Postmark-Server-Token"] == TOKEN for r in seen)
    assert [s.state for s in statuses] == [
        DeliveryState.SENDING,
        DeliveryState.QUEUED,
        DeliveryState.UNKNOWN,
    ]
    assert statuses[0].code == "Sent"
    # ReceivedAt (-05:00) is when Postmark took the message
    assert statuses[0].timestamp == datetime(2014, 2, 14, 16, 12, 54, 805424, tzinfo=UTC)


def test_status_of_an_unknown_message_is_not_found(httpserver, postmark):
    httpserver.expect_request("/messages/outbound/nope/details").respond_with_json(
        {"ErrorCode": 701, "Message": "This message was not found."}, status=422
    )
    with pytest.raises(mailspec.NotFoundError):
        postmark.status(["nope"])


def test_status_without_ids_or_by_recipient_is_unsupported(httpserver, postmark):
    with pytest.raises(UnsupportedOperation):
        postmark.status()
    with pytest.raises(UnsupportedOperation):
        postmark.status(["m1"], recipient="a@example.org")
    assert httpserver.log == []


# --- provider URL -------------------------------------------------------------------------


def test_the_provider_url_carries_the_token():
    provider = mailspec.provider_from_url("postmark://tok%2Fen@")
    assert provider.name == "postmark"
    assert provider.client.base_url == "https://api.postmarkapp.com/"
    assert "tok/en" not in repr(provider)
    request = provider.requests(message())[0]
    assert request.url == "https://api.postmarkapp.com/email"
    assert request.headers["X-Postmark-Server-Token"] == "tok/en"
    with pytest.raises(ValidationError):
        mailspec.provider_from_url("postmark://a:b@")  # one credential only


# --- sandbox ------------------------------------------------------------------------------


def test_the_sandbox_takes_mailspecs_sends_and_reports_them():
    with SandboxServer("postmark") as server:
        provider = server.provider()
        full = message(
            to=["Ann <ann@example.org>", "bob@example.org"],
            cc=["c@example.org"],
            text="Hi",
            tags=["t"],
            metadata={"k": "v"},
            headers={"X-A": "1"},
            attachments=[Attachment("l.png", b"x", "image/png", content_id="logo")],
            track_opens=True,
            track_clicks=True,
        )
        result = provider.send(full)
        template = provider.send(
            mailspec.Message(
                from_email="noreply@example.com",
                to=["ann@example.org"],
                template="welcome",
                variables={"name": "Ann"},
            )
        )
        rows = server.accepted
        sent = [r for r in rows if r.operation == "send"]
        assert {r.message_id for r in sent} == set(result.message_ids)  # one MessageID
        assert rows[0].params["attachments"][0].content_id == "logo"
        assert rows[-1].operation == "send_template"
        assert [s.state for s in provider.status(result.message_ids + template.message_ids)] == [
            DeliveryState.SENDING,
            DeliveryState.SENDING,
        ]


def test_the_sandbox_honours_postmarks_test_token_and_bounce_addresses(receiver):
    """Postmark User Guide: Generate fake bounces: <type>@bounce-testing.postmarkapp.com
    bounces with that type (any case) and posts the Bounce webhook; Postmark API:
    Overview, Authentication: POSTMARK_API_TEST is accepted and sends nothing."""
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    with SandboxServer("postmark") as server:
        poster = server.send_webhooks(url, secret=HOOK_AUTH)
        provider = server.provider()
        for to in ("HardBounce@bounce-testing.postmarkapp.com",
                   "softbounce@bounce-testing.postmarkapp.com",
                   "blocked@bounce-testing.postmarkapp.com"):  # fmt: skip
            provider.send(message(to=[to]))
        test = mailspec.provider(
            "postmark", server_token="POSTMARK_API_TEST", base_url=server.base_url
        )
        sent = test.send(message(to=["ann@example.org"]))
        wrong = mailspec.provider(
            "postmark", server_token="POSTMARK_API_TESTS", base_url=server.base_url
        )
        with pytest.raises(AuthenticationError):
            wrong.send(message())
        assert poster.flush()
        states = {row.recipient: row.outcome.state for row in server.accepted}
    assert states["ann@example.org"] == DeliveryState.QUEUED  # the test token sends nothing
    events = [e for h, d in receiver.received for e in parse("postmark", d, h, secret=HOOK_AUTH)]
    assert sent.message_ids[0] not in {e.message_id for e in events}
    assert sorted((e.event, e.raw.get("Type"), e.type, e.reason) for e in events) == [
        ("Bounce", "Blocked", EventType.REJECTED, BounceReason.BLACKLISTED),
        ("Bounce", "HardBounce", EventType.BOUNCED, BounceReason.NO_SUCH_USER),
        ("Bounce", "SoftBounce", EventType.SOFT_BOUNCED, BounceReason.OTHER),
    ]


def raw_post(server: SandboxServer, path: str, payload: Any, **headers: str) -> Any:
    return urllib3.request(
        "POST",
        server.base_url.rstrip("/") + path,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **headers},
        retries=False,
    )


@pytest.mark.parametrize(
    ("payload", "headers", "status", "code"),
    [
        # a wrong or missing token: 401 with ErrorCode 10
        ({"From": "a@example.com", "To": "b@example.org", "TextBody": "t"},
         {"X-Postmark-Server-Token": "wrong", "Accept": "application/json"}, 401, 10),
        ({"From": "a@example.com", "To": "b@example.org", "TextBody": "t"},
         {"Accept": "application/json"}, 401, 10),
        # recipients as a list, where Postmark takes one comma-separated string
        ({"From": "a@example.com", "To": ["b@example.org"], "TextBody": "t"}, {}, 422, 300),
        # headers as an object, where Postmark takes {Name, Value} pairs
        ({"From": "a@example.com", "To": "b@example.org", "TextBody": "t",
          "Headers": {"X-A": "1"}}, {}, 422, 300),
        # an inline part without the "cid:" prefix
        ({"From": "a@example.com", "To": "b@example.org", "TextBody": "t",
          "Attachments": [{"Name": "l.png", "Content": "eA==", "ContentType": "image/png",
                           "ContentID": "logo"}]}, {}, 422, 300),
        # an unknown field, and a body without From
        ({"From": "a@example.com", "To": "b@example.org", "TextBody": "t", "Bogus": 1}, {}, 422, 300),
        ({"To": "b@example.org", "TextBody": "t"}, {}, 422, 300),
    ],
)  # fmt: skip
def test_the_sandbox_refuses_wrong_forms_as_postmark_answers(payload, headers, status, code):
    with SandboxServer("postmark") as server:
        token = {"X-Postmark-Server-Token": server.credentials["server_token"],
                 "Accept": "application/json"}  # fmt: skip
        answer = raw_post(server, "/email", payload, **(headers or token))
        assert answer.status == status
        assert answer.json()["ErrorCode"] == code
        assert server.accepted == []


def test_the_sandbox_rate_limits_with_postmarks_answer_and_a_mailer_fails_over():
    with SandboxServer("postmark") as postmark, SandboxServer("cloudmails") as cloudmails:
        postmark.faults.queue(Fault.RATE_LIMIT, times=10)
        mailer = Mailer([postmark.provider(), cloudmails.provider()], max_attempts=1, backoff=0)
        result = mailer.send(message(text="Hi"))
        assert result.provider == "cloudmails"
        first = result.attempts[0]
        assert first.provider == "postmark" and isinstance(first.error, RateLimitError)


def test_postmark_down_fails_over_to_the_next_provider_over_real_http():
    with SandboxServer("postmark") as postmark, SandboxServer("cloudmails") as cloudmails:
        postmark.faults.queue(Fault.SERVER_ERROR, times=10)
        mailer = Mailer([postmark.provider(), cloudmails.provider()], max_attempts=1, backoff=0)
        result = mailer.send(message(text="Hi"))
        assert result.provider == "cloudmails" and cloudmails.accepted


# --- webhooks -------------------------------------------------------------------------------


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []


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


HOOK_AUTH = "hooks:pm-webhook-password"


def test_the_sandbox_posts_postmarks_events_behind_basic_auth(receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    with SandboxServer("postmark") as server:
        poster = server.send_webhooks(url, secret=HOOK_AUTH)
        result = server.provider().send(message(to=["ann@example.org", "bob@example.org"]))
        server.advance(result.message_ids[0], "clicked")
        assert poster.flush()
    events = []
    for headers, data in receiver.received:
        scheme, _, token = headers["Authorization"].partition(" ")
        assert (scheme, base64.b64decode(token).decode()) == ("Basic", HOOK_AUTH)
        events += parse("postmark", data, headers, secret=HOOK_AUTH)
        # a forged post (other credentials) is refused
        forged = {**headers, "Authorization": "Basic " + base64.b64encode(b"hooks:guess").decode()}
        with pytest.raises(WebhookVerificationError):
            parse("postmark", data, forged, secret=HOOK_AUTH)
        without = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        with pytest.raises(WebhookVerificationError):
            parse("postmark", data, without, secret=HOOK_AUTH)
    assert {e.message_id for e in events} == set(result.message_ids)
    assert {e.recipient for e in events if e.type == EventType.DELIVERED} == {
        "ann@example.org",
        "bob@example.org",
    }
    assert {e.event for e in events} >= {"Delivery", "Open", "Click"}


# Postmark Webhooks: the documented payloads of each webhook page (the fields read)
BOUNCE = {
    "RecordType": "Bounce",
    "ID": 42,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "Test",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "Test bounce details",
    "Email": "john@example.com",
    "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Test subject",
    "Metadata": {"a_key": "a_value"},
    "MessageStream": "outbound",
}
SPAM = {**BOUNCE, "RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512}
DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "Recipient": "john@example.com",
    "Tag": "welcome-email",
    "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details",
    "Metadata": {"a_key": "a_value"},
}
OPEN = {
    "RecordType": "Open",
    "MessageStream": "outbound",
    "FirstOpen": True,
    "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6)",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "ReceivedAt": "2019-11-05T16:33:54.9070259Z",
    "Tag": "welcome-email",
    "Recipient": "john@example.com",
    "Metadata": {"a_key": "a_value"},
}
CLICK = {
    "RecordType": "Click",
    "MessageStream": "outbound",
    "ClickLocation": "HTML",
    "UserAgent": "Mozilla/5.0",
    "OriginalLink": "https://example.com",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "ReceivedAt": "2019-11-05T16:33:54.9070259Z",
    "Tag": "welcome-email",
    "Recipient": "john@example.com",
    "Metadata": {"a_key": "a_value"},
}
CHANGE = {
    "RecordType": "SubscriptionChange",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "ServerID": 23,
    "MessageStream": "outbound",
    "ChangedAt": "2019-11-05T16:33:54.9070259Z",
    "Recipient": "john@example.com",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "welcome-email",
    "Metadata": {"a_key": "a_value"},
}


def basic(credentials: str) -> dict[str, str]:
    token = base64.b64encode(credentials.encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("payload", "kind", "reason", "url"),
    [
        (BOUNCE, EventType.BOUNCED, BounceReason.NO_SUCH_USER, None),
        ({**BOUNCE, "Type": "SoftBounce"}, EventType.SOFT_BOUNCED, BounceReason.OTHER, None),
        ({**BOUNCE, "Type": "Transient"}, EventType.SOFT_BOUNCED, BounceReason.OTHER, None),
        ({**BOUNCE, "Type": "Blocked"}, EventType.REJECTED, BounceReason.BLACKLISTED, None),
        (SPAM, EventType.COMPLAINED, BounceReason.SPAM, None),
        (DELIVERY, EventType.DELIVERED, None, None),
        (OPEN, EventType.OPENED, None, None),
        (CLICK, EventType.CLICKED, None, "https://example.com"),
        (CHANGE, EventType.UNSUBSCRIBED, BounceReason.UNSUBSCRIBED, None),
        ({**CHANGE, "SuppressSending": False}, EventType.UNKNOWN, BounceReason.UNSUBSCRIBED, None),
    ],
)
def test_each_documented_webhook_payload_reads_into_one_event(payload, kind, reason, url):
    (event,) = parse("postmark", json.dumps(payload), basic(HOOK_AUTH), secret=HOOK_AUTH)
    assert (event.type, event.reason, event.url) == (kind, reason, url)
    assert event.recipient == "john@example.com"
    assert event.message_id == payload["MessageID"]
    assert event.timestamp == datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC)
    assert event.metadata == {"a_key": "a_value"}
    assert event.event == payload["RecordType"]


def test_a_password_alone_is_taken_as_the_secret_and_a_wrong_one_refused():
    (event,) = parse(
        "postmark", json.dumps(DELIVERY), basic(HOOK_AUTH), secret="pm-webhook-password"
    )
    assert event.type == EventType.DELIVERED
    with pytest.raises(WebhookVerificationError):
        parse("postmark", json.dumps(DELIVERY), basic("hooks:other"), secret=HOOK_AUTH)
