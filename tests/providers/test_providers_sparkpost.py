"""SparkPost on the wire (spec/sparkpost.yaml): a transmission carries every recipient
as an address object (cc and bcc with the To header they are shown, and a CC header:
"SparkPost: Using CC and BCC with the REST API"), the content inside `content`, the
API key as the bare Authorization header ("SparkPost API: API Overview",
Authentication); errors by HTTP status; message events by transmission id with
next-link pages; batched webhooks behind basic auth. Real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from providers_support import message, only_request, requests
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import Attachment, Message
from mailspec.errors import (
    AuthenticationError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    UnsupportedOperation,
    ValidationError,
    WebhookVerificationError,
)
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import BounceReason, DeliveryState, EventType
from mailspec.webhooks import parse

SEND = "/api/v1/transmissions"
EVENTS = "/api/v1/events/message"
ANSWER = {
    "results": {
        "total_rejected_recipients": 0,
        "total_accepted_recipients": 1,
        "id": "11668787484950529",
    }
}


@pytest.fixture
def sparkpost(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "sparkpost", api_key="sp-key", base_url=httpserver.url_for("/api/v1/"), timeout=5
    )


def body(request: Any) -> Any:
    return json.loads(request.get_data())


def answer(httpserver: HTTPServer, status: int = 200, doc: Any = None, **headers: str) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        ANSWER if doc is None else doc, status=status, headers=headers
    )


# --- send -----------------------------------------------------------------------------


def test_a_plain_message_is_one_transmission_with_the_bare_api_key(httpserver, sparkpost):
    answer(httpserver)
    result = sparkpost.send(message(from_name="Shop", text="Hi"))
    request = only_request(httpserver)
    assert request.headers["Authorization"] == "sp-key"  # no "Bearer"
    assert request.headers["Content-Type"] == "application/json"
    assert body(request) == {
        "recipients": [{"address": {"email": "ann@example.org", "header_to": "ann@example.org"}}],
        "content": {
            "from": "Shop <noreply@example.com>",
            "subject": "Your order",
            "html": "<p>Hi</p>",
            "text": "Hi",
        },
    }
    assert result.provider == "sparkpost" and result.message_ids == ["11668787484950529"]


def test_to_cc_and_bcc_are_recipients_shown_the_to_header_and_cc_gets_a_cc_header(
    httpserver, sparkpost
):
    answer(httpserver)
    sparkpost.send(
        message(
            to=["Ann Smith <ann@example.org>", "bob@example.org"],
            cc=["Cy Young <cy@example.org>", "dee@example.org"],
            bcc=["Eve <eve@example.org>"],
            reply_to=["Help Desk <help@example.com>", "ops@example.com"],
            headers={"X-Order": "7"},
        )
    )
    sent = body(only_request(httpserver))
    shown = "Ann Smith <ann@example.org>, bob@example.org"
    assert sent["recipients"] == [
        {"address": {"email": email, "header_to": shown}}
        for email in (
            "ann@example.org",
            "bob@example.org",
            "cy@example.org",
            "dee@example.org",
            "eve@example.org",
        )
    ]
    # the bcc recipient is in no header
    assert sent["content"]["headers"] == {
        "X-Order": "7",
        "CC": "Cy Young <cy@example.org>, dee@example.org",
    }
    assert sent["content"]["reply_to"] == "Help Desk <help@example.com>, ops@example.com"


def test_a_cc_header_of_the_message_itself_is_refused_before_any_request(httpserver, sparkpost):
    with pytest.raises(ValidationError) as info:
        sparkpost.send(message(cc=["cy@example.org"], headers={"cc": "someone@example.org"}))
    assert info.value.field.lower() == "headers[cc]"
    assert httpserver.log == []


def test_attachments_and_inline_images_go_apart_with_sparkposts_keys(httpserver, sparkpost):
    answer(httpserver)
    pdf, png = b"%PDF-1.4\x00\xff", b"\x89PNG\r\n"
    sparkpost.send(
        message(
            attachments=[
                Attachment("invoice.pdf", pdf, "application/pdf"),
                Attachment("notes.txt", "é".encode(), "text/plain"),
                Attachment("logo.png", png, "image/png", content_id="logo"),
            ]
        )
    )
    content = body(only_request(httpserver))["content"]
    assert content["attachments"] == [
        {"name": "invoice.pdf", "type": "application/pdf", "data": base64.b64encode(pdf).decode()},
        {"name": "notes.txt", "type": "text/plain; charset=utf-8", "data": "w6k="},
    ]
    # "name ... will be inserted into the Content-ID header" (Inline Image Object)
    assert content["inline_images"] == [
        {"name": "logo", "type": "image/png", "data": base64.b64encode(png).decode()}
    ]


def test_one_tag_is_the_campaign_and_metadata_scheduling_and_tracking_are_options(
    httpserver, sparkpost
):
    answer(httpserver)
    sparkpost.send(
        message(
            tags=["welcome"],
            metadata={"order_id": "7", "tier": "gold"},
            send_at=datetime(2026, 12, 24, 9, 30, 0, 250000, tzinfo=UTC),
            track_opens=True,
            track_clicks=False,
        )
    )
    sent = body(only_request(httpserver))
    assert sent["campaign_id"] == "welcome"
    assert sent["metadata"] == {"order_id": "7", "tier": "gold"}
    # click_tracking defaults to true at SparkPost: False is sent as false
    assert sent["options"] == {
        "start_time": "2026-12-24T09:30:00+00:00",
        "open_tracking": True,
        "click_tracking": False,
    }


def test_two_tags_are_refused_not_cut_to_one(httpserver, sparkpost):
    with pytest.raises(ValidationError) as info:
        sparkpost.send(message(tags=["a", "b"]))
    assert info.value.field in ("tags", "campaign_id")
    assert httpserver.log == []


def test_a_mailer_skips_sparkpost_for_two_tags():
    with SandboxServer("sparkpost") as sandbox:
        mailer = mailspec.Mailer([sandbox.provider()])
        with pytest.raises(mailspec.errors.MailspecError):
            mailer.send(message(tags=["a", "b"]))
        assert sandbox.accepted == []


def test_provider_options_join_the_request(httpserver, sparkpost):
    """anymail's esp_extra: an object merged into the nested place it names, key by key
    (`options` keeps the tracking options); others join the top level."""
    answer(httpserver)
    sparkpost.send(
        message(
            track_opens=True,
            provider_options={
                "sparkpost": {"options": {"transactional": True}, "description": "d"}
            },
        )
    )
    sent = body(only_request(httpserver))
    assert sent["options"] == {"open_tracking": True, "transactional": True}
    assert sent["description"] == "d"


def test_a_template_goes_with_its_variables_and_without_a_from(httpserver, sparkpost):
    answer(httpserver)
    sparkpost.send(
        Message(
            from_email="Shop <shop@example.com>",
            to=["Ann <ann@example.org>"],
            bcc=["audit@example.com"],
            template="black_friday",
            variables={"discount": "25%"},
            tags=["promo"],
        )
    )
    assert body(only_request(httpserver)) == {
        "recipients": [
            {"address": {"email": "ann@example.org", "header_to": "Ann <ann@example.org>"}},
            {"address": {"email": "audit@example.com", "header_to": "Ann <ann@example.org>"}},
        ],
        "content": {"template_id": "black_friday"},
        "substitution_data": {"discount": "25%"},
        "campaign_id": "promo",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hi"),  # "Both content object and template_id are specified"
        ("cc", ["cy@example.org"]),
        ("headers", {"X-A": "1"}),
        ("attachments", [Attachment("a.pdf", b"%PDF", "application/pdf")]),
        ("reply_to", "help@example.com"),
    ],
)
def test_what_a_template_send_ignores_is_refused_before_any_request(
    httpserver, sparkpost, field, value
):
    template = Message(from_email="shop@example.com", to=["ann@example.org"], template="t")
    with pytest.raises(UnsupportedOperation, match=field):
        sparkpost.send(mailspec.Message(**{**_fields(template), field: value}))
    assert httpserver.log == []


def _fields(m: Message) -> dict[str, Any]:
    return {f: getattr(m, f) for f in m.__struct_fields__ if getattr(m, f) not in (None, [], {})}


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "doc", "error"),
    [
        (401, {"errors": [{"message": "Unauthorized."}]}, AuthenticationError),
        # "SparkPost API: Transmissions", Sending Limits
        (
            420,
            {"errors": [{"message": "Exceed Sending Limit (hourly)", "code": "2101"}]},
            QuotaExceededError,
        ),
        # "SparkPost API: API Overview", Errors, Example Error
        (
            422,
            {
                "errors": [
                    {
                        "message": "required field is missing",
                        "description": "content object or template_id required",
                        "code": "1400",
                    }
                ]
            },
            ProviderValidationError,
        ),
        # "SparkPost API: Transmissions", Send Inline Content
        (
            400,
            {
                "errors": [
                    {
                        "description": "Unconfigured or unverified sending domain.",
                        "code": "7001",
                        "message": "Invalid domain",
                    }
                ]
            },
            ProviderValidationError,
        ),
    ],
)
def test_documented_error_answers_raise_their_class(httpserver, sparkpost, status, doc, error):
    answer(httpserver, status, doc)
    with pytest.raises(error) as info:
        sparkpost.send(message())
    assert info.value.http_status == status
    assert doc["errors"][0]["message"] in str(info.value)  # errors[0].message
    assert "sp-key" not in repr(info.value) and "sp-key" not in str(info.value)


def test_too_many_requests_is_a_rate_limit_with_its_retry_after(httpserver, sparkpost):
    answer(httpserver, 429, {"errors": [{"message": "Too many requests"}]}, **{"Retry-After": "3"})
    with pytest.raises(RateLimitError) as info:
        sparkpost.send(message())
    assert info.value.retry_after == 3.0
    assert info.value.retryable


# --- provider URL and regions ----------------------------------------------------------


def test_provider_urls_pick_the_documented_region():
    us = mailspec.provider_from_url("sparkpost://KEY123@")
    eu = mailspec.provider_from_url("sparkpost://KEY123@eu")
    assert us.client.base_url == "https://api.sparkpost.com/api/v1/"
    assert eu.client.base_url == "https://api.eu.sparkpost.com/api/v1/"
    (request,) = eu.requests(message())
    assert request.url == "https://api.eu.sparkpost.com/api/v1/transmissions"
    assert request.headers["Authorization"] == "KEY123"
    assert "KEY123" not in repr(eu) and "KEY123" not in repr(request)


# --- status: message events -----------------------------------------------------------


def _event(kind: str, tid: str, rcpt: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "transmission_id": tid,
        "rcpt_to": rcpt,
        "timestamp": "2016-04-18T14:25:07.000+00:00",
        **extra,
    }


def test_status_reads_message_events_page_by_page(httpserver, sparkpost):
    """ "SparkPost API: Events", Pagination: `links.next` is the next page's URL, a path
    from the host (/api/v1/events/message?...&cursor=...)."""
    nxt = "/api/v1/events/message?transmissions=t1&per_page=1000&cursor=WycyMDE4"
    httpserver.expect_ordered_request(
        EVENTS, method="GET", query_string="transmissions=t1&per_page=1000"
    ).respond_with_json(
        {
            "results": [_event("injection", "t1", "ann@example.org")],
            "total_count": 3,
            "links": {"next": nxt},
        }
    )
    httpserver.expect_ordered_request(
        EVENTS, method="GET", query_string="transmissions=t1&per_page=1000&cursor=WycyMDE4"
    ).respond_with_json(
        {
            "results": [
                _event("delivery", "t1", "ann@example.org"),
                _event(
                    "bounce",
                    "t1",
                    "bob@example.org",
                    reason="550 5.1.1 no such user",
                    bounce_class="10",
                ),
            ],
            "total_count": 3,
            "links": {},
        }
    )
    statuses = sparkpost.status(["t1"])
    assert [(s.message_id, s.recipient, s.state) for s in statuses] == [
        ("t1", "ann@example.org", DeliveryState.QUEUED),
        ("t1", "ann@example.org", DeliveryState.DELIVERED),
        ("t1", "bob@example.org", DeliveryState.BOUNCED),
    ]
    assert statuses[2].description == "550 5.1.1 no such user"
    # "SparkPost: Bounce Classification Codes": 10, Invalid Recipient (Hard)
    assert statuses[2].reason == BounceReason.NO_SUCH_USER
    for request in requests(httpserver):
        assert request.headers["Authorization"] == "sp-key"


def test_status_takes_no_time_window(httpserver, sparkpost):
    with pytest.raises(UnsupportedOperation):
        sparkpost.status(since=datetime(2026, 12, 1, tzinfo=UTC))
    assert httpserver.log == []


# --- the sandbox ----------------------------------------------------------------------


def test_the_sandbox_takes_mailspecs_sends_and_templates():
    with SandboxServer("sparkpost") as sandbox:
        provider = sandbox.provider()
        sent = provider.send(
            message(
                to=["Ann <ann@example.org>"],
                cc=["cy@example.org"],
                bcc=["eve@example.org"],
                attachments=[Attachment("logo.png", b"\x89PNG", "image/png", content_id="l")],
                tags=["t"],
                metadata={"k": "v"},
                track_clicks=False,
            )
        )
        template = provider.send(
            Message(
                from_email="s@example.com",
                to=["bo@example.org"],
                template="welcome",
                variables={"name": "Bo"},
            )
        )
        assert len(sent.message_ids) == 1 and len(template.message_ids) == 1
        rows = sandbox.accepted
        assert [(r.operation, r.recipient) for r in rows] == [
            ("send", "ann@example.org"),
            ("send", "cy@example.org"),
            ("send", "eve@example.org"),
            ("send_template", "bo@example.org"),
        ]
        assert provider.status(sent.message_ids)[0].state == DeliveryState.DELIVERED


@pytest.mark.parametrize(
    ("headers", "doc", "status"),
    [
        # a bearer token where SparkPost takes the bare key
        ({"Authorization": "Bearer sandbox-api-key"}, None, 401),
        # recipients as strings, not address objects
        (
            None,
            {
                "recipients": ["ann@example.org"],
                "content": {"from": "s@example.com", "subject": "s", "text": "t"},
            },
            400,
        ),
        # a content key the spec does not declare
        (
            None,
            {
                "recipients": [{"address": {"email": "ann@example.org"}}],
                "content": {"from": "s@example.com", "subject": "s", "text": "t", "x": 1},
            },
            400,
        ),
        # an address object with another key
        (
            None,
            {
                "recipients": [{"address": {"email": "ann@example.org", "nick": "A"}}],
                "content": {"from": "s@example.com", "subject": "s", "text": "t"},
            },
            400,
        ),
    ],
)
def test_the_sandbox_refuses_other_forms(headers, doc, status):
    import urllib.request

    with SandboxServer("sparkpost") as sandbox:
        good = {
            "recipients": [{"address": {"email": "ann@example.org"}}],
            "content": {"from": "s@example.com", "subject": "s", "text": "t"},
        }
        sent = json.dumps(doc or good).encode()
        request = urllib.request.Request(
            sandbox.base_url + "transmissions",
            data=sent,
            headers={
                "Content-Type": "application/json",
                **(headers or {"Authorization": sandbox.credentials["api_key"]}),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                got = reply.status
        except urllib.error.HTTPError as exc:
            got = exc.code
        assert got == status
        assert sandbox.accepted == []


# --- webhooks -------------------------------------------------------------------------

BATCH = [
    {
        "msys": {
            "message_event": {
                "type": "delivery",
                "transmission_id": "65832150921904138",
                "rcpt_to": "recipient@example.com",
                "timestamp": "1460989507",
                "rcpt_meta": {"customKey": "customValue"},
            }
        }
    },
    {
        "msys": {
            "track_event": {
                "type": "click",
                "transmission_id": "65832150921904138",
                "rcpt_to": "recipient@example.com",
                "timestamp": "1460989507",
                "target_link_url": "http://example.com",
                "user_agent": "Mozilla/5.0",
            }
        }
    },
    {
        "msys": {
            "message_event": {
                "type": "bounce",
                "transmission_id": "65832150921904138",
                "rcpt_to": "gone@example.com",
                "timestamp": "1460989507",
                "reason": "550 5.1.1 no such user",
                "bounce_class": "10",
            }
        }
    },
]


def _basic(credentials: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        "Content-Type": "application/json",
    }


def test_a_webhook_batch_is_read_whatever_wraps_each_event():
    events = parse("sparkpost", json.dumps(BATCH), _basic("hooks:s3cret"), secret="hooks:s3cret")
    assert [(e.type, e.message_id, e.recipient) for e in events] == [
        (EventType.DELIVERED, "65832150921904138", "recipient@example.com"),
        (EventType.CLICKED, "65832150921904138", "recipient@example.com"),
        (EventType.BOUNCED, "65832150921904138", "gone@example.com"),
    ]
    assert events[0].metadata == {"customKey": "customValue"}
    assert events[1].url == "http://example.com"
    assert events[2].description == "550 5.1.1 no such user"
    assert events[2].reason == BounceReason.NO_SUCH_USER
    assert events[0].timestamp == datetime(2016, 4, 18, 14, 25, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        _basic("hooks:forged"),
        _basic("other:s3cret"),
        {"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
    ],
)
def test_a_webhook_without_its_basic_auth_credentials_is_refused(headers):
    with pytest.raises(WebhookVerificationError):
        parse("sparkpost", json.dumps(BATCH), headers, secret="hooks:s3cret")


def test_the_sandbox_posts_batches_that_verify_with_basic_auth(tmp_path):
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
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with SandboxServer("sparkpost") as sandbox:
            sandbox.send_webhooks(
                f"http://127.0.0.1:{server.server_address[1]}/hooks", secret="hooks:s3cret"
            )
            result = sandbox.provider().send(
                message(to=["ann@example.org"], metadata={"order": "7"})
            )
            sandbox.report(result.message_ids[0], EventType.CLICKED)
            assert sandbox.webhooks is not None and sandbox.webhooks.flush()
    finally:
        server.shutdown()
        server.server_close()
    assert received
    events = []
    for headers, data in received:
        assert isinstance(json.loads(data), list)  # batches
        events += parse("sparkpost", data, headers, secret="hooks:s3cret")
        with pytest.raises(WebhookVerificationError):
            parse("sparkpost", data, headers, secret="hooks:other")
    kinds = {(e.type, e.message_id, e.recipient) for e in events}
    assert (EventType.DELIVERED, result.message_ids[0], "ann@example.org") in kinds
    assert (EventType.CLICKED, result.message_ids[0], "ann@example.org") in kinds
    click = next(e for e in events if e.type == EventType.CLICKED)
    assert "track_event" in json.dumps([json.loads(d) for _, d in received])
    assert click.metadata == {"order": "7"}


@pytest.mark.parametrize(
    ("kind", "bounce_class", "state", "reason"),
    [
        ("bounce", "10", EventType.BOUNCED, BounceReason.NO_SUCH_USER),
        ("bounce", "25", EventType.REJECTED, BounceReason.BLACKLISTED),
        ("bounce", "51", EventType.SOFT_BOUNCED, BounceReason.SPAM),
        ("delay", "22", EventType.SOFT_BOUNCED, BounceReason.OTHER),
        ("out_of_band", "30", EventType.BOUNCED, BounceReason.INVALID_ADDRESS),
    ],
)
def test_a_bounce_class_gives_the_state_and_reason(kind, bounce_class, state, reason):
    """ "SparkPost: Bounce Classification Codes": hard ones bounce, soft and block ones
    are temporary, Admin Failure (25) is SparkPost's own policy."""
    event = {
        "type": kind,
        "transmission_id": "t1",
        "rcpt_to": "ann@example.org",
        "timestamp": "1460989507",
        "bounce_class": bounce_class,
    }
    body = json.dumps([{"msys": {"message_event": event}}])
    (parsed,) = parse("sparkpost", body, _basic("hooks:s3cret"), secret="hooks:s3cret")
    assert (parsed.type, parsed.reason) == (state, reason)


