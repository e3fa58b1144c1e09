"""The webhook spec language against the providers' own documents and published test
vectors: payload paths, envelopes and batches, per-event paths, and each signature
scheme (hmac in the payload, Svix-style hmac in headers, ECDSA, basic auth, a token).

Each provider shape is a small spec written here (``spec_with_webhooks``), checked as
``mailspec spec check`` checks a spec, then used by the real receiver. Signatures the
tests make are computed with ``hmac``/``cryptography`` directly, never with the
library's signing code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from datetime import UTC, datetime

import pytest
from webhooks_support import JSON, SPEC_DIR, spec_with_webhooks

from mailspec.errors import ConfigError, WebhookPayloadError, WebhookVerificationError
from mailspec.spec_paths import PathError, parse_path, read_path
from mailspec.vocabulary import EventType
from mailspec.webhooks import ReplayGuard, WebhookApp, parse
from mailspec.webhooks.signature import Request, verify_request

# --- provider shapes, from their public documentation -------------------------------

# Mailgun, "Securing Webhooks" (https://documentation.mailgun.com/docs/mailgun/user-manual/
# webhooks/securing-webhooks): the body is {"signature": {timestamp, token, signature},
# "event-data": {...}}; the signature is the hex HMAC-SHA256 of timestamp + token, keyed
# by the webhook signing key.
MAILGUN = """
webhooks:
  encodings: [json]
  timestamp_format: epoch
  fields: {event: event-data.event, message_id: event-data.message.headers.message-id,
           recipient: event-data.recipient, timestamp: event-data.timestamp,
           reason: event-data.delivery-status.description, url: event-data.url,
           metadata: event-data.user-variables}
  signature: {scheme: hmac, signed: "{signature.timestamp}{signature.token}",
              signature: signature.signature, timestamp: signature.timestamp,
              id: signature.token}
  events:
    delivered: {type: delivered}
    failed: {type: bounced, refine: {path: event-data.severity, types: {temporary: soft_bounced}}}
    opened: {type: opened}
    clicked: {type: clicked}
"""

# Resend signs with Svix: headers svix-id, svix-timestamp, svix-signature ("v1,<base64>",
# several separated by spaces); the key is "whsec_" + base64; the signed content is
# "{svix-id}.{svix-timestamp}.{body}". The body is {type, created_at, data: {...}}.
RESEND = """
webhooks:
  encodings: [json]
  timestamp_format: iso8601
  fields: {event: type, message_id: data.email_id, recipient: "data.to[0]", timestamp: created_at}
  signature: {scheme: hmac, signed: "{header:svix-id}.{header:svix-timestamp}.{body}",
              signature: "header:svix-signature", encoding: base64, key: base64,
              key_prefix: whsec_, separator: " ", prefix: "v1,",
              timestamp: "header:svix-timestamp", id: "header:svix-id"}
  events:
    email.delivered: {type: delivered}
    email.bounced: {type: bounced}
    email.opened: {type: opened}
    email.clicked: {type: clicked}
"""

# SendGrid's signed event webhook: a JSON array of events; ECDSA P-256 over
# timestamp + body, base64 in X-Twilio-Email-Event-Webhook-Signature. No id: the
# signature itself is the replay id (a replay carries the same one).
SENDGRID = """
webhooks:
  encodings: [json]
  batch: true
  timestamp_format: epoch
  fields: {event: event, message_id: sg_message_id, recipient: email, timestamp: timestamp,
           reason: reason, url: url}
  signature: {scheme: ecdsa_p256,
              signed: "{header:X-Twilio-Email-Event-Webhook-Timestamp}{body}",
              signature: "header:X-Twilio-Email-Event-Webhook-Signature",
              timestamp: "header:X-Twilio-Email-Event-Webhook-Timestamp",
              id: "header:X-Twilio-Email-Event-Webhook-Signature"}
  events:
    delivered: {type: delivered}
    dropped: {type: rejected}
    bounce: {type: bounced}
    open: {type: opened}
    click: {type: clicked}
