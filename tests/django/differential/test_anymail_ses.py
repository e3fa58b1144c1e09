"""Differential tests: django-anymail's Amazon SES backend (boto3's sesv2 client, a
test-only dependency) and mailspec's ``ses`` provider send the six canonical Django
messages to capture servers on 127.0.0.1; each request is read as Amazon SES would read
it, and both must read the same.

anymail sends most messages as raw MIME (``Content.Raw.Data``, base64 over HTTPS) and a
template through SendBulkEmail; mailspec sends simple content (``Content.Simple``:
subject, bodies, headers, attachments) and a template through SendEmail's template
content. Both are documented forms of the same message ("Amazon SES API v2 Reference",
SendEmail: "Simple", "Raw", "Templated"; SendBulkEmail), so the comparison is of what
SES reads: the sender, the recipients with their names (the headers recipients see, and
the envelope), reply-to, subject, bodies, custom headers, attachments with their types,
content ids and dispositions, tags (X-Tag headers) and metadata (an X-Metadata header),
the template and its data, and the request's AWS Signature Version 4, checked with
botocore's signer on the bytes received.

A second set of tests compares mailspec's requests with botocore's own serialization of
SendEmail (the sesv2 service model): the same JSON, both signatures valid.
"""

from __future__ import annotations

import base64
import datetime
import email
import email.policy
import json
import re
from collections.abc import Callable
from email.message import EmailMessage as MimeMessage
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from differential_support import (
    CASES,
    INLINE_CID,
    Captured,
    Reply,
    capture,
    json_reply,
    send_with_anymail,
    send_with_mailspec,
)

import mailspec
from mailspec import Attachment, Message

KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SEND = "/v2/email/outbound-emails"
BULK = "/v2/email/outbound-bulk-emails"
ANYMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"

# headers every sender writes on its own (or SES writes for simple content): not part
# of what the message's author asked for
_STANDARD = {
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "x-tag",
    "x-metadata",
}


def answer(request: Captured) -> Reply:
    """As SES answers: SendEmail a message id; SendBulkEmail one result per entry."""
    if request.path == BULK:
        entries = request.json().get("BulkEmailEntries", [])
        results = [{"Status": "SUCCESS", "MessageId": f"m-{i}"} for i in range(len(entries))]
        return json_reply({"BulkEmailEntryResults": results})
    return json_reply({"MessageId": "0100018c-example-000000"})


def anymail_settings(url: str) -> dict[str, Any]:
    return {
        "AMAZON_SES_CLIENT_PARAMS": {
            "endpoint_url": url,
            "region_name": REGION,
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
            "config": {"retries": {"max_attempts": 1}},
        }
    }


def provider_url(url: str) -> str:
    return f"ses://{KEY_ID}:{SECRET}@{REGION}?base_url={url}"


# --- reading a request as SES reads it ------------------------------------------------


def mailboxes(values: list[str]) -> list[tuple[str, str]]:
    """``(name, address)`` of mailboxes as SES parses them (RFC 2047 names decoded)."""
    header = email.policy.default.header_factory("To", ", ".join(values))
    return [(a.display_name, a.addr_spec) for a in header.addresses]


def header_mailboxes(message: MimeMessage, name: str) -> list[tuple[str, str]]:
    value = message[name]
    if value is None:
        return []
    return [(a.display_name, a.addr_spec) for a in value.addresses]


def _text(value: str) -> str:
    return value.replace("\r\n", "\n").rstrip("\n")


