"""Mailgun on the wire (spec/mailgun.yaml): multipart/form-data or a url-encoded form
with HTTP basic auth api:KEY, the sending domain in the path, every Message field Mailgun
takes in its documented form, its error answers, its provider URL, its sandbox and its
signed webhooks. Sources: "Mailgun API: Messages", "Mailgun: Send via HTTP", "Mailgun:
Tags", "Mailgun: Batch Sending", "Mailgun API: Templates", "Mailgun: Sending Options",
"Mailgun: API Response Codes", "Mailgun: Securing Webhooks".

Real HTTP over 127.0.0.1 (pytest-httpserver, the sandbox); nothing of mailspec is mocked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import urllib3
from providers_support import message, only_request
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import (
    Attachment,
    AuthenticationError,
    NotFoundError,
    ProviderServerError,
    ProviderValidationError,
    RateLimitError,
    ValidationError,
    WebhookVerificationError,
)
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import DeliveryState, EventType
from mailspec.webhooks import ReplayGuard, parse

KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
DOMAIN = "mg.example.com"
SEND = f"/v3/{DOMAIN}/messages"
QUEUED = {"id": "<20111114174239.25659.5817@samples.mailgun.org>", "message": "Queued. Thank you."}


@pytest.fixture
def mailgun(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "mailgun", api_key=KEY, domain=DOMAIN, base_url=httpserver.url_for("/"), timeout=5
    )


def form(request: Any) -> dict[str, list[str]]:
    """The fields of a url-encoded or multipart form, each name's values in order
    (file parts left out)."""
    kind = request.headers["Content-Type"]
    if kind.startswith("application/x-www-form-urlencoded"):
        return parse_qs(request.get_data(as_text=True), keep_blank_values=True)
    fields: dict[str, list[str]] = {}
    for part in _parts(request):
        if part.get_filename() is None:
            name = str(part.get_param("name", header="content-disposition"))
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            fields.setdefault(name, []).append(payload.decode())
    return fields


def files(request: Any) -> list[tuple[str, str, str, bytes]]:
    """(field, file name, content type, bytes) of each file part."""
    out = []
    for part in _parts(request):
        if part.get_filename() is not None:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            name = str(part.get_param("name", header="content-disposition"))
            out.append((name, str(part.get_filename()), part.get_content_type(), payload))
    return out


def _parts(request: Any) -> list[Any]:
    head = b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n"
    return list(BytesParser(policy=HTTP).parsebytes(head + request.get_data()).iter_parts())


def basic_auth(request: Any) -> tuple[str, str]:
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(value).decode().partition(":")
    return user, password


# --- the documented requests ----------------------------------------------------------


def test_the_documented_basic_send_is_exactly_its_form(httpserver, mailgun):
    """ "Mailgun: Send via HTTP", Sending Basic Text: --user 'api:YOUR_API_KEY',
    POST /v3/YOUR_DOMAIN_NAME/messages, -F from='Excited User <...>' -F to=..."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(QUEUED)
    result = mailgun.send(
        message(
            from_email="postmaster@mg.example.com",
            from_name="Excited User",
            to=["recipient-1@example.com"],
            subject="Hello",
            html=None,
            text="Testing some Mailgun awesomeness!",
        )
    )
    request = only_request(httpserver)
    assert (request.method, request.path) == ("POST", SEND)
    assert basic_auth(request) == ("api", KEY)
    assert form(request) == {
        "from": ["Excited User <postmaster@mg.example.com>"],
        "to": ["recipient-1@example.com"],
        "subject": ["Hello"],
        "text": ["Testing some Mailgun awesomeness!"],
    }
    assert result.provider == "mailgun"
    assert result.message_ids == ["<20111114174239.25659.5817@samples.mailgun.org>"]