"""

# Postmark: one object per post, named by RecordType; basic auth in the webhook URL;
# the recipient is Email on a bounce and Recipient on a delivery.
POSTMARK = """
webhooks:
  encodings: [json]
  timestamp_format: iso8601
  fields: {event: RecordType, message_id: MessageID, recipient: Recipient,
           timestamp: DeliveredAt, metadata: Metadata}
  signature: {scheme: basic_auth}
  events:
    Delivery: {type: delivered}
    Bounce: {type: bounced, fields: {recipient: Email, timestamp: BouncedAt,
                                     reason: Description},
             refine: {path: Type, types: {SoftBounce: soft_bounced, Transient: soft_bounced}}}
    Open: {type: opened, fields: {timestamp: ReceivedAt}}
    Click: {type: clicked, fields: {timestamp: ReceivedAt, url: OriginalLink}}
"""

# SES through SNS: an envelope whose Message is the SES event as a JSON string.
SES_SNS = """
webhooks:
  encodings: [json]
  records: Message
  timestamp_format: iso8601
  fields: {event: eventType, message_id: mail.messageId, recipient: "mail.destination[0]",
           timestamp: mail.timestamp, reason: "bounce.bouncedRecipients[0].diagnosticCode"}
  events:
    Delivery: {type: delivered}
    Bounce: {type: bounced}
"""


def token_spec(source: str) -> str:
    return f"""
webhooks:
  encodings: [json]
  fields: {{event: event, recipient: email}}
  signature: {{scheme: token, signature: "{source}"}}
  events:
    delivered: {{type: delivered}}
"""


def _mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


# --- paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        (".", ()),
        ("event", ("event",)),
        (
            "event-data.message.headers.message-id",
            ("event-data", "message", "headers", "message-id"),
        ),
        ("data.to[0]", ("data", "to", 0)),
        ("[0].email", (0, "email")),
        ('headers["a.b"]', ("headers", "a.b")),
        ("userHeaders.X-Mailspec-Metadata", ("userHeaders", "X-Mailspec-Metadata")),
    ],
)
def test_a_path_reads_as_its_steps(text: str, steps: tuple[object, ...]) -> None:
    assert parse_path(text) == steps


@pytest.mark.parametrize("text", ["", "a..b", "a.", "a[x]", "a[-1]", "a b", "a]", ".a", "a.[0]"])
def test_a_path_the_runtime_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(PathError):
        parse_path(text)


def test_a_path_walks_into_lists_and_json_inside_text() -> None:
    payload = {"Message": json.dumps({"mail": {"destination": ["ann@example.org"]}})}
    assert read_path(payload, parse_path("Message.mail.destination[0]")) == "ann@example.org"
    assert read_path(payload, parse_path("Message.mail.destination[1]")) is None
    assert read_path(payload, parse_path("Message.nothing.here")) is None
    with pytest.raises(PathError):
        read_path({"a": "not json"}, parse_path("a.b"))


# --- Mailgun: hmac inside a nested payload ------------------------------------------

MAILGUN_KEY = "TEST_WEBHOOK_SIGNING_KEY"


def mailgun_body(token: str = "651869375b9df3c98fc15c4889b102119add1235c38fc92824") -> dict:
    """Mailgun's "delivered" event as django-anymail's tests hold it (an actual,
    sanitized event; tests/test_mailgun_webhooks.py), signed with a test key as
    Mailgun's "Securing Webhooks" describes."""
    timestamp = "1534108637"
    return {
        "signature": {
            "timestamp": timestamp,
            "token": token,
            "signature": _mailgun_signature(MAILGUN_KEY, timestamp, token),
        },
        "event-data": {
            "timestamp": 1534108637.153125,
            "id": "hTWCTD81RtiDN-...",
            "user-variables": {"order": "42"},
            "message": {
                "headers": {
                    "to": "recipient@example.com",
                    "message-id": "20180812211713.1.DF5966851B4BAA99@example.org",
                    "from": "test@example.org",
                },
            },
            "recipient": "recipient@example.com",
            "event": "delivered",
            "delivery-status": {"description": "", "code": 250, "message": "OK"},
        },
    }


