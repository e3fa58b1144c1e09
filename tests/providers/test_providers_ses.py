"""Amazon SES (API v2) on the wire (spec/ses.yaml): SendEmail's JSON with simple or
template content, signed with AWS Signature Version 4 for service ``ses`` (checked here
with botocore's signer on what the server received), errors named by
``x-amzn-ErrorType``, the provider URL, the sandbox, and SES events through SNS behind
basic auth.

Sources: "Amazon SES API v2 Reference" (SendEmail, Common Errors), botocore's sesv2
service model, "Amazon SES Developer Guide" (service quotas, event publishing to
Amazon SNS). Real HTTP on 127.0.0.1 (pytest-httpserver, the sandbox); nothing of
mailspec is mocked.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from providers_support import message, only_request
from pytest_httpserver import HTTPServer
from werkzeug import Response

import mailspec
from mailspec import (
    Attachment,
    AuthenticationError,
    PermissionDeniedError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    UnsupportedOperation,
    ValidationError,
)
from mailspec.errors import NotFoundError, ProviderServerError, WebhookVerificationError
from mailspec.sandbox import SandboxServer
from mailspec.vocabulary import EventType
from mailspec.webhooks import parse

SEND = "/v2/email/outbound-emails"
KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MESSAGE_ID = "0100018c1f0example-1234abcd-5678-90ef-example-000000"


@pytest.fixture
def ses(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "ses",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        region="eu-west-1",
        base_url=httpserver.url_for("/"),
        timeout=5,
    )


def answer_id(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_json({"MessageId": MESSAGE_ID})


def body(request: Any) -> Any:
    return json.loads(request.get_data())


def botocore_signature(request: Any, region: str, token: str | None = None) -> str:
    """The Authorization header botocore's SigV4 signer computes for what the server
    received (its signed headers, its body, its time), as SES would check it."""
    header = {name.lower(): value for name, value in request.headers.items()}
    signed = re.search(r"SignedHeaders=([^,]+)", header["authorization"])
    assert signed is not None
    names = set(signed.group(1).split(";")) - {"x-amz-date", "x-amz-security-token"}
    aws = AWSRequest(
        method=request.method, url=f"http://{header['host']}{request.path}", data=request.get_data()
    )
    for name, value in request.headers.items():
        if name.lower() in names:
            aws.headers[name] = value
    clock = datetime.datetime.strptime(header["x-amz-date"], "%Y%m%dT%H%M%SZ")
    signer = botocore.auth.SigV4Auth(Credentials(KEY_ID, SECRET, token), "ses", region)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kw: clock)
        signer.add_auth(aws)
    return str(aws.headers["Authorization"])


# --- send: the documented request, every Message field ------------------------------


def test_the_documented_request_signed_as_botocore_signs_it(
    httpserver: HTTPServer, ses: Any
) -> None:
    answer_id(httpserver)
    result = ses.send(
        message(
            from_email="sender@example.com",
            from_name="Sender Name",
            to=["recipient@example.com"],
            cc=["recipient3@example.com"],
            reply_to=["replies@example.com"],
            subject="Test email",
            text="This message body contains text.",
            html="<p>This message body contains HTML.</p>",
        )
    )
    request = only_request(httpserver)
    assert (request.method, request.path) == ("POST", SEND)
    assert request.headers["Content-Type"] == "application/json"
    assert body(request) == {
        "FromEmailAddress": "Sender Name <sender@example.com>",
        "Destination": {
            "ToAddresses": ["recipient@example.com"],
            "CcAddresses": ["recipient3@example.com"],
        },
        "ReplyToAddresses": ["replies@example.com"],
        "Content": {
            "Simple": {
                "Subject": {"Data": "Test email", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "This message body contains text.", "Charset": "UTF-8"},
                    "Html": {
                        "Data": "<p>This message body contains HTML.</p>",
                        "Charset": "UTF-8",
                    },
                },
            }
        },
    }
    authorization = request.headers["Authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    assert "/eu-west-1/ses/aws4_request, " in authorization
    assert authorization == botocore_signature(request, "eu-west-1")
    assert SECRET not in str(request.headers)
    assert result.provider == "ses" and result.message_ids == [MESSAGE_ID]


def test_a_session_token_is_sent_and_signed(httpserver: HTTPServer) -> None:
    answer_id(httpserver)
    provider = mailspec.provider(
        "ses",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token="FQoGZXIvYXdzEXAMPLETOKEN",
        region="us-east-1",
        base_url=httpserver.url_for("/"),
    )
    provider.send(message())
    request = only_request(httpserver)
    assert request.headers["X-Amz-Security-Token"] == "FQoGZXIvYXdzEXAMPLETOKEN"
    assert "x-amz-security-token" in request.headers["Authorization"]
    assert request.headers["Authorization"] == botocore_signature(
        request, "us-east-1", "FQoGZXIvYXdzEXAMPLETOKEN"
    )


def test_names_headers_tags_metadata_and_attachments(httpserver: HTTPServer, ses: Any) -> None:
    answer_id(httpserver)
    ses.send(
        message(
            from_name="Café Shop",
            to=['"Lee, Ann" <ann@example.org>', "bob@example.org"],
            cc=["Carl Ng <carl@example.org>"],
            bcc=["Dee Ray <dee@example.org>"],
            reply_to=["Help Desk <help@shop.example>"],
            subject="Commande n° 7",
            text="Bonjour",
            headers={"X-Order": "1042", "List-Unsubscribe": "<mailto:u@shop.example>"},
            tags=["welcome", "eu"],
            metadata={"user_id": "42", "plan": "pro"},
            attachments=[
                Attachment("invoice.pdf", b"%PDF-1.4", "application/pdf"),
                Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@shop.example"),
            ],
        )
    )
    sent = body(only_request(httpserver))
    assert sent["FromEmailAddress"] == "=?utf-8?b?Q2Fmw6kgU2hvcA==?= <noreply@example.com>"
    assert sent["Destination"] == {
        "ToAddresses": ['"Lee, Ann" <ann@example.org>', "bob@example.org"],
        "CcAddresses": ["Carl Ng <carl@example.org>"],
        "BccAddresses": ["Dee Ray <dee@example.org>"],
    }
    assert sent["ReplyToAddresses"] == ["Help Desk <help@shop.example>"]
    simple = sent["Content"]["Simple"]
    assert simple["Subject"] == {"Data": "Commande n° 7", "Charset": "UTF-8"}
    assert simple["Body"]["Text"] == {"Data": "Bonjour", "Charset": "UTF-8"}
    assert simple["Headers"] == [
        {"Name": "X-Order", "Value": "1042"},
        {"Name": "List-Unsubscribe", "Value": "<mailto:u@shop.example>"},
        {"Name": "X-Tag", "Value": "welcome"},
        {"Name": "X-Tag", "Value": "eu"},
        {"Name": "X-Metadata", "Value": '{"user_id":"42","plan":"pro"}'},
    ]
    assert simple["Attachments"] == [
        {
            "FileName": "invoice.pdf",
            "RawContent": base64.b64encode(b"%PDF-1.4").decode(),
            "ContentType": "application/pdf",
        },
        {
            "FileName": "logo.png",
            "RawContent": base64.b64encode(b"\x89PNG").decode(),
            "ContentType": "image/png",
            "ContentId": "logo@shop.example",
            "ContentDisposition": "INLINE",
        },
    ]


def test_a_template_with_variables_is_template_content(httpserver: HTTPServer, ses: Any) -> None:
    answer_id(httpserver)
    ses.send(
        message(
            subject=None,
            html=None,
            template="MyTemplate",
            variables={"name": "Alejandro", "favoriteanimal": "alligator"},
            tags=["welcome"],
        )
    )
    sent = body(only_request(httpserver))
    assert sent["Content"] == {
        "Template": {
            "TemplateName": "MyTemplate",
            "TemplateData": '{"name":"Alejandro","favoriteanimal":"alligator"}',
            "Headers": [{"Name": "X-Tag", "Value": "welcome"}],
        }
    }


def test_provider_options_add_the_configuration_set_and_email_tags(
    httpserver: HTTPServer, ses: Any
) -> None:
    answer_id(httpserver)
    options = {
        "ses": {
            "ConfigurationSetName": "transactional",
            "EmailTags": [{"Name": "campaign", "Value": "spring"}],
        }
    }
    ses.send(message(provider_options=options))
    sent = body(only_request(httpserver))
    assert sent["ConfigurationSetName"] == "transactional"
    assert sent["EmailTags"] == [{"Name": "campaign", "Value": "spring"}]
    assert sent["Content"]["Simple"]["Subject"]["Data"] == "Your order"


def test_refused_before_any_request(httpserver: HTTPServer, ses: Any) -> None:
    # Amazon SES Developer Guide, Service quotas: 50 recipients per message
    with pytest.raises(ValidationError):
        ses.send(message(to=[f"r{i}@example.org" for i in range(51)]))
    # a tag header beside a message header of that name is refused, not overwritten
    with pytest.raises(ValidationError, match="X-Tag"):
        ses.send(message(tags=["a"], headers={"X-Tag": "b"}))
    # SendEmail has no place for per-recipient variables
    with pytest.raises(UnsupportedOperation):
        ses.send(message(recipient_variables={"ann@example.org": {"name": "Ann"}}))
    # no region, no provider: SES has no default region (DESIGN.md)
    with pytest.raises(ValidationError, match="needs a region"):
        mailspec.provider("ses", access_key_id=KEY_ID, secret_access_key=SECRET)
    assert httpserver.log == []


# --- errors: the name in x-amzn-ErrorType decides over the HTTP status ---------------


@pytest.mark.parametrize(
    ("status", "name", "error"),
    [
        (400, "MessageRejected", ProviderValidationError),
        (400, "BadRequestException", ProviderValidationError),
        (400, "MailFromDomainNotVerifiedException", PermissionDeniedError),
        (400, "AccountSuspendedException", PermissionDeniedError),
        (400, "SendingPausedException", PermissionDeniedError),
        (400, "LimitExceededException", QuotaExceededError),
        (400, "ThrottlingException", RateLimitError),
        (429, "TooManyRequestsException", RateLimitError),
        (403, "SignatureDoesNotMatch", AuthenticationError),
        (403, "InvalidClientTokenId", AuthenticationError),
        (403, "AccessDeniedException", PermissionDeniedError),
        (404, "NotFoundException", NotFoundError),
        (500, "InternalFailure", ProviderServerError),
        (503, "ServiceUnavailable", ProviderServerError),
    ],
)
def test_each_documented_error_raises_its_class(
    httpserver: HTTPServer, ses: Any, status: int, name: str, error: type[Exception]
) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"message": f"{name} happened"},
        status=status,
        headers={"x-amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/"},
    )
    with pytest.raises(error) as raised:
        ses.send(message())
    assert "happened" in str(raised.value)


def test_throttling_reads_retry_after(httpserver: HTTPServer, ses: Any) -> None:
    httpserver.expect_request(SEND, method="POST").respond_with_response(
        Response(
            json.dumps({"message": "Maximum sending rate exceeded."}),
            status=429,
            headers={"x-amzn-ErrorType": "TooManyRequestsException", "Retry-After": "3"},
            content_type="application/json",
        )
    )
    with pytest.raises(RateLimitError) as raised:
        ses.send(message())
    assert raised.value.retry_after == 3.0 and raised.value.retryable


# --- provider URL ----------------------------------------------------------------------


def test_provider_url() -> None:
    provider = mailspec.provider_from_url(f"ses://{KEY_ID}:wJalr%2FSECRET@eu-west-1")
    assert provider.name == "ses"
    assert provider.client.base_url == "https://email.eu-west-1.amazonaws.com/"
    assert "SECRET" not in repr(provider)
    with pytest.raises(ValidationError, match="needs a region"):
        mailspec.provider_from_url(f"ses://{KEY_ID}:SECRET@")


# --- the sandbox -----------------------------------------------------------------------


def test_the_sandbox_takes_mailspecs_sends_and_refuses_wrong_forms() -> None:
    import urllib3

    with SandboxServer("ses") as server:
        provider = server.provider()
        result = provider.send(
            message(
                to=["Ann <ann@example.org>", "bob@example.org"],
                text="x",
                tags=["a", "b"],
                metadata={"k": "v"},
                attachments=[Attachment("l.png", b"\x89PNG", "image/png", content_id="l")],
            )
        )
        template = provider.send(message(subject=None, html=None, template="T", variables={}))
        assert [a.operation for a in server.accepted] == ["send", "send", "send_template"]
        assert result.message_ids == [server.accepted[0].message_id]
        assert server.accepted[0].params["headers"] == {
            "X-Tag": ["a", "b"],
            "X-Metadata": '{"k":"v"}',
        }
        assert template.message_ids == [server.accepted[2].message_id]
        signed = {
            "Content-Type": "application/json",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={server.credentials['access_key_id']}/x",
        }

        def post(payload: Any, headers: dict[str, str] = signed) -> Any:
            return urllib3.request(
                "POST",
                server.base_url + SEND[1:],
                body=json.dumps(payload).encode(),
                headers=headers,
            )

        good = {
            "FromEmailAddress": "s@example.com",
            "Destination": {"ToAddresses": ["a@example.org"]},
            "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
        }
        assert post(good).status == 200
        for wrong in (
            {**good, "Destination": {"ToAddresses": "a@example.org"}},  # a string, not a list
            {**good, "Content": {"Simple": {**good["Content"]["Simple"], "Headers": {"X": "1"}}}},
            {**good, "From": "s@example.com"},  # an undocumented key
        ):
            refused = post(wrong)
            assert refused.status == 400
            assert refused.headers["x-amzn-ErrorType"] == "BadRequestException"
        bearer = {"Content-Type": "application/json", "Authorization": "Bearer x"}
        assert post(good, bearer).status == 403


def test_the_sandbox_throttles_with_the_documented_name() -> None:
    with SandboxServer("ses") as server:
        server.faults.queue("rate_limit")
        with pytest.raises(RateLimitError) as raised:
            server.provider().send(message())
        assert "TooManyRequestsException" in repr(raised.value) or raised.value.code == 429
        assert server.accepted == []


# --- webhooks: SES events in SNS notifications, behind basic auth ----------------------

DELIVERY = {
    "eventType": "Delivery",
    "mail": {
        "timestamp": "2017-08-05T00:40:02.012Z",
        "source": "Sender Name <sender@example.com>",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": ["recipient@example.com"],
    },
    "delivery": {
        "timestamp": "2017-08-05T00:40:03.123Z",
        "processingTimeMillis": 1111,
        "recipients": ["recipient@example.com"],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "mta.example.com",
    },
}
BOUNCE = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "recipient@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": DELIVERY["mail"],
}


def sns(event: dict[str, Any]) -> bytes:
    """An SNS notification carrying one SES event as its Message (a JSON string)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
            "Message": json.dumps(event),
            "Timestamp": "2017-08-05T00:41:03.000Z",
        }
    ).encode()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Content-Type": "text/plain; charset=UTF-8", "Authorization": f"Basic {token}"}