def test_every_message_field_mailgun_takes_goes_where_its_documents_say(httpserver, mailgun):
    httpserver.expect_request(SEND, method="POST").respond_with_json(QUEUED)
    mailgun.send(
        message(
            from_email="Shop <orders@mg.example.com>",
            to=['"Lee, Ann" <ann@example.org>', "bob@example.org"],
            cc=["Carl Ng <carl@example.org>"],
            bcc=["dee@example.org"],
            reply_to=["Help Desk <help@mg.example.com>", "desk@mg.example.com"],
            text="It ships today.",
            headers={"X-Order": "1042", "List-Unsubscribe": "<mailto:u@mg.example.com>"},
            tags=["order", "shipping", "eu"],
            metadata={"user_id": "42", "plan": "pro"},
            track_opens=True,
            track_clicks=False,
            recipient_variables={"ann@example.org": {"first": "Ann"}},
            attachments=[
                Attachment("invoice.pdf", b"%PDF-1.4", "application/pdf"),
                Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@shop.example"),
            ],
        )
    )
    request = only_request(httpserver)
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert form(request) == {
        "from": ["Shop <orders@mg.example.com>"],
        # "Mailgun API: Messages": to/cc/bcc repeated, "Bob <bob@host.com>" names kept
        "to": ['"Lee, Ann" <ann@example.org>', "bob@example.org"],
        "cc": ["Carl Ng <carl@example.org>"],
        "bcc": ["dee@example.org"],
        "subject": ["Your order"],
        "text": ["It ships today."],
        "html": ["<p>Hi</p>"],
        "h:Reply-To": ["Help Desk <help@mg.example.com>, desk@mg.example.com"],
        "h:X-Order": ["1042"],
        "h:List-Unsubscribe": ["<mailto:u@mg.example.com>"],
        "o:tag": ["order", "shipping", "eu"],  # "Mailgun: Tags": repeated, up to 3
        "v:user_id": ["42"],
        "v:plan": ["pro"],
        "o:tracking-opens": ["yes"],  # "Mailgun: Sending Options": yes or no
        "o:tracking-clicks": ["no"],
        "recipient-variables": ['{"ann@example.org":{"first":"Ann"}}'],
    }
    # "Mailgun API: Messages": attachment and inline parts; an inline part is named by
    # its content id, which the html's cid: reference names
    assert files(request) == [
        ("attachment", "invoice.pdf", "application/pdf", b"%PDF-1.4"),
        ("inline", "logo@shop.example", "image/png", b"\x89PNG"),
    ]


def test_a_stored_template_goes_as_template_and_t_variables(httpserver, mailgun):
    """ "Mailgun API: Templates", Send templates: template=..., t:variables='{...}'."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(QUEUED)
    mailgun.send(
        message(html=None, template="welcome-1", variables={"name": "Ann", "order": "1042"})
    )
    sent = form(only_request(httpserver))
    assert sent["template"] == ["welcome-1"]
    assert json.loads(sent["t:variables"][0]) == {"name": "Ann", "order": "1042"}
    assert "html" not in sent and "text" not in sent


def test_the_domain_fills_the_path_and_eu_is_the_eu_host() -> None:
    us = mailspec.provider("mailgun", api_key=KEY, domain=DOMAIN)
    eu = mailspec.provider("mailgun", api_key=KEY, domain=DOMAIN, region="eu")
    assert us.client.base_url == "https://api.mailgun.net/"
    assert eu.client.base_url == "https://api.eu.mailgun.net/"
    (request,) = eu.requests(message())
    assert request.url == "https://api.eu.mailgun.net/v3/mg.example.com/messages"
    assert KEY not in repr(eu) and KEY not in repr(request)


def test_four_tags_are_refused_before_any_request(httpserver, mailgun):
    """ "Mailgun: Tags": "A single message may be marked with up to 3 tags"."""
    with pytest.raises(ValidationError) as error:
        mailgun.send(message(tags=["a", "b", "c", "d"]))
    assert error.value.field == "tags"
    assert httpserver.log == []


def test_a_message_without_body_or_template_is_refused_before_any_request(httpserver, mailgun):
    with pytest.raises(ValidationError):
        mailgun.send(message(html=None))
    assert httpserver.log == []


def test_scheduled_sending_writes_an_rfc_2822_delivery_time(httpserver, mailgun):
    """ "Mailgun: Sending Options": o:deliverytime, in RFC 2822 format ("Mailgun API:
    Messages", Date Format), the way django-anymail writes it too."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(QUEUED)
    when = datetime(2030, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    mailgun.send(message(send_at=when))
    assert form(only_request(httpserver))["o:deliverytime"] == ["Tue, 01 Jan 2030 09:30:00 +0200"]
    with SandboxServer("mailgun") as server:
        server.provider().send(message(send_at=when))
        assert server.accepted[0].params["deliverytime"] == "Tue, 01 Jan 2030 09:30:00 +0200"
        # the sandbox takes only RFC 2822, as Mailgun does
        iso = [*BASE_FIELDS, ("o:deliverytime", "2030-01-01T09:30:00+02:00")]
        assert _raw(server, iso).status == 400


# --- error answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"message": "'from' parameter is missing"}, ProviderValidationError),
        (401, {"message": "Forbidden"}, AuthenticationError),
        (403, {"message": "Forbidden"}, AuthenticationError),
        (404, {"message": "Domain not found"}, NotFoundError),
        (413, {"message": "Request Entity Too Large"}, ProviderValidationError),
        (500, {"message": "Internal Server Error"}, ProviderServerError),
    ],
)
def test_error_answers_map_to_their_classes(httpserver, mailgun, status, body, error):
    httpserver.expect_request(SEND, method="POST").respond_with_json(body, status=status)
    with pytest.raises(error) as raised:
        mailgun.send(message())
    assert raised.value.http_status == status
    assert body["message"] in str(raised.value)
    assert KEY not in str(raised.value) and KEY not in repr(raised.value)