def test_mailgun_nested_event_is_read_by_its_paths(guard: ReplayGuard) -> None:
    spec = spec_with_webhooks(MAILGUN)
    body = json.dumps(mailgun_body()).encode()
    (event,) = parse(spec, body, JSON, secret=MAILGUN_KEY, now=1534108637, replay=guard)
    assert event.type is EventType.DELIVERED
    assert event.message_id == "20180812211713.1.DF5966851B4BAA99@example.org"
    assert event.recipient == "recipient@example.com"
    assert event.timestamp == datetime(2018, 8, 12, 21, 17, 17, 153125, tzinfo=UTC)
    assert event.metadata == {"order": "42"}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("temporary", EventType.SOFT_BOUNCED),
        ("permanent", EventType.BOUNCED),
        (None, EventType.BOUNCED),
    ],
)
def test_a_second_field_refines_the_event_type(
    severity: str | None, expected: EventType, guard: ReplayGuard
) -> None:
    body = mailgun_body(token=f"tok-severity-{severity}")
    body["event-data"]["event"] = "failed"
    if severity:
        body["event-data"]["severity"] = severity
    (event,) = parse(
        spec_with_webhooks(MAILGUN),
        json.dumps(body),
        JSON,
        secret=MAILGUN_KEY,
        now=1534108637,
        replay=guard,
    )
    assert (event.event, event.type) == ("failed", expected)


def test_mailgun_forged_replayed_and_stale_events_are_refused(guard: ReplayGuard) -> None:
    spec = spec_with_webhooks(MAILGUN)
    forged = mailgun_body()
    forged["event-data"]["recipient"] = "x@example.com"  # not signed: still passes the HMAC
    forged["signature"]["token"] = "f" * 50  # the token is signed: the HMAC fails
    with pytest.raises(WebhookVerificationError, match="signature does not match"):
        parse(spec, json.dumps(forged), JSON, secret=MAILGUN_KEY, now=1534108637, replay=guard)
    good = json.dumps(mailgun_body())
    parse(spec, good, JSON, secret=MAILGUN_KEY, now=1534108637, replay=guard)
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse(spec, good, JSON, secret=MAILGUN_KEY, now=1534108638, replay=guard)
    with pytest.raises(WebhookVerificationError, match="stale"):
        parse(spec, good, JSON, secret=MAILGUN_KEY, now=1534108637 + 301, replay=ReplayGuard())
    with pytest.raises(WebhookVerificationError, match="signature does not match"):
        parse(spec, good, JSON, secret="another key", now=1534108637, replay=ReplayGuard())


# --- Svix (Resend): hmac over headers and the raw body ------------------------------

# The Svix libraries' published test vector: svix/svix-webhooks, python/tests/
# test_webhooks.py, test_sign_function (the same values in its Go, C# and Java tests),
# https://github.com/svix/svix-webhooks/blob/main/python/tests/test_webhooks.py
SVIX_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SVIX_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SVIX_TIMESTAMP = "1614265330"
SVIX_BODY = b'{"test": 2432232314}'
SVIX_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def svix_headers(signature: str = SVIX_SIGNATURE, **changes: str) -> dict[str, str]:
    return {
        "svix-id": SVIX_ID,
        "svix-timestamp": SVIX_TIMESTAMP,
        "svix-signature": signature,
        **JSON,
        **changes,
    }


def _svix_verify(body: bytes, headers: dict[str, str], now: float = 1614265330) -> object:
    spec = spec_with_webhooks(RESEND)
    assert spec.webhooks is not None and spec.webhooks.signature is not None
    return verify_request(
        "resend",
        spec.webhooks.signature,
        Request(body, headers),
        [],
        secret=SVIX_KEY,
        now=now,
        tolerance=300,
    )


def test_the_published_svix_vector_verifies() -> None:
    assert _svix_verify(SVIX_BODY, svix_headers()) == [(SVIX_ID, 1614265330 + 300)]