def read_raw(data: bytes) -> dict[str, Any]:
    """A raw MIME message, as SES reads it: the headers, the bodies, the attachments."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, MimeMessage)
    bodies: dict[str, str] = {}
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition is None and part.get_content_type() in ("text/plain", "text/html"):
            bodies[part.get_content_subtype()] = _text(part.get_content())
            continue
        content_id = part["Content-ID"]
        attachments.append(
            (
                part.get_filename(),
                part.get_content_type(),
                str(content_id).strip("<>") if content_id else None,
                disposition,
                part.get_payload(decode=True),
            )
        )
    custom: dict[str, list[str]] = {}
    for name, value in message.items():
        if name.lower() not in _STANDARD:
            custom.setdefault(name, []).append(str(value))
    metadata = message["X-Metadata"]
    return {
        "from": header_mailboxes(message, "From"),
        "to": header_mailboxes(message, "To"),
        "cc": header_mailboxes(message, "Cc"),
        "reply_to": header_mailboxes(message, "Reply-To"),
        "subject": str(message["Subject"]),
        "text": bodies.get("plain"),
        "html": bodies.get("html"),
        "headers": custom,
        "tags": [str(v) for v in message.get_all("X-Tag") or []],
        "metadata": json.loads(str(metadata)) if metadata is not None else None,
        "attachments": sorted(attachments, key=lambda a: str(a[0])),
    }


def read_simple(simple: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Simple content, as SES assembles it into a message."""
    headers: dict[str, list[str]] = {}
    for pair in simple.get("Headers", []):
        headers.setdefault(pair["Name"], []).append(pair["Value"])
    metadata = headers.pop("X-Metadata", None)
    tags = headers.pop("X-Tag", [])
    attachments = [
        (
            a["FileName"],
            a.get("ContentType", "application/octet-stream"),
            a.get("ContentId"),
            a.get("ContentDisposition", "ATTACHMENT").lower(),
            base64.b64decode(a["RawContent"]),
        )
        for a in simple.get("Attachments", [])
    ]
    destination = body.get("Destination", {})
    parts = simple["Body"]
    return {
        "from": mailboxes([body["FromEmailAddress"]]),
        "to": mailboxes(destination.get("ToAddresses", [])),
        "cc": mailboxes(destination.get("CcAddresses", [])),
        "reply_to": mailboxes(body.get("ReplyToAddresses", [])),
        "subject": simple["Subject"]["Data"],
        "text": _text(parts["Text"]["Data"]) if "Text" in parts else None,
        "html": _text(parts["Html"]["Data"]) if "Html" in parts else None,
        "headers": headers,
        "tags": tags,
        "metadata": json.loads(metadata[0]) if metadata else None,
        "attachments": sorted(attachments, key=lambda a: str(a[0])),
    }


def envelope(destination: dict[str, Any]) -> dict[str, list[str]]:
    """Who SES delivers to: every Destination address, names aside."""
    return {
        key: [address for _, address in mailboxes(destination.get(key, []))]
        for key in ("ToAddresses", "CcAddresses", "BccAddresses")
    }


def signature_check(request: Captured) -> tuple[str, str, str, bool]:
    """The key id, region and service the request is signed for, and whether its
    signature is the one botocore's SigV4 signer computes from what was received."""
    authorization = request.headers["authorization"]
    scope = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request", authorization)
    signed = re.search(r"SignedHeaders=([^,]+)", authorization)
    assert scope is not None and signed is not None
    names = set(signed.group(1).split(";")) - {"x-amz-date", "x-amz-security-token"}
    aws = AWSRequest(
        method=request.method,
        url=f"http://{request.headers['host']}{request.path}",
        data=request.body,
    )
    for name in names:
        aws.headers[name] = request.headers[name]
    clock = datetime.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    signer = botocore.auth.SigV4Auth(Credentials(KEY_ID, SECRET), scope.group(3), scope.group(2))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kw: clock)
        signer.add_auth(aws)
    return (
        scope.group(1),
        scope.group(2),
        scope.group(3),
        aws.headers["Authorization"] == (authorization),
    )


def read(request: Captured) -> dict[str, Any]:
    """One captured request as SES reads it."""
    body = request.json()
    out: dict[str, Any] = {"auth": signature_check(request)}
    if request.path == BULK:  # anymail's template sends (SendBulkEmail)
        (entry,) = body["BulkEmailEntries"]
        template = body["DefaultContent"]["Template"]
        data = json.loads(template.get("TemplateData", "{}"))
        replacement = entry.get("ReplacementEmailContent", {}).get("ReplacementTemplate", {})
        data.update(json.loads(replacement.get("ReplacementTemplateData", "{}")))
        out["template"] = (template["TemplateName"], data)
        out["from"] = mailboxes([body["FromEmailAddress"]])
        out["envelope"] = envelope(entry["Destination"])
        out["to"] = mailboxes(entry["Destination"].get("ToAddresses", []))
        headers = entry.get("ReplacementHeaders", [])
        out["tags"] = [h["Value"] for h in headers if h["Name"] == "X-Tag"]
        return out
    assert request.path == SEND, request.path
    content = body["Content"]
    out["envelope"] = envelope(body.get("Destination", {}))
    if "Raw" in content:
        out.update(read_raw(base64.b64decode(content["Raw"]["Data"])))
        if "FromEmailAddress" in body:  # it replaces the From header (SendEmail docs)
            out["from"] = mailboxes([body["FromEmailAddress"]])
    elif "Simple" in content:
        out.update(read_simple(content["Simple"], body))
    else:
        template = content["Template"]
        out["template"] = (template["TemplateName"], json.loads(template["TemplateData"]))
        out["from"] = mailboxes([body["FromEmailAddress"]])
        out["to"] = mailboxes(body["Destination"].get("ToAddresses", []))
        headers = template.get("Headers", [])
        out["tags"] = [h["Value"] for h in headers if h["Name"] == "X-Tag"]
    return out