def test_a_rate_limit_answer_reads_retry_after(httpserver, mailgun):
    """ "Mailgun: API Response Codes", 429: "retry these requests as defined in the
    response"."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"message": "Too many requests"}, status=429, headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimitError) as raised:
        mailgun.send(message())
    assert raised.value.retry_after == 7
    assert raised.value.retryable


# --- status: the events API ----------------------------------------------------------

EVENTS = f"/v3/{DOMAIN}/events"


def _event(event: str, at: float, **more: Any) -> dict[str, Any]:
    """An event as "Mailgun API: Events" lists it (the fields the spec reads)."""
    return {
        "id": f"ev-{event}",
        "event": event,
        "timestamp": at,
        "recipient": "ann@example.org",
        "message": {"headers": {"message-id": "20111114174239.25659.5817@samples.mailgun.org"}},
        **more,
    }


def test_status_reads_the_events_page_by_page(httpserver, mailgun):
    """ "Mailgun API: Events": GET /v3/{domain}/events?message-id=..., items and a
    paging.next URL; the last page is empty."""
    first = {
        "items": [_event("accepted", 1700000000.5)],
        "paging": {"next": httpserver.url_for(EVENTS) + "?page=2", "previous": ""},
    }
    second = {
        "items": [
            _event(
                "failed",
                1700000060.25,
                severity="temporary",
                **{"delivery-status": {"code": 452, "description": "mailbox full"}},
            ),
        ],
        "paging": {"next": httpserver.url_for(EVENTS) + "?page=3"},
    }
    last = {"items": [], "paging": {"next": httpserver.url_for(EVENTS) + "?page=3"}}
    httpserver.expect_ordered_request(EVENTS, method="GET").respond_with_json(first)
    httpserver.expect_ordered_request(EVENTS, method="GET").respond_with_json(second)
    httpserver.expect_ordered_request(EVENTS, method="GET").respond_with_json(last)
    statuses = mailgun.status([QUEUED["id"]])
    asked = [request for request, _ in httpserver.log]
    assert asked[0].args.to_dict() == {"message-id": QUEUED["id"], "limit": "300"}
    assert [r.args.get("page") for r in asked] == [None, "2", "3"]
    assert all(basic_auth(r) == ("api", KEY) for r in asked)
    assert [(s.state, s.code, s.sub_code) for s in statuses] == [
        (DeliveryState.QUEUED, "accepted", None),
        (DeliveryState.SOFT_BOUNCED, "failed", "temporary"),
    ]
    assert statuses[1].description == "mailbox full"
    assert statuses[0].timestamp == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert statuses[0].message_id == "20111114174239.25659.5817@samples.mailgun.org"


def test_the_sandbox_answers_status_from_its_events() -> None:
    with SandboxServer("mailgun") as server:
        provider = server.provider()
        server.set_outcome("bounced")
        sent = provider.send(message(to=["ann@example.org", "bob@example.org"]))
        statuses = provider.status(sent.message_ids)
        assert sorted(s.recipient or "" for s in statuses) == ["ann@example.org", "bob@example.org"]
        assert {s.state for s in statuses} == {DeliveryState.BOUNCED}
        assert all(s.timestamp is not None and s.timestamp.tzinfo for s in statuses)


# --- provider URL ---------------------------------------------------------------------


def test_the_provider_url_carries_the_key_the_region_and_the_domain() -> None:
    provider = mailspec.provider_from_url(f"mailgun://api:{KEY}@eu?domain={DOMAIN}")
    assert provider.name == "mailgun"
    assert provider.client.base_url == "https://api.eu.mailgun.net/"
    (request,) = provider.requests(message())
    assert request.url == f"https://api.eu.mailgun.net/v3/{DOMAIN}/messages"
    user, password = base64.b64decode(request.headers["Authorization"][6:]).decode().split(":")
    assert (user, password) == ("api", KEY)
    assert KEY not in repr(provider)
    us = mailspec.provider_from_url(f"mailgun://api:{KEY}@?domain={DOMAIN}")
    assert us.client.base_url == "https://api.mailgun.net/"


# --- the sandbox ----------------------------------------------------------------------


def test_the_sandbox_takes_mailspecs_sends_with_every_field() -> None:
    with SandboxServer("mailgun") as server:
        provider = server.provider()
        result = provider.send(
            message(
                to=["Ann <ann@example.org>", "bob@example.org"],
                cc=["carl@example.org"],
                tags=["a", "b"],
                metadata={"k": "v"},
                headers={"X-Order": "7"},
                track_opens=True,
                attachments=[
                    Attachment("a.pdf", b"%PDF", "application/pdf"),
                    Attachment("l.png", b"\x89PNG", "image/png", content_id="l@x"),
                ],
            )
        )
        assert [a.recipient for a in server.accepted] == ["ann@example.org", "bob@example.org"]
        # one id names the whole message, as Mailgun's answer does
        assert result.message_ids == [server.accepted[0].message_id]
        held = server.accepted[0].params
        assert held["tags"] == ["a", "b"] and held["variables"] == {"k": "v"}
        assert [a.filename for a in held["inline"]] == ["l@x"]


def _raw(server: SandboxServer, fields: list[tuple[str, str]], **headers: str) -> Any:
    auth = base64.b64encode(f"api:{server.credentials['api_key']}".encode()).decode()
    return urllib3.request(
        "POST",
        server.base_url + f"v3/{server.credentials['domain']}/messages",
        body=urlencode(fields),
        headers={
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/x-www-form-urlencoded",
            **headers,
        },
    )


BASE_FIELDS = [("from", "shop@example.com"), ("to", "ann@example.org"), ("text", "Hi")]


def test_the_sandbox_refuses_what_mailgun_would_refuse() -> None:
    with SandboxServer("mailgun") as server:
        assert _raw(server, BASE_FIELDS).status == 200
        # a fourth tag ("Mailgun: Tags": up to 3)
        four = [*BASE_FIELDS, *(("o:tag", t) for t in "abcd")]
        assert _raw(server, four).status == 400
        # no from
        assert _raw(server, BASE_FIELDS[1:]).status == 400
        # the key as a bearer token, not basic auth api:KEY
        bearer = f"Bearer {server.credentials['api_key']}"
        assert _raw(server, BASE_FIELDS, Authorization=bearer).status in (401, 403)
        # another basic-auth user than `api`
        other = base64.b64encode(f"key:{server.credentials['api_key']}".encode()).decode()
        assert _raw(server, BASE_FIELDS, Authorization=f"Basic {other}").status in (401, 403)
        # a tracking word Mailgun does not take
        assert _raw(server, [*BASE_FIELDS, ("o:tracking-opens", "maybe")]).status == 400
        assert len(server.accepted) == 1


# --- signed webhooks, from the sandbox's poster ------------------------------------------

WEBHOOK_KEY = "sandbox-mailgun-signing-key"


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
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((dict(self.headers.items()), body))
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


def _posted(receiver: _Receiver) -> list[tuple[dict[str, str], bytes]]:
    with SandboxServer("mailgun") as server:
        server.send_webhooks(receiver.url, secret=WEBHOOK_KEY)
        result = server.provider().send(message(to=["ann@example.org"]))
        assert server.webhooks is not None and server.webhooks.flush()
    assert receiver.received
    for _, body in receiver.received:
        event = json.loads(body)["event-data"]
        assert event["message"]["headers"]["message-id"] == result.message_ids[0]
    return receiver.received


def test_the_sandboxs_events_verify_with_mailguns_scheme(receiver):
    posted = _posted(receiver)
    guard = ReplayGuard()
    events = []
    for headers, body in posted:
        payload = json.loads(body)
        signature = payload["signature"]
        # "Mailgun: Securing Webhooks", written out: hex HMAC-SHA256(key, timestamp + token)
        expected = hmac.new(
            WEBHOOK_KEY.encode(),
            (str(signature["timestamp"]) + signature["token"]).encode(),
            hashlib.sha256,
        ).hexdigest()
        assert signature["signature"] == expected
        events += parse("mailgun", body, headers, secret=WEBHOOK_KEY, replay=guard)
    assert [e.type for e in events] == [EventType.QUEUED, EventType.DELIVERED]
    assert {e.recipient for e in events} == {"ann@example.org"}


def test_forged_replayed_and_stale_events_are_refused(receiver):
    (headers, body), *_ = _posted(receiver)
    payload = json.loads(body)
    now = int(payload["signature"]["timestamp"])
    with pytest.raises(WebhookVerificationError):  # signed with another key
        parse("mailgun", body, headers, secret="another-key", now=now, replay=ReplayGuard())
    forged = json.loads(body)
    forged["signature"]["token"] = "f" * 50  # the token is signed: the HMAC fails
    with pytest.raises(WebhookVerificationError):
        parse("mailgun", json.dumps(forged), headers, secret=WEBHOOK_KEY, now=now)
    guard = ReplayGuard()
    parse("mailgun", body, headers, secret=WEBHOOK_KEY, now=now, replay=guard)
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse("mailgun", body, headers, secret=WEBHOOK_KEY, now=now + 1, replay=guard)
    with pytest.raises(WebhookVerificationError, match="stale") as stale:
        parse("mailgun", body, headers, secret=WEBHOOK_KEY, now=now + 301, replay=ReplayGuard())
    assert WEBHOOK_KEY not in str(stale.value) and WEBHOOK_KEY not in repr(stale.value)


def test_a_webhook_event_lands_on_the_timeline_of_its_send(httpserver, mailgun):
    """Mailgun answers a send with `<id>` and names `id` (no angle brackets) in its
    events: one message either way (RFC 5322 msg-id), so the event joins the send."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(QUEUED)
    mailer = mailspec.Mailer([mailgun])
    result = mailer.send(message())
    assert result.message_ids == [QUEUED["id"]]
    timestamp, token = "1700000000", "b" * 50
    body = json.dumps(
        {
            "signature": {
                "timestamp": timestamp,
                "token": token,
                "signature": hmac.new(
                    WEBHOOK_KEY.encode(), (timestamp + token).encode(), hashlib.sha256
                ).hexdigest(),
            },
            "event-data": {
                "event": "delivered",
                "timestamp": 1700000000.25,
                "recipient": "ann@example.org",
                "message": {"headers": {"message-id": QUEUED["id"][1:-1]}},
            },
        }
    )
    events = parse(
        "mailgun",
        body,
        {"Content-Type": "application/json"},
        secret=WEBHOOK_KEY,
        now=1700000000,
        replay=ReplayGuard(),
    )
    assert mailer.record(events) == 1
    timeline = mailer.timeline(result)
    assert timeline.state == DeliveryState.DELIVERED
    assert [e.type for e in timeline.events] == [EventType.DELIVERED]


# --- failover in a mainstream pool, over real HTTP to the sandboxes ----------------------


@pytest.mark.parametrize(
    ("fault", "first", "second"),
    [
        ("server_error", "mailgun", "sendgrid"),  # Mailgun down -> SendGrid
        ("rate_limit", "sendgrid", "mailgun"),  # SendGrid throttled -> Mailgun
    ],
)
def test_a_mainstream_pool_fails_over_to_the_next_provider(
    fault: str, first: str, second: str
) -> None:
    with SandboxServer(first) as down, SandboxServer(second) as up:
        down.faults.queue(fault, times=10)
        mailer = mailspec.Mailer([down.provider(), up.provider()], max_attempts=2, backoff=0)
        result = mailer.send(message(tags=["order"], metadata={"order": "7"}))
        assert result.provider == second
        assert down.accepted == [] and [a.recipient for a in up.accepted] == ["ann@example.org"]