def test_svix_accepts_any_one_of_several_signatures_and_ignores_other_versions() -> None:
    rotated = f"v1,{base64.b64encode(b'x' * 32).decode()} v2,abc {SVIX_SIGNATURE}"
    assert _svix_verify(SVIX_BODY, svix_headers(rotated))


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"test": 2432232315}', svix_headers(), "signature does not match"),
        (SVIX_BODY, svix_headers(**{"svix-id": "msg_other"}), "signature does not match"),
        (SVIX_BODY, svix_headers("v2," + SVIX_SIGNATURE[3:]), "no signature"),
        (
            SVIX_BODY,
            svix_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd"),
            "does not match",
        ),
        (SVIX_BODY, svix_headers(**{"svix-timestamp": "1614265331"}), "does not match"),
    ],
    ids=["body", "id", "version", "signature", "timestamp"],
)
def test_a_forged_svix_request_is_refused(
    body: bytes, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=message) as info:
        _svix_verify(body, headers)
    assert SVIX_KEY not in str(info.value) and SVIX_KEY[6:] not in str(info.value)


def test_a_stale_svix_request_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="stale"):
        _svix_verify(SVIX_BODY, svix_headers(), now=1614265330 + 301)


def _resend(body: dict, msg_id: str, timestamp: int, key: str = SVIX_KEY) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    secret = base64.b64decode(key.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + raw
    signature = base64.b64encode(hmac.new(secret, content, hashlib.sha256).digest()).decode()
    headers = {"svix-id": msg_id, "svix-timestamp": str(timestamp), **JSON}
    return raw, {**headers, "svix-signature": f"v1,{signature}"}


RESEND_BOUNCE = {
    "type": "email.bounced",
    "created_at": "2024-11-22T23:41:12.126Z",
    "data": {
        "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
        "from": "Acme <onboarding@resend.dev>",
        "to": ["delivered@resend.dev"],
        "subject": "Sending this example",
    },
}


def test_a_resend_event_is_verified_then_read_into_its_data(guard: ReplayGuard) -> None:
    spec = spec_with_webhooks(RESEND)
    body, headers = _resend(RESEND_BOUNCE, "msg_2pMmRvTtwN5Hd0NJGnGjYn6N3zK", 1732318872)
    (event,) = parse(spec, body, headers, secret=SVIX_KEY, now=1732318872, replay=guard)
    assert (event.type, event.recipient) == (EventType.BOUNCED, "delivered@resend.dev")
    assert event.message_id == "56761188-7520-42d8-8898-ff6fc54ce618"
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse(spec, body, headers, secret=SVIX_KEY, now=1732318872, replay=guard)


# --- SendGrid: ECDSA P-256 ----------------------------------------------------------

# SendGrid's published test vector for its signed event webhook: sendgrid/sendgrid-python,
# test/unit/test_eventwebhook.py (the public key, signature, timestamp and payload,
# which ends in "\r\n"),
# https://github.com/sendgrid/sendgrid-python/blob/main/test/unit/test_eventwebhook.py
SENDGRID_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRq"
    "e62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SENDGRID_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15Tlu"
    "LtEZtM="
)
SENDGRID_TIMESTAMP = "1600112502"
SENDGRID_BODY = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()


def sendgrid_headers(
    signature: str = SENDGRID_SIGNATURE, timestamp: str = SENDGRID_TIMESTAMP
) -> dict[str, str]:
    return {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        **JSON,
    }


def test_the_published_sendgrid_vector_verifies_and_reads(guard: ReplayGuard) -> None:
    spec = spec_with_webhooks(SENDGRID)
    now = int(SENDGRID_TIMESTAMP) + 5
    (event,) = parse(
        spec, SENDGRID_BODY, sendgrid_headers(), secret=SENDGRID_PUBLIC_KEY, now=now, replay=guard
    )
    assert (event.type, event.recipient, event.description) == (
        EventType.REJECTED,
        "hello@world.com",
        "Bounced Address",
    )
    # the same request again: its signature was seen
    with pytest.raises(WebhookVerificationError, match="replay"):
        parse(
            spec,
            SENDGRID_BODY,
            sendgrid_headers(),
            secret=SENDGRID_PUBLIC_KEY,
            now=now,
            replay=guard,
        )