def both(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with capture(answer) as theirs, capture(answer) as ours:
        sent_theirs = send_with_anymail(
            ANYMAIL_BACKEND, anymail_settings(theirs.url), CASES[case](), theirs
        )
        sent_ours = send_with_mailspec(provider_url(ours.url), CASES[case](), ours)
    assert sent_theirs.error is None, sent_theirs.error
    assert sent_ours.error is None, sent_ours.error
    return read(sent_theirs.request), read(sent_ours.request)


# --- the six canonical messages ---------------------------------------------------------


@pytest.mark.parametrize("case", ["plain", "names", "headers", "attachments", "tags_metadata"])
def test_ses_reads_the_same_message(case: str) -> None:
    theirs, ours = both(case)
    assert theirs == ours
    # both are signed for the same key, region and service, and the signature holds
    assert ours["auth"] == (KEY_ID, REGION, "ses", True)


def test_the_canonical_messages_carry_what_they_should() -> None:
    """The comparison above is of something: the readings hold the messages' fields."""
    names = both("names")[1]
    assert names["to"] == [("Lee, Ann", "ann@example.org"), ("", "bob@example.org")]
    assert names["cc"] == [("Carl Ng", "carl@example.org")]
    assert names["reply_to"] == [("Help Desk", "help@shop.example")]
    assert names["envelope"]["BccAddresses"] == ["dee@example.org"]
    assert names["from"] == [("Shop", "orders@shop.example")]
    files = both("attachments")[1]["attachments"]
    assert [(f[0], f[1], f[2], f[3]) for f in files] == [
        ("invoice.pdf", "application/pdf", None, "attachment"),
        ("logo.png", "image/png", INLINE_CID, "inline"),
    ]
    tagged = both("tags_metadata")[1]
    assert (tagged["tags"], tagged["metadata"]) == (["welcome"], {"user_id": "42", "plan": "pro"})
    assert both("headers")[1]["headers"] == {
        "X-Order": ["1042"],
        "List-Unsubscribe": ["<mailto:unsubscribe@shop.example>"],
    }


def test_a_template_with_variables_reads_the_same() -> None:
    """anymail sends every template message through SendBulkEmail (one entry per to
    address), mailspec through SendEmail's template content: both documented ("Amazon
    SES API v2 Reference", SendEmail, Template; SendBulkEmail, DefaultContent and
    BulkEmailEntries). SES reads the same template, data, sender and recipients."""
    theirs, ours = both("template")
    assert theirs == ours
    assert ours["template"] == ("welcome-1", {"name": "Ann", "order": "1042"})
    assert ours["auth"] == (KEY_ID, REGION, "ses", True)


# --- mailspec against botocore's own SendEmail -----------------------------------------


def botocore_send(url: str, params: dict[str, Any]) -> None:
    client = boto3.session.Session().client(
        "sesv2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    try:
        client.send_email(**params)
    finally:
        client.close()


MESSAGES: dict[str, Callable[[], tuple[Message, dict[str, Any]]]] = {}


def _case(make: Callable[[], tuple[Message, dict[str, Any]]]) -> None:
    MESSAGES[make.__name__] = make


@_case
def simple() -> tuple[Message, dict[str, Any]]:
    message = Message(
        from_email="Shop <orders@shop.example>",
        to=["Ann Lee <ann@example.org>"],
        cc=["carl@example.org"],
        bcc=["dee@example.org"],
        reply_to=["help@shop.example"],
        subject="Your order é",
        text="It ships today.",
        html="<p>It ships today.</p>",
        headers={"X-Order": "1042"},
        tags=["welcome"],
        metadata={"user_id": "42"},
        attachments=[
            Attachment("invoice.pdf", b"%PDF-1.4", "application/pdf"),
            Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo"),
        ],
    )
    params = {
        "FromEmailAddress": "Shop <orders@shop.example>",
        "Destination": {
            "ToAddresses": ["Ann Lee <ann@example.org>"],
            "CcAddresses": ["carl@example.org"],
            "BccAddresses": ["dee@example.org"],
        },
        "ReplyToAddresses": ["help@shop.example"],
        "Content": {
            "Simple": {
                "Subject": {"Data": "Your order é", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "It ships today.", "Charset": "UTF-8"},
                    "Html": {"Data": "<p>It ships today.</p>", "Charset": "UTF-8"},
                },
                "Headers": [
                    {"Name": "X-Order", "Value": "1042"},
                    {"Name": "X-Tag", "Value": "welcome"},
                    {"Name": "X-Metadata", "Value": '{"user_id":"42"}'},
                ],
                "Attachments": [
                    {
                        "FileName": "invoice.pdf",
                        "RawContent": b"%PDF-1.4",  # botocore base64-encodes a blob
                        "ContentType": "application/pdf",
                    },
                    {
                        "FileName": "logo.png",
                        "RawContent": b"\x89PNG",
                        "ContentType": "image/png",
                        "ContentId": "logo",
                        "ContentDisposition": "INLINE",
                    },
                ],
            }
        },
    }
    return message, params


@_case
def template() -> tuple[Message, dict[str, Any]]:
    message = Message(
        from_email="orders@shop.example",
        to=["ann@example.org"],
        template="welcome-1",
        variables={"name": "Ann"},
    )
    params = {
        "FromEmailAddress": "orders@shop.example",
        "Destination": {"ToAddresses": ["ann@example.org"]},
        "Content": {"Template": {"TemplateName": "welcome-1", "TemplateData": '{"name":"Ann"}'}},
    }
    return message, params


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_mailspec_sends_what_botocore_sends(name: str) -> None:
    message, params = MESSAGES[name]()
    with capture(answer) as server:
        botocore_send(server.url, params)
        provider = mailspec.provider(
            "ses",
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            region=REGION,
            base_url=server.url,
        )
        provider.send(message)
    theirs, ours = server.requests
    assert (ours.method, ours.path) == (theirs.method, theirs.path) == ("POST", SEND)
    assert ours.json() == theirs.json()
    assert ours.content_type == "application/json"
    assert signature_check(theirs) == signature_check(ours) == (KEY_ID, REGION, "ses", True)


# --- refusals -----------------------------------------------------------------------------


def test_per_recipient_data_without_a_template_is_refused_by_both() -> None:
    """anymail: "merge_data without template_id" is unsupported for SES; SendEmail has
    no place for per-recipient values, so mailspec refuses it too, before any request."""
    from anymail.message import AnymailMessage

    def make() -> AnymailMessage:
        message = AnymailMessage(
            subject="Hi", body="x", from_email="orders@shop.example", to=["ann@example.org"]
        )
        message.merge_data = {"ann@example.org": {"name": "Ann"}}
        return message

    with capture(answer) as theirs, capture(answer) as ours:
        sent_theirs = send_with_anymail(
            ANYMAIL_BACKEND, anymail_settings(theirs.url), make(), theirs
        )
        sent_ours = send_with_mailspec(provider_url(ours.url), make(), ours)
    assert sent_theirs.refused and sent_ours.refused


def test_a_template_with_an_attachment_is_sent_where_anymail_refuses() -> None:
    """An explained difference: anymail refuses "attachments with template" for SES,
    but SendEmail's template content carries attachments ("Amazon SES API v2
    Reference", SendEmail / Template: Attachments, "The List of attachments to include
    in your email"; botocore sesv2 service model, Template.Attachments), so mailspec
    sends them there."""
    from anymail.message import AnymailMessage
    from differential_support import PDF

    def make() -> AnymailMessage:
        message = AnymailMessage(from_email="orders@shop.example", to=["ann@example.org"])
        message.template_id = "welcome-1"
        message.attach("invoice.pdf", PDF, "application/pdf")
        return message

    with capture(answer) as theirs, capture(answer) as ours:
        sent_theirs = send_with_anymail(
            ANYMAIL_BACKEND, anymail_settings(theirs.url), make(), theirs
        )
        sent_ours = send_with_mailspec(provider_url(ours.url), make(), ours)
    assert sent_theirs.refused
    assert sent_ours.error is None, sent_ours.error
    (attachment,) = sent_ours.request.json()["Content"]["Template"]["Attachments"]
    assert (attachment["FileName"], base64.b64decode(attachment["RawContent"])) == (
        "invoice.pdf",
        PDF,
    )