def test_documented_events_parse_behind_basic_auth() -> None:
    (delivered,) = parse("ses", sns(DELIVERY), basic("sns", "hook-pass"), secret="sns:hook-pass")
    assert delivered.type == EventType.DELIVERED
    assert delivered.message_id == DELIVERY["mail"]["messageId"]  # type: ignore[index]
    assert delivered.recipient == "recipient@example.com"
    assert delivered.timestamp == datetime.datetime(2017, 8, 5, 0, 40, 3, 123000, datetime.UTC)
    (bounced,) = parse("ses", sns(BOUNCE), basic("sns", "hook-pass"), secret="hook-pass")
    assert bounced.type == EventType.BOUNCED
    assert bounced.description == "smtp; 550 5.1.1 user unknown"
    soft = {**BOUNCE, "bounce": {**BOUNCE["bounce"], "bounceType": "Transient"}}  # type: ignore[dict-item]
    (soft_bounced,) = parse("ses", sns(soft), basic("sns", "hook-pass"), secret="hook-pass")
    assert soft_bounced.type == EventType.SOFT_BOUNCED


def test_a_forged_or_unauthenticated_post_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        parse("ses", sns(DELIVERY), basic("sns", "guessed"), secret="hook-pass")
    with pytest.raises(WebhookVerificationError):
        parse("ses", sns(DELIVERY), {"Content-Type": "text/plain"}, secret="hook-pass")