# the sendgrid-python tests' other key and their "bad signature"
SENDGRID_OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REn"
    "tlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
SENDGRID_BAD_SIGNATURE = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH"
    "3j/0="
)


@pytest.mark.parametrize(
    ("body", "headers", "key", "message"),
    [
        (SENDGRID_BODY, sendgrid_headers(), SENDGRID_OTHER_KEY, "signature does not match"),
        (
            SENDGRID_BODY.replace(b"dropped", b"delivered"),
            sendgrid_headers(),
            SENDGRID_PUBLIC_KEY,
            "does not match",
        ),
        (
            SENDGRID_BODY,
            sendgrid_headers(SENDGRID_BAD_SIGNATURE),
            SENDGRID_PUBLIC_KEY,
            "does not match",
        ),
        (
            SENDGRID_BODY,
            sendgrid_headers(timestamp="1600112503"),
            SENDGRID_PUBLIC_KEY,
            "does not match",
        ),
        (SENDGRID_BODY, sendgrid_headers("not base64!"), SENDGRID_PUBLIC_KEY, "does not match"),
        (SENDGRID_BODY, sendgrid_headers(), "bm90IGEga2V5", "not a public key"),
    ],
    ids=["other-key", "body", "signature", "timestamp", "garbage", "bad-key"],
)
def test_a_forged_sendgrid_request_is_refused(
    body: bytes, headers: dict[str, str], key: str, message: str, guard: ReplayGuard
) -> None:
    spec = spec_with_webhooks(SENDGRID)
    with pytest.raises(WebhookVerificationError, match=message):
        parse(spec, body, headers, secret=key, now=int(SENDGRID_TIMESTAMP), replay=guard)


def test_a_stale_sendgrid_request_is_refused(guard: ReplayGuard) -> None:
    spec = spec_with_webhooks(SENDGRID)
    with pytest.raises(WebhookVerificationError, match="stale"):
        parse(
            spec,
            SENDGRID_BODY,
            sendgrid_headers(),
            secret=SENDGRID_PUBLIC_KEY,
            now=int(SENDGRID_TIMESTAMP) + 301,
            replay=guard,
        )


def test_without_cryptography_ecdsa_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_with_webhooks(SENDGRID)
    monkeypatch.setitem(sys.modules, "cryptography", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'mailspec\[webhooks-ecdsa\]'"):
        parse(spec, SENDGRID_BODY, sendgrid_headers(), secret=SENDGRID_PUBLIC_KEY)
    with pytest.raises(ConfigError, match="cryptography"):
        WebhookApp(spec, print, secret=SENDGRID_PUBLIC_KEY)


# --- Postmark: basic auth and per-event paths ---------------------------------------

# Postmark's documented Bounce and Delivery webhook payloads, as django-anymail's tests
# hold them (tests/test_postmark_webhooks.py)
POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 901542550,
    "Type": "HardBounce",
    "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Email": "bounce@example.com",
    "BouncedAt": "2016-04-27T16:28:50.3963933-04:00",
}
POSTMARK_DELIVERY = {
    "RecordType": "Delivery",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Recipient": "recipient@example.com",
    "Metadata": {"cohort": "2014-08-A", "userid": "12345"},
    "DeliveredAt": "2014-08-01T13:28:10.2735393-04:00",
}


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(), **JSON}