def test_the_sandbox_reports_a_hard_bounce_with_its_class():
    with SandboxServer("sparkpost") as sandbox:
        provider = sandbox.provider()
        sandbox.set_outcome("bounced", sub_status=10)
        sent = provider.send(message(to=["gone@example.org"]))
        (status,) = provider.status(sent.message_ids)
        assert (status.state, status.reason) == (DeliveryState.BOUNCED, BounceReason.NO_SUCH_USER)


def test_attachments_over_the_documented_content_limit_are_refused_before_any_request(
    httpserver, sparkpost
):
    """ "SparkPost API: Transmissions", Create a Transmission: content "is limited to
    20 MBs"; inline images count with the attachments."""
    files = [
        Attachment("a.bin", b"x" * 15_000_000, "application/octet-stream"),
        Attachment("i.png", b"x" * 6_000_000, "image/png", content_id="i"),
    ]
    with pytest.raises(ValidationError) as info:
        sparkpost.send(message(attachments=files))
    assert info.value.field == "attachments"
    assert httpserver.log == []


@pytest.mark.parametrize("fault", ["server_error", "rate_limit"])
def test_sparkpost_down_fails_over_to_sendgrid_over_real_http(fault):
    """A pool of mainstream providers, each a sandbox on 127.0.0.1: SparkPost answering
    500 (or 429) moves the message to SendGrid, which delivers it."""
    with SandboxServer("sparkpost") as sparkpost, SandboxServer("sendgrid") as sendgrid:
        sparkpost.faults.queue(fault, times=5)
        mailer = mailspec.Mailer(
            [sparkpost.provider(), sendgrid.provider()], max_attempts=2, backoff=0
        )
        result = mailer.send(message(to=["Ann <ann@example.org>"], cc=["cy@example.org"]))
        assert result.provider == "sendgrid"
        tried = [a.provider for a in result.attempts]
        assert tried[0] == "sparkpost" and tried[-1] == "sendgrid", tried
        assert sparkpost.accepted == []
        assert {a.recipient for a in sendgrid.accepted} >= {"ann@example.org"}