def test_the_sandbox_posts_sns_events_that_verify(tmp_path: Any) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(
                (dict(self.headers.items()), self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    try:
        with SandboxServer("ses") as server:
            server.send_webhooks(url, secret="hook-pass")
            result = server.provider().send(message())
            assert server.webhooks is not None and server.webhooks.flush()
    finally:
        receiver.shutdown()
        receiver.server_close()
    events = [e for headers, data in got for e in parse("ses", data, headers, secret="hook-pass")]
    assert {e.message_id for e in events} == set(result.message_ids)
    assert EventType.DELIVERED in {e.type for e in events}
    headers, data = got[0]
    assert "Message" in json.loads(data)  # an SNS envelope
    with pytest.raises(WebhookVerificationError):
        parse("ses", data, headers, secret="another-pass")


def test_the_sandbox_answers_the_mailbox_simulator_as_documented() -> None:
    """Amazon SES Developer Guide, Using the mailbox simulator: success@ delivered,
    bounce@ and suppressionlist@ bounced, complaint@ complained, labels allowed."""
    from mailspec.vocabulary import DeliveryState

    simulator = {
        "success+signup@simulator.amazonses.com": DeliveryState.DELIVERED,
        "bounce@simulator.amazonses.com": DeliveryState.BOUNCED,
        "suppressionlist@simulator.amazonses.com": DeliveryState.BOUNCED,
        "complaint@simulator.amazonses.com": DeliveryState.COMPLAINED,
        "ooto@simulator.amazonses.com": DeliveryState.DELIVERED,
    }
    with SandboxServer("ses") as server:
        for address in simulator:
            server.provider().send(message(to=[address]))
        assert {a.recipient: a.outcome.state for a in server.accepted} == simulator


def test_ses_throttled_fails_over_to_the_next_provider() -> None:
    """SES answering TooManyRequestsException (its sandbox, over HTTP) on every try: a
    Mailer retries it, then sends through the next provider of the pool."""
    with SandboxServer("ses") as ses_box, SandboxServer("cloudmails") as other:
        ses_box.faults.queue("rate_limit", times=10)
        mailer = mailspec.Mailer(
            [ses_box.provider(), other.provider()], max_attempts=2, backoff=0, backoff_max=0
        )
        result = mailer.send(message())
        assert result.provider == "cloudmails"
        assert [a.provider for a in result.attempts][:1] == ["ses"]
        assert ses_box.accepted == [] and len(other.accepted) == 1