def test_postmark_reads_each_event_type_by_its_own_paths() -> None:
    spec = spec_with_webhooks(POSTMARK)
    auth = basic("hooks:pm-secret")
    (bounce,) = parse(spec, json.dumps(POSTMARK_BOUNCE), auth, secret="hooks:pm-secret")
    (delivery,) = parse(spec, json.dumps(POSTMARK_DELIVERY), auth, secret="pm-secret")
    assert (bounce.type, bounce.recipient) == (EventType.BOUNCED, "bounce@example.com")
    soft = {**POSTMARK_BOUNCE, "Type": "SoftBounce"}
    (soft_bounce,) = parse(spec, json.dumps(soft), auth, secret="pm-secret")
    assert soft_bounce.type is EventType.SOFT_BOUNCED
    assert bounce.description is not None and bounce.description.startswith("The server")
    assert bounce.timestamp is not None and bounce.timestamp.year == 2016
    assert (delivery.type, delivery.recipient) == (EventType.DELIVERED, "recipient@example.com")
    assert delivery.metadata == {"cohort": "2014-08-A", "userid": "12345"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (JSON, "no basic auth credentials"),
        (basic("hooks:wrong"), "do not match"),
        (basic("other:pm-secret"), "do not match"),
        ({"Authorization": "Basic !!!", **JSON}, "not base64"),
        ({"Authorization": "Bearer pm-secret", **JSON}, "no basic auth"),
    ],
)
def test_postmark_refuses_a_request_without_its_credentials(
    headers: dict[str, str], message: str
) -> None:
    spec = spec_with_webhooks(POSTMARK)
    with pytest.raises(WebhookVerificationError, match=message):
        parse(spec, json.dumps(POSTMARK_DELIVERY), headers, secret="hooks:pm-secret")


# --- a shared token -----------------------------------------------------------------


def test_a_token_in_a_header_or_the_query_is_compared() -> None:
    body = json.dumps({"event": "delivered", "email": "ann@example.org"})
    by_header = spec_with_webhooks(token_spec("header:X-Webhook-Token"))
    (event,) = parse(by_header, body, {"X-Webhook-Token": "t0ken", **JSON}, secret="t0ken")
    assert event.recipient == "ann@example.org"
    with pytest.raises(WebhookVerificationError, match="token does not match"):
        parse(by_header, body, {"X-Webhook-Token": "t0kem", **JSON}, secret="t0ken")
    with pytest.raises(WebhookVerificationError, match="no token"):
        parse(by_header, body, JSON, secret="t0ken")
    by_query = spec_with_webhooks(token_spec("query:key"))
    assert parse(by_query, body, JSON, secret="t0ken", url="https://h.example/x?key=t0ken")
    with pytest.raises(WebhookVerificationError, match="no token"):
        parse(by_query, body, JSON, secret="t0ken", url="https://h.example/x?key=a&key=t0ken")


# --- envelopes and batches ----------------------------------------------------------


def test_an_sns_envelope_is_opened_and_its_json_string_read() -> None:
    ses_event = {
        "eventType": "Bounce",
        "bounce": {"bouncedRecipients": [{"diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
        "mail": {
            "timestamp": "2016-10-14T05:02:16.645Z",
            "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "destination": ["recipient@example.com"],
        },
    }
    envelope = {"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(ses_event)}
    (event,) = parse(spec_with_webhooks(SES_SNS), json.dumps(envelope), JSON)
    assert (event.type, event.recipient) == (EventType.BOUNCED, "recipient@example.com")
    assert event.description == "smtp; 550 5.1.1 user unknown"
    with pytest.raises(WebhookPayloadError, match="no events"):
        parse(spec_with_webhooks(SES_SNS), json.dumps({"Type": "Notification"}), JSON)


def test_a_batch_yields_every_event_and_one_object_yields_one() -> None:
    spec = spec_with_webhooks(token_spec("header:X-Webhook-Token"))
    auth = {"X-Webhook-Token": "t", **JSON}
    batch = [{"event": "delivered", "email": f"{n}@example.org"} for n in range(3)]
    assert [e.recipient for e in parse(spec, json.dumps(batch), auth, secret="t")] == [
        "0@example.org",
        "1@example.org",
        "2@example.org",
    ]
    assert len(parse(spec, json.dumps(batch[0]), auth, secret="t")) == 1


# --- the documented examples --------------------------------------------------------


def _documented_examples() -> list[str]:
    text = (SPEC_DIR.parent / "docs" / "spec-format.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Webhooks\n") :]
    return [block.split("```")[0] for block in section.split("```yaml\n")[1:]]


def test_every_example_of_the_webhooks_section_passes_spec_check() -> None:
    examples = _documented_examples()
    assert len(examples) == 5
    for example in examples:
        assert spec_with_webhooks(example).webhooks is not None