def test_the_validation_ping_yields_no_event_and_is_answered_200():
    """ "SparkPost API: Event Webhooks", Validate a Webhook: SparkPost posts
    [{"msys": {}}] and wants HTTP 200; still behind the basic-auth credentials."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import urllib3

    from mailspec.webhooks import WebhookApp

    ping = json.dumps([{"msys": {}}])
    assert parse("sparkpost", ping, _basic("hooks:s3cret"), secret="hooks:s3cret") == []
    with pytest.raises(WebhookVerificationError):
        parse("sparkpost", ping, _basic("hooks:forged"), secret="hooks:s3cret")
    # a ping beside an event: the event only
    mixed = json.dumps([{"msys": {}}, BATCH[0]])
    (event,) = parse("sparkpost", mixed, _basic("hooks:s3cret"), secret="hooks:s3cret")
    assert event.type == EventType.DELIVERED

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    received: list[Any] = []
    app = WebhookApp("sparkpost", received.append, secret="hooks:s3cret")
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        http = urllib3.PoolManager(timeout=5, retries=False)
        ok = http.request("POST", url, body=ping, headers=_basic("hooks:s3cret"))
        forged = http.request("POST", url, body=ping, headers=_basic("hooks:nope"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert (ok.status, forged.status) == (200, 401)
    assert received == []
